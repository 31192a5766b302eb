/**
 * Checkpoints of a standalone agent (`dbo agent --checkpoint-every N`,
 * `dbo agent --resume`). Every agent of a multi-host run started with the
 * same N writes, after each iteration that is a multiple of N, its own
 * serialized state (algorithm state and RNG streams, oracle counts; the form
 * of src/runtime/types.ts AgentCheckpoint) and its communication counters to
 * `checkpoint.json` in its shard folder, atomically (a temporary file,
 * fsync, rename); the previous one is kept as `checkpoint.prev.json`.
 *
 * Agents in lockstep are at most m − 1 iterations apart (one per hop), so
 * when they are all killed, with N ≥ m, every agent has a checkpoint at the
 * smallest of their newest checkpoint iterations (its newest or its previous). Restarted together with `--resume`, they first agree on the
 * newest iteration every one of them has: m − 1 rounds of min-flooding of
 * their newest checkpoint iteration over the graph (its diameter is below m),
 * before any iteration runs. Each then restores its checkpoint of that
 * iteration (the newest or the previous one), so the run continues exactly
 * where the uninterrupted run would have been.
 */
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { DataError, DboError } from '../../errors.ts';
import { writeFileAtomic } from '../../experiments/checkpoint.ts';
import type { PeerLink } from '../../network/peer-link.ts';
import type { AgentCheckpoint, CommCounters } from '../types.ts';

export const AGENT_CHECKPOINT = 'checkpoint.json';
export const AGENT_CHECKPOINT_PREV = 'checkpoint.prev.json';
const FORMAT = 'dbo-agent-checkpoint';

export interface AgentCheckpointFile {
  readonly format: typeof FORMAT;
  readonly version: 1;
  readonly agent: number;
  /** Iterations the agent had completed. */
  readonly iteration: number;
  readonly written: string;
  /** The agent's communication counters then. */
  readonly comm: CommCounters;
  readonly nonFinite: { iteration: number; message: string } | null;
  readonly state: AgentCheckpoint;
}

/** Writes `file` as the shard's newest checkpoint; the newest before it becomes checkpoint.prev.json. */
export function writeAgentCheckpoint(dir: string, file: AgentCheckpointFile): void {
  const newest = join(dir, AGENT_CHECKPOINT);
  if (existsSync(newest)) renameSync(newest, join(dir, AGENT_CHECKPOINT_PREV));
  writeFileAtomic(newest, `${JSON.stringify(file)}\n`);
}

function readOne(path: string, agent: number): AgentCheckpointFile | null {
  if (!existsSync(path)) return null;
  let f: Partial<AgentCheckpointFile>;
  try {
    f = JSON.parse(readFileSync(path, 'utf8')) as Partial<AgentCheckpointFile>;
  } catch {
    throw new DataError(path, 'is not valid JSON (a damaged checkpoint)');
  }
  if (f?.format !== FORMAT || f.version !== 1 || f.agent !== agent || !Number.isInteger(f.iteration) || typeof f.comm !== 'object' || f.state?.id !== agent)
    throw new DataError(path, `is not a checkpoint of agent ${agent} (expected "format": "${FORMAT}", its iteration, counters and state)`);
  return f as AgentCheckpointFile;
}

/** The shard's checkpoints, oldest first (none, one or two). */
export function readAgentCheckpoints(dir: string, agent: number): AgentCheckpointFile[] {
  return [readOne(join(dir, AGENT_CHECKPOINT_PREV), agent), readOne(join(dir, AGENT_CHECKPOINT), agent)].filter((f): f is AgentCheckpointFile => f !== null).sort((a, b) => a.iteration - b.iteration);
}

/**
 * The smallest of every agent's `newest` (min-flooding over m − 1 rounds on
 * the link; every agent must call it, right after connecting). Its rounds are
 * not part of the run: the caller resets its counters afterwards.
 */
export async function agreeOnIteration(link: PeerLink, newest: number, m: number): Promise<number> {
  let v = newest;
  for (let r = 0; r < m - 1; r++) {
    const received = await link.exchange(Float64Array.of(v));
    for (const x of received) if (x.length === 1 && x[0]! < v) v = x[0]!;
  }
  if (!Number.isInteger(v) || v < 0) throw new DboError(`agreeing on the iteration to resume from gave ${v}`);
  return v;
}
