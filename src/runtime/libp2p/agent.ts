/**
 * One agent of a run in its own process, talking to its neighbours over
 * libp2p: it builds only its own oracle, state and link from the config and
 * its id, connects to its neighbours, and advances iteration by iteration in
 * lockstep with them. Both the local multi-process runtime (driven over IPC)
 * and `dbo agent` (driven by its own loop, writing a shard) use it.
 */
import { performance } from 'node:perf_hooks';
import type { PrivateKey } from '@libp2p/interface';
import type { StateView } from '../../algorithms/types.ts';
import type { RunConfig } from '../../experiments/config.ts';
import { DEFAULT_ROUND_TIMEOUT_MS, isCrash, isDelay, isPartition } from '../../experiments/faults.ts';
import { prepareRun, type PreparedRun } from '../../experiments/runner.ts';
import { PeerLink } from '../../network/peer-link.ts';
import { checkBytesPerFloat } from '../../network/wire.ts';
import type { OracleCounts } from '../../problems/counting.ts';
import { AgentGroup } from '../agent.ts';
import type { AdvanceResult, AgentCheckpoint, CommCounters } from '../types.ts';
import type { RunEvent } from '../view-events.ts';
import type { PeerEntry } from './keys.ts';
import { AgentNode } from './node.ts';

/** Largest payload a frame may carry unless configured otherwise (floats). */
export const DEFAULT_MAX_FLOATS = 1 << 26;

export interface NetworkAgentOptions {
  readonly config: RunConfig;
  readonly id: number;
  readonly key: PrivateKey;
  /** Multiaddr to listen on. */
  readonly listen: string;
  readonly psk?: Uint8Array;
  readonly log: (message: string) => void;
  /** Where this agent's view changes, weight rows, resets and injected faults go (events.jsonl rows). */
  readonly onEvent?: (event: RunEvent) => void;
}

/** Plain copies of an agent's iterates (they cross process boundaries). */
export interface AgentView {
  readonly x: Float64Array;
  readonly y: Float64Array;
  readonly z?: Float64Array;
  readonly xTilde?: Float64Array;
}

export function copyView(v: StateView): AgentView {
  return {
    x: Float64Array.from(v.x),
    y: Float64Array.from(v.y),
    ...(v.z ? { z: Float64Array.from(v.z) } : {}),
    ...(v.xTilde ? { xTilde: Float64Array.from(v.xTilde) } : {}),
  };
}

export class NetworkAgent {
  readonly run: PreparedRun;
  readonly link: PeerLink;
  group!: AgentGroup;
  iteration = 0;
  /** Set when a connection is lost or a transport error stops the agent. */
  failure: Error | null = null;

  private constructor(
    readonly id: number,
    readonly node: AgentNode,
    run: PreparedRun,
    link: PeerLink,
    private readonly event: (e: RunEvent) => void = () => {},
  ) {
    this.run = run;
    this.link = link;
  }

  /** Builds this agent's problem share and link and starts listening. */
  static async start(o: NetworkAgentOptions): Promise<NetworkAgent> {
    const run = prepareRun(o.config);
    const m = run.problem.m;
    if (!Number.isInteger(o.id) || o.id < 0 || o.id >= m) throw new RangeError(`agent id ${o.id} is not in 0…${m - 1}`);
    const neighbours = run.topology.graph.neighbours[o.id]!;
    const mixing = run.topology.mixing;
    const bytesPerFloat = checkBytesPerFloat(o.config.output.bytesPerFloat);
    let self: NetworkAgent | null = null;
    const event = (e: RunEvent) => o.onEvent?.(e);
    // The iteration in progress (rounds complete inside an iteration's step).
    const current = () => (self?.iteration ?? 0) + 1;
    const link = new PeerLink({
      id: o.id,
      m,
      neighbours,
      selfWeight: mixing.self[o.id]!,
      neighbourWeights: Array.from(mixing.values.subarray(mixing.rowStart[o.id]!, mixing.rowStart[o.id + 1]!)),
      bytesPerFloat,
      maxFloats: DEFAULT_MAX_FLOATS,
      onReject: (from, reason) => o.log(`agent ${o.id}: rejected a frame from agent ${from}: ${reason}`),
      degrees: run.topology.graph.neighbours.map((n) => n.length),
      roundTimeoutMs: o.config.network?.roundTimeoutMs ?? DEFAULT_ROUND_TIMEOUT_MS,
      onGone: (j, round, reason) => {
        self?.node.drop(j);
        // After the last iteration neighbours close their connections as they finish: not a departure worth reporting.
        if ((self?.iteration ?? 0) >= o.config.iterations) return;
        o.log(`agent ${o.id}: agent ${j} left this agent's view from round ${round} (${reason})`);
        event({ event: 'neighbour-gone', iteration: current(), agent: o.id, neighbour: j, round, reason });
      },
      onWeights: (round, ids, weights, selfWeight) => event({ event: 'weights', iteration: current(), agent: o.id, round, neighbours: [...ids], weights: [...weights], self: selfWeight }),
    });
    const node = await AgentNode.start({ id: o.id, key: o.key, listen: o.listen, neighbours, maxFloats: DEFAULT_MAX_FLOATS, bytesPerFloat, log: o.log, ...(o.psk ? { psk: o.psk } : {}) });
    const agent = new NetworkAgent(o.id, node, run, link, event);
    self = agent;
    // Once connected, a lost connection is a departure, not a failure: the link reweights and the run goes on.
    // Before, while neighbours are still connecting, it fails this agent's run as it always did.
    node.onLost = (j, reason) => {
      if (agent.group) link.gone(j, `connection closed: ${reason}`);
      else link.fail(new Error(`agent ${o.id}: lost the connection to agent ${j} while connecting (${reason})`));
    };
    return agent;
  }

