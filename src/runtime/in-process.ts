/**
 * The reference runtime: every agent in this thread, in lockstep on the
 * deterministic simulator. Other runtimes must reproduce its rows bit for bit.
 */
import { performance } from 'node:perf_hooks';
import type { StateView } from '../algorithms/types.ts';
import { refuseFaults } from '../experiments/faults.ts';
import type { PreparedRun } from '../experiments/runner.ts';
import { Simulator } from '../network/simulator.ts';
import { AgentGroup } from './agent.ts';
import { addCommCounters, checkCheckpointAgents, emptyCommCounters, type AdvanceResult, type CommCounters, type Runtime, type RuntimeCheckpoint, type RuntimeCounters } from './types.ts';

export class InProcessRuntime implements Runtime {
  readonly name = 'simulator';
  readonly m: number;
  readonly simulator: Simulator;
  readonly group: AgentGroup;
  private iteration = 0;
  /** Communication totals before the checkpoint this runtime was restored from. */
  private commBase: CommCounters = emptyCommCounters();

  constructor(run: PreparedRun) {
    const { topology, problem } = run;
    refuseFaults(run.config.faults, 'simulator');
    this.m = problem.m;
    this.simulator = new Simulator({ m: this.m, neighbours: topology.graph.neighbours, weights: topology.mixing }, run.config.output.bytesPerFloat);
    const ids = Array.from({ length: this.m }, (_, i) => i);
    this.group = new AgentGroup(run, ids, (id) => this.simulator.links[id]!);
  }

  async advance(to: number, onIteration?: (iteration: number) => void, stopRequested?: () => boolean): Promise<AdvanceResult> {
    let computeMs = 0;
    let lastYield = performance.now();
    while (this.iteration < to) {
      const t = this.iteration + 1;
      const start = performance.now();
      await this.group.step();
      computeMs += performance.now() - start;
      if (this.simulator.pendingAgents !== 0) throw new Error(`${this.group.algorithm.name}: agents finished iteration ${t} with a communication round half done`);
      this.iteration = t;
      const bad = this.group.nonFinite();
      if (bad) return { iteration: t, nonFinite: bad, computeMs };
      onIteration?.(t);
      if (stopRequested) {
        // The agents' exchanges settle as microtasks: give signal handlers a turn now and then, or a stop request would wait for `to`.
        if (performance.now() - lastYield > 50) {
          await new Promise((resolve) => setImmediate(resolve));
          lastYield = performance.now();
        }
        if (stopRequested()) break;
      }
    }
    return { iteration: this.iteration, nonFinite: null, computeMs };
  }

  async snapshot(): Promise<ReadonlyArray<StateView>> {
    return this.group.views();
  }

  async counters(): Promise<RuntimeCounters> {
    return { comm: addCommCounters(this.commBase, this.simulator.counters), oracle: this.group.oracleCounts() };
  }

  async checkpoint(): Promise<RuntimeCheckpoint> {
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
