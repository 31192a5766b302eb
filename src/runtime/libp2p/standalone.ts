/**
 * One agent of a multi-host run as a standalone process (`dbo agent`): it
 * listens at its own address from the peers file, connects only to its graph
 * neighbours (authenticated by the peer ids the peers file lists), steps in
 * lockstep with them to the end of the run, and writes its shard
 * (src/runtime/shard.ts): its iterates and counters at the iterations where
 * `dbo run` evaluates (every iteration when the config traces), and its events:
 * its own lifecycle, and the view changes it sees — its mixing rows, the
 * neighbours it declares gone, its resets, the faults injected into it — as
 * the rows of a run's events.jsonl (docs/faults.md), which `dbo gather` merges.
 *
 * Ending: after its last iteration an agent exchanges one empty goodbye frame
 * with each neighbour (not counted in the recorded counters). Receiving a
 * neighbour's goodbye means that neighbour has finished every real round, so
 * closing the connections afterwards cannot cut a neighbour's last round short.
 */
import type { PrivateKey } from '@libp2p/interface';
import { DboError } from '../../errors.ts';
import type { RunConfig } from '../../experiments/config.ts';
import { recordedIterations, ShardWriter } from '../shard.ts';
import type { RunEvent } from '../view-events.ts';
import { NetworkAgent } from './agent.ts';
import { agreeOnIteration, readAgentCheckpoints, writeAgentCheckpoint } from './agent-checkpoint.ts';
import { listenAddressFor, type PeerEntry } from './keys.ts';

export interface StandaloneAgentOptions {
  readonly config: RunConfig;
  readonly id: number;
  readonly key: PrivateKey;
  readonly peerId: string;
  /** Every agent's peer id and address (index = agent id). */
  readonly peers: ReadonlyArray<PeerEntry>;
  /** Folder that receives the shard agent-<id>/. */
  readonly outDir: string;
  /** Multiaddr to listen on (default: this agent's address in the peers file; every interface for a DNS name). */
  readonly listen?: string;
  readonly psk?: Uint8Array;
  /** How long to wait for every neighbour to connect (ms). */
  readonly connectTimeoutMs: number;
  /** How long to wait for the neighbours' goodbye frames at the end (ms). */
  readonly goodbyeTimeoutMs?: number;
  /** Diagnostics and progress lines. */
  readonly log: (message: string) => void;
  /** Stops the agent (Ctrl-C, SIGTERM): its shard is closed as failed with the reason. */
  readonly signal?: AbortSignal;
  /** Write a checkpoint into the shard after every iteration that is a multiple of this (agent-checkpoint.ts). */
  readonly checkpointEvery?: number;
  /** Continue the agent's shard from its checkpoints (every agent of the run restarted with --resume together). */
  readonly resume?: boolean;
}

export interface StandaloneResult {
  readonly shard: string;
  readonly iterations: number;
  readonly nonFinite: { iteration: number; message: string } | null;
}

