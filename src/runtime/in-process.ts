/**
 * The reference runtime: every agent in this thread, in lockstep on the
 * deterministic simulator. Other runtimes must reproduce its rows bit for bit.
 */
import { performance } from 'node:perf_hooks';
import type { StateView } from '../algorithms/types.ts';
import { refuseFaults } from '../experiments/faults.ts';
import type { PreparedRun } from '../experiments/runner.ts';
import { Simulator } from '../network/simulator.ts';
import { AgentGroup, nonFiniteView } from './agent.ts';
import { addCommCounters, checkCheckpointAgents, emptyCommCounters, type AdvanceResult, type CommCounters, type Runtime, type RuntimeCheckpoint, type RuntimeCounters } from './types.ts';

/** What one sweep of the agents ended with. */
interface Sweep {
  /** The iteration every agent ended (when nothing went wrong). */
  iteration: number;
  /** The last iteration some agent started. */
  started: number;
  /** The first non-finite iterate: after which iteration, in which agent (index), and its message. */
  bad: { iteration: number; agent: number; message: string } | null;
  /** The first error an agent's step threw: in which iteration, in which agent (index). */
  failed: { iteration: number; agent: number; error: unknown } | null;
  /** Stopped on request. */
  requested: boolean;
}

/** What an agent does after ending an iteration: go on, stop, or give the event loop a turn and then decide. */
const GO = 0;
const STOP = 1;
const YIELD_FIRST = 2;
type Next = typeof GO | typeof STOP | typeof YIELD_FIRST;

export class InProcessRuntime implements Runtime {
  readonly name = 'simulator';
  readonly m: number;
  readonly simulator: Simulator;
  readonly group: AgentGroup;
  private iteration = 0;
  /** Communication totals before the checkpoint this runtime was restored from. */
  private commBase: CommCounters = emptyCommCounters();
  /** Set when the agents stopped part-way (see `usable`). */
  private stoppedAt: string | null = null;

  constructor(run: PreparedRun) {
    const { topology, problem } = run;
    refuseFaults(run.config.faults, 'simulator');
    this.m = problem.m;
    this.simulator = new Simulator({ m: this.m, neighbours: topology.graph.neighbours, weights: topology.mixing }, run.config.output.bytesPerFloat);
    const ids = Array.from({ length: this.m }, (_, i) => i);
    this.group = new AgentGroup(run, ids, (id) => this.simulator.links[id]!);
    this.simulator.schedule(true);
  }

  async advance(to: number, onIteration?: (iteration: number) => void, stopRequested?: () => boolean): Promise<AdvanceResult> {
    this.usable();
    let computeMs = 0;
    while (this.iteration < to) {
      const start = performance.now();
      const r = await this.sweep(this.iteration, to, onIteration, stopRequested);
      computeMs += performance.now() - start;
      // Agents that had started a later iteration stay in it: the runtime cannot go on from there.
      const overran = r.started > r.iteration;
      if (r.bad && (r.failed === null || r.bad.iteration < r.failed.iteration)) {
        if (overran) this.stoppedAt = `${this.group.algorithm.name}: the agents stopped at a non-finite iterate after iteration ${r.bad.iteration}`;
        this.iteration = r.bad.iteration;
        return { iteration: r.bad.iteration, nonFinite: r.bad.message, computeMs };
      }
      if (r.failed) {
        this.stoppedAt = `${this.group.algorithm.name}: the agents stopped at an error in iteration ${r.failed.iteration}`;
        throw r.failed.error;
      }
      this.iteration = r.iteration;
      if (this.simulator.pendingAgents !== 0) throw new Error(`${this.group.algorithm.name}: agents finished iteration ${r.iteration} with a communication round half done`);
      if (r.requested) break;
    }
    return { iteration: this.iteration, nonFinite: null, computeMs };
  }

