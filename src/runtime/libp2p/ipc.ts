/** Messages between the local libp2p runtime and its agent processes (IPC, advanced serialization). */
import type { RunConfig } from '../../experiments/config.ts';
import type { OracleCounts } from '../../problems/counting.ts';
import type { AgentCheckpoint, CommCounters } from '../types.ts';
import type { RunEvent } from '../view-events.ts';
import type { AgentView } from './agent.ts';
import type { PeerEntry } from './keys.ts';

export type ParentMessage =
  | { type: 'init'; config: RunConfig; id: number; psk?: Uint8Array }
  | { type: 'peers'; peers: PeerEntry[]; timeoutMs: number }
  | { type: 'advance'; to: number; progress: boolean }
  | { type: 'snapshot' }
  | { type: 'counters' }
  | { type: 'checkpoint' }
  | { type: 'restore'; iteration: number; agent: AgentCheckpoint }
  | { type: 'stop' };

export type ChildMessage =
  | { type: 'ready'; peerId: string; address: string }
  | { type: 'connected' }
  | { type: 'advanced'; iteration: number; nonFinite: string | null; computeMs: number }
  | { type: 'progress'; iteration: number }
  | { type: 'snapshot'; view: AgentView }
  | { type: 'counters'; comm: CommCounters; oracle: OracleCounts }
  | { type: 'checkpoint'; agent: AgentCheckpoint }
  | { type: 'restored' }
  | { type: 'stopped' }
  | { type: 'log'; message: string }
  | { type: 'event'; event: RunEvent }
  | { type: 'error'; message: string };