export async function runStandaloneAgent(o: StandaloneAgentOptions): Promise<StandaloneResult> {
  const m = o.config.topology.agents;
  if (!Number.isInteger(o.id) || o.id < 0 || o.id >= m) throw new DboError(`--id: expected an agent id in 0…${m - 1}, got ${o.id}`);
  const own = o.peers[o.id]!;
  if (own.peerId !== o.peerId) throw new DboError(`--key: its peer id ${o.peerId} is not agent ${o.id}'s in the peers file (${own.peerId})`);
  const listen = o.listen ?? listenAddressFor(own.address);
  if (o.checkpointEvery !== undefined && !(Number.isInteger(o.checkpointEvery) && o.checkpointEvery >= 1)) throw new DboError(`--checkpoint-every: expected a positive integer, got ${o.checkpointEvery}`);
  const shard = o.resume ? ShardWriter.reopen(o.outDir, o.id, m, o.peerId, o.config) : ShardWriter.create(o.outDir, o.id, m, o.peerId, o.config);
  const checkpoints = o.resume ? readAgentCheckpoints(shard.partial, o.id) : [];
  shard.event(o.resume ? 'resuming' : 'started', `listening on ${listen}${o.resume ? `; checkpoints at iteration${checkpoints.length === 1 ? '' : 's'} ${checkpoints.map((c) => c.iteration).join(', ') || '(none: from the start)'}` : ''}`);
  let agent: NetworkAgent | null = null;
  const log = (message: string): void => {
    shard.event('log', message, { iteration: agent?.iteration ?? 0 });
    o.log(message);
  };
  const abort = (): void => {
    const reason = o.signal?.reason instanceof Error ? o.signal.reason : new DboError(`agent ${o.id}: stopped (${String(o.signal?.reason ?? 'aborted')})`);
    agent?.link.fail(reason);
    void agent?.stop().catch(() => {});
  };
  o.signal?.addEventListener('abort', abort, { once: true });
  try {
    // View changes seen during the goodbye exchange (a neighbour that got every goodbye closing first) are not part of the run.
    let ended = false;
    const onEvent = (e: RunEvent): void => {
      if (ended) return;
      // A resumed agent's configured row at round 0 is in its shard already.
      if (!(o.resume && e.event === 'weights' && e.iteration === 0)) shard.viewEvent(e);
    };
    agent = await NetworkAgent.start({ config: o.config, id: o.id, key: o.key, listen, log, onEvent, ...(o.psk ? { psk: o.psk } : {}) });
    if (o.signal?.aborted) abort();
    const neighbours = agent.link.neighbours;
    o.log(`agent ${o.id} (${o.peerId}) listening on ${agent.node.addresses.join(', ')}; waiting for neighbours ${neighbours.join(', ')}`);
    await agent.connect([...o.peers], o.connectTimeoutMs);
    shard.event('connected', `neighbours ${neighbours.join(', ')}`);
    const record = (computeMs: number): void => {
      const c = agent!.counters();
      shard.record({ iteration: agent!.iteration, computeMs, view: agent!.view(), comm: c.comm, oracle: c.oracle });
    };
    if (o.resume) {
      // Every agent restores the newest iteration all of them have a checkpoint of (agent-checkpoint.ts).
      const from = await agreeOnIteration(agent.link, checkpoints.at(-1)?.iteration ?? 0, m);
      const cp = checkpoints.find((c) => c.iteration === from);
      if (from > 0 && !cp)
        throw new DboError(`agent ${o.id}: the agents' newest common checkpoint is at iteration ${from}, but this agent has ${checkpoints.map((c) => c.iteration).join(', ') || 'none'} (were they all started with the same --checkpoint-every, of at least ${m}?)`);
      if (cp) {
        agent.restore(cp.iteration, cp.state);
        agent.continueCounters(cp.comm);
        agent.nonFinite = cp.nonFinite;
      } else agent.continueCounters({ rounds: 0, messages: 0, floats: 0, bytes: 0, wireBytes: 0 });
      shard.truncateAfter(from > 0 ? from : -1);
      shard.event('resumed', `from iteration ${from}`, { iteration: from });
      o.log(`agent ${o.id}: resumed from iteration ${from}`);
    }
    if (agent.iteration === 0) record(0);
    const every = o.checkpointEvery;
    const recorded = new Set(recordedIterations(o.config));
    const stops = [...recorded].filter((t) => t > agent!.iteration);
    if (every !== undefined) for (let t = every; t < o.config.iterations; t += every) if (t > agent.iteration && !recorded.has(t)) stops.push(t);
    stops.sort((a, b) => a - b);
    let computeMs = 0;
    let refused = false;
    for (const t of stops) {
      const r = await agent.advance(t);
      computeMs += r.computeMs;
      if (recorded.has(t)) {
        record(computeMs);
        computeMs = 0;
      }
      if (every !== undefined && t % every === 0 && t < o.config.iterations) {
        // A checkpoint holds this agent's view of the graph as configured: once a neighbour has left there is none to restore.
        if (agent.link.departed.length > 0) {
          if (!refused) log(`agent ${o.id}: no more checkpoints: neighbour${agent.link.departed.length > 1 ? 's' : ''} ${agent.link.departed.join(', ')} left the run`);
          refused = true;
        } else writeAgentCheckpoint(shard.partial, { format: 'dbo-agent-checkpoint', version: 1, agent: o.id, iteration: t, written: new Date().toISOString(), comm: agent.counters().comm, nonFinite: agent.nonFinite, state: agent.checkpoint() });
      }
      if (t % o.config.evalEvery === 0 || t === o.config.iterations) o.log(`agent ${o.id}: iteration ${t}/${o.config.iterations}`);
    }
    ended = true;
    await goodbye(agent, o.goodbyeTimeoutMs ?? 10_000, (message) => shard.event('goodbye', message, { iteration: agent!.iteration }));
    const nf = agent.nonFinite;
    return { shard: shard.finish('completed', agent.iteration, nf), iterations: agent.iteration, nonFinite: nf };
  } catch (caught) {
    // Once stopped, whatever failed next (a dial, an exchange) failed because of the stop: report the stop.
    const e = o.signal?.aborted && o.signal.reason instanceof Error ? o.signal.reason : caught;
    const message = e instanceof Error ? e.message : String(e);
    shard.finish('failed', agent?.iteration ?? 0, agent?.nonFinite ?? null, message);
    throw e instanceof DboError ? e : new DboError(message);
  } finally {
    o.signal?.removeEventListener('abort', abort);
    await agent?.stop().catch(() => {});
  }
}

/** One empty exchange with every neighbour, so nobody closes before its neighbours finished (see the module comment). */
async function goodbye(agent: NetworkAgent, timeoutMs: number, log: (m: string) => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
  try {
    const r = await Promise.race([agent.link.exchange(new Float64Array(0)).then(() => 'done' as const), timeout]);
    log(r === 'timeout' ? `no goodbye from every neighbour within ${timeoutMs} ms; closing anyway` : 'every neighbour finished');
  } catch (e) {
    // A neighbour that got every goodbye may close first: nothing of the run is lost then.
    log(`ended early: ${(e as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
}