  /**
   * Runs every agent from iteration `from` towards `to`, each agent going on
   * to its next iteration as soon as it ends one (the simulator's sequential
   * dispatch resumes the agents one at a time, so an agent mixes, checks its
   * iterates and computes its next message in one visit, while its data is
   * in cache). Whether agents go on after iteration t is decided once, by the
   * first agent to end it (every agent has then sent every payload of t, and
   * none has started t + 1): not after `to`, nor when a stop is requested or
   * it is time to give the event loop a turn. Every agent checks its own
   * iterates after each iteration; the first non-finite one (lowest
   * iteration, then lowest id, then x, y, z) is the one the lockstep check
   * would have found. Results are those of running the agents in lockstep:
   * each agent computes from its own state and the round's payloads only.
   */
  private async sweep(from: number, to: number, onIteration: ((iteration: number) => void) | undefined, stopRequested: (() => boolean) | undefined): Promise<Sweep> {
    const agents = this.group.agents;
    const algorithm = this.group.algorithm;
    const m = agents.length;
    /** The last iteration each agent ended, and how many have ended `stopAt`. */
    const lastEnded = new Float64Array(m).fill(from);
    let reached = 0;
    const result: Sweep = { iteration: to, started: from + 1, bad: null, failed: null, requested: false };
    let lastYield = performance.now();
    let decided = from;
    let stopAt = to;
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    const stopAfter = (t: number) => {
      if (t >= stopAt) return;
      stopAt = t;
      reached = 0;
      for (let k = 0; k < m; k++) if (lastEnded[k]! >= t) reached++;
    };
    /** Agent k ended iteration t: checks its iterates, decides for t when first, says whether k goes on (and first yields to the event loop). */
    const ends = (k: number, t: number): Next => {
      const a = agents[k]!;
      const bad = result.bad;
      lastEnded[k] = t;
      if (t === stopAt) reached++;
      if (bad === null || t <= bad.iteration) {
        const message = nonFiniteView(a.id, algorithm.view(a.state));
        if (message !== null && (bad === null || t < bad.iteration || k < bad.agent)) {
          result.bad = { iteration: t, agent: k, message };
          stopAfter(t);
        }
      }
      if (t > decided && t <= stopAt) {
        decided = t;
        if (result.bad?.iteration !== t) onIteration?.(t);
        if (t < stopAt && stopRequested) {
          if (stopRequested()) {
            stopAfter(t);
            result.requested = true;
          } else if (performance.now() - lastYield > 50) {
            if (reached === m) finish();
            return YIELD_FIRST;
          }
        }
      }
      if (reached === m) finish();
      return goesOn(t);
    };
    const goesOn = (t: number): Next => {
      if (t >= stopAt) return STOP;
      if (t + 1 > result.started) result.started = t + 1;
      return GO;
    };
    /**
     * The first agent to end iteration t gives the event loop a turn (signal
     * handlers run; every other agent waits for it) and looks for a stop
     * request again: none has started t + 1 yet.
     */
    const yieldAfter = async (t: number): Promise<Next> => {
      await new Promise((resolve) => setImmediate(resolve));
      lastYield = performance.now();
      if (t < stopAt && stopRequested!()) {
        stopAfter(t);
        result.requested = true;
        if (reached === m) finish();
      }
      return goesOn(t);
    };
    /** Agent k's step of iteration t threw: no agent goes beyond t − 1. */
    const fails = (k: number, t: number, error: unknown) => {
      const f = result.failed;
      if (f === null || t < f.iteration || (t === f.iteration && k < f.agent)) result.failed = { iteration: t, agent: k, error };
      stopAfter(t - 1);
      if (reached === m) finish();
    };
    const drive = async (k: number): Promise<void> => {
      const a = agents[k]!;
      let t = from;
      try {
        for (;;) {
          await algorithm.step(a.state, a.ctx, a.workspace);
          let next = ends(k, ++t);
          if (next === YIELD_FIRST) next = await yieldAfter(t);
          if (next === STOP) break;
        }
      } catch (e) {
        fails(k, t + 1, e);
      } finally {
        this.simulator.settle(a.id);
      }
    };
    for (let k = 0; k < m; k++) void drive(k);
    await done;
    result.iteration = stopAt;
    return result;
  }

  /** Throws once the agents stopped part-way (a non-finite iterate or an error), when they are no longer at one iteration. */
  private usable(): void {
    if (this.stoppedAt !== null) throw new Error(this.stoppedAt);
  }

  async snapshot(): Promise<ReadonlyArray<StateView>> {
    this.usable();
    return this.group.views();
  }

  async counters(): Promise<RuntimeCounters> {
    return { comm: addCommCounters(this.commBase, this.simulator.counters), oracle: this.group.oracleCounts() };
  }

  async checkpoint(): Promise<RuntimeCheckpoint> {
    this.usable();
    return { iteration: this.iteration, comm: addCommCounters(this.commBase, this.simulator.counters), agents: this.group.checkpoint() };
  }

  async restore(checkpoint: RuntimeCheckpoint): Promise<void> {
    if (this.iteration !== 0) throw new Error('simulator: restore is only for a runtime that has not advanced');
    checkCheckpointAgents(checkpoint, this.m);
    this.group.restore(checkpoint.agents);
    this.commBase = { ...checkpoint.comm };
    this.iteration = checkpoint.iteration;
  }

  async close(): Promise<void> {}
}