  /** Connects to every neighbour, then builds the agent (its oracle, context, state). */
  async connect(peers: ReadonlyArray<PeerEntry>, timeoutMs: number): Promise<void> {
    await this.node.connect(this.link, peers, timeoutMs);
    this.group = new AgentGroup(this.run, [this.id], () => this.link);
    const l = this.link;
    this.event({ event: 'weights', iteration: 0, agent: this.id, round: 0, neighbours: [...l.neighbours], weights: [...l.neighbourWeights], self: l.selfWeight });
  }

  /** Injected faults (config `faults`, docs/faults.md) before iteration t. */
  private async inject(t: number): Promise<void> {
    for (const f of this.run.config.faults ?? []) {
      if (isCrash(f) && f.agent === this.id && f.crash.atIteration === t - 1) process.kill(process.pid, 'SIGKILL');
      else if (isDelay(f) && f.agent === this.id && t >= f.delay.fromIteration && t <= f.delay.toIteration) {
        if (t === f.delay.fromIteration) this.event({ event: 'fault', kind: 'delay', iteration: t, agent: this.id, ms: f.delay.ms, toIteration: f.delay.toIteration });
        await new Promise((r) => setTimeout(r, f.delay.ms));
      } else if (isPartition(f) && f.link.includes(this.id)) {
        const other = f.link[0] === this.id ? f.link[1] : f.link[0];
        const on = t >= f.partition.fromIteration && t <= f.partition.toIteration;
        if (t === f.partition.fromIteration) this.event({ event: 'fault', kind: 'partition', iteration: t, agent: this.id, link: [...f.link], toIteration: f.partition.toIteration });
        this.link.block(other, on);
      }
    }
  }

  /** First iteration after which this agent's iterate was non-finite, and what was. */
  nonFinite: { iteration: number; message: string } | null = null;

  /**
   * Runs iterations up to `to`. An agent whose iterate turns non-finite keeps
   * stepping with its neighbours (they would wait for it otherwise) and
   * reports the first iteration it happened; the runtime stops the run there.
   */
  async advance(to: number, onIteration?: (t: number) => void): Promise<AdvanceResult> {
    let computeMs = 0;
    while (this.iteration < to) {
      await this.inject(this.iteration + 1);
      const start = performance.now();
      await this.group.step();
      computeMs += performance.now() - start;
      this.iteration++;
      // Every survivor resets at the same iteration boundary: the first one after the scheduled round (peer-link.ts).
      const due = this.link.takeResets();
      if (due.length > 0) {
        const hook = this.group.viewChange();
        this.event({ event: 'reset', iteration: this.iteration, agent: this.id, round: due.at(-1)!, hook });
      }
      if (!this.nonFinite) {
        const bad = this.group.nonFinite();
        if (bad) this.nonFinite = { iteration: this.iteration, message: bad };
      }
      onIteration?.(this.iteration);
    }
    const nf = this.nonFinite;
    return { iteration: nf && nf.iteration <= to ? nf.iteration : this.iteration, nonFinite: nf ? nf.message : null, computeMs };
  }

  view(): AgentView {
    return copyView(this.group.views()[0]!);
  }

  /** Added to the link's counters (set by `continueCounters`). */
  private commAdjust: CommCounters = { rounds: 0, messages: 0, floats: 0, bytes: 0, wireBytes: 0 };

  counters(): { comm: CommCounters; oracle: OracleCounts } {
    const raw: CommCounters = { ...this.link.counters, wireBytes: this.node.wireBytesSent };
    const a = this.commAdjust;
    const comm = { rounds: raw.rounds + a.rounds, messages: raw.messages + a.messages, floats: raw.floats + a.floats, bytes: raw.bytes + a.bytes, wireBytes: raw.wireBytes + a.wireBytes };
    return { comm, oracle: this.group.oracleCounts() };
  }

  /** From now on the counters continue from `comm` (a resumed agent: traffic before the checkpoint, none of the restart's own). */
  continueCounters(comm: CommCounters): void {
    const raw: CommCounters = { ...this.link.counters, wireBytes: this.node.wireBytesSent };
    this.commAdjust = { rounds: comm.rounds - raw.rounds, messages: comm.messages - raw.messages, floats: comm.floats - raw.floats, bytes: comm.bytes - raw.bytes, wireBytes: comm.wireBytes - raw.wireBytes };
  }

  /** This agent's checkpoint (its serialized state and oracle counts). */
  checkpoint(): AgentCheckpoint {
    return this.group.checkpoint()[0]!;
  }

  /** Puts the freshly connected agent where its checkpoint was taken, at `iteration`. */
  restore(iteration: number, checkpoint: AgentCheckpoint): void {
    if (this.iteration !== 0) throw new Error(`agent ${this.id}: restore is only for an agent that has not advanced`);
    this.group.restore([checkpoint]);
    this.iteration = iteration;
  }

  async stop(): Promise<void> {
    await this.node.stop();
  }
}
