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
import { prepareRun, type PreparedRun } from '../../experiments/runner.ts';
import { PeerLink } from '../../network/peer-link.ts';
import { checkBytesPerFloat } from '../../network/wire.ts';
import type { OracleCounts } from '../../problems/counting.ts';
import { AgentGroup } from '../agent.ts';
import type { AdvanceResult, AgentCheckpoint, CommCounters } from '../types.ts';
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
    const link = new PeerLink({
      id: o.id,
      m,
      neighbours,
      selfWeight: mixing.self[o.id]!,
      neighbourWeights: Array.from(mixing.values.subarray(mixing.rowStart[o.id]!, mixing.rowStart[o.id + 1]!)),
      bytesPerFloat,
      maxFloats: DEFAULT_MAX_FLOATS,
      onReject: (from, reason) => o.log(`agent ${o.id}: rejected a frame from agent ${from}: ${reason}`),
    });
    const node = await AgentNode.start({ id: o.id, key: o.key, listen: o.listen, neighbours, maxFloats: DEFAULT_MAX_FLOATS, bytesPerFloat, log: o.log, ...(o.psk ? { psk: o.psk } : {}) });
    const agent = new NetworkAgent(o.id, node, run, link);
    node.onLost = (j, reason) => {
      const e = new Error(`agent ${o.id}: lost the connection to agent ${j} (${reason})`);
      agent.failure ??= e;
      link.fail(e);
    };
    return agent;
  }

  /** Connects to every neighbour, then builds the agent (its oracle, context, state). */
  async connect(peers: ReadonlyArray<PeerEntry>, timeoutMs: number): Promise<void> {
    await this.node.connect(this.link, peers, timeoutMs);
    this.group = new AgentGroup(this.run, [this.id], () => this.link);
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
      const start = performance.now();
      await this.group.step();
      computeMs += performance.now() - start;
      this.iteration++;
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

  counters(): { comm: CommCounters; oracle: OracleCounts } {
    return { comm: { ...this.link.counters, wireBytes: this.node.wireBytesSent }, oracle: this.group.oracleCounts() };
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
