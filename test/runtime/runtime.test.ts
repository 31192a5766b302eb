/**
 * The runtime seam: agents built one by one from the prepared run and their
 * id, hosted in groups, give the simulator's rows bit for bit; the runner
 * drives any runtime through the same small interface and closes it.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { StateView } from '../../src/algorithms/types.ts';
import { resolveConfig } from '../../src/experiments/config.ts';
import { execute, prepareRun, type PreparedRun } from '../../src/experiments/runner.ts';
import { Simulator } from '../../src/network/simulator.ts';
import { addCounts, emptyCounts } from '../../src/problems/counting.ts';
import { AgentGroup, buildAgent } from '../../src/runtime/agent.ts';
import { mergeCommCounters, type AdvanceResult, type Runtime, type RuntimeCheckpoint, type RuntimeCounters } from '../../src/runtime/types.ts';
import { tempDir, writeQuadratic } from '../helpers.ts';

const root = tempDir('dbo-runtime-test-');
after(() => rmSync(root, { recursive: true, force: true }));
const instance = writeQuadratic(root, { agents: 5, dx: 3, dy: 4, problemClass: 'global', heterogeneity: 0.3, noise: 0.1 }, 7);

function prepared(name: string): PreparedRun {
  return prepareRun(resolveConfig({ seed: 3, iterations: 17, evalEvery: 4, problem: { type: 'quadratic', file: instance, batch: 2 }, topology: { type: 'ring', agents: 5 }, algorithm: { name } }));
}

/** A runtime that hosts the agents in two groups (as two hosts would), over one simulator. */
class TwoHostRuntime implements Runtime {
  readonly name = 'two-host';
  readonly m: number;
  readonly sim: Simulator;
  readonly hosts: AgentGroup[];
  closed = false;
  private iteration = 0;
  constructor(run: PreparedRun) {
    this.m = run.problem.m;
    this.sim = new Simulator({ m: this.m, neighbours: run.topology.graph.neighbours, weights: run.topology.weights.data }, run.config.output.bytesPerFloat);
    const link = (id: number) => this.sim.links[id]!;
    this.hosts = [new AgentGroup(run, [4, 0, 2], link), new AgentGroup(run, [3, 1], link)];
  }
  async advance(to: number): Promise<AdvanceResult> {
    const start = performance.now();
    while (this.iteration < to) {
      await Promise.all(this.hosts.map((h) => h.step()));
      this.iteration++;
    }
    return { iteration: this.iteration, nonFinite: null, computeMs: performance.now() - start };
  }
  async snapshot(): Promise<ReadonlyArray<StateView>> {
    const byId: StateView[] = [];
    for (const h of this.hosts) h.views().forEach((v, k) => (byId[h.agents[k]!.id] = v));
    return byId;
  }
  async counters(): Promise<RuntimeCounters> {
    const oracle = emptyCounts();
    for (const h of this.hosts) addCounts(oracle, h.oracleCounts());
    return { comm: mergeCommCounters([this.sim.counters]), oracle };
  }
  async checkpoint(): Promise<RuntimeCheckpoint> {
    const { comm } = await this.counters();
    return { iteration: this.iteration, comm, agents: this.hosts.flatMap((h) => h.checkpoint()).sort((a, b) => a.id - b.id) };
  }
  async restore(cp: RuntimeCheckpoint): Promise<void> {
    for (const h of this.hosts) h.restore(cp.agents);
    Object.assign(this.sim.counters, cp.comm);
    this.iteration = cp.iteration;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

const strip = (rows: ReadonlyArray<object>) => rows.map((row) => ({ ...row, elapsedMs: 0 }));

for (const name of ['d-soba', 'cd-bsvrgd', 'vrdbo']) {
  test(`${name}: agents hosted in two groups give the in-process rows bit for bit, and the runtime is closed`, async () => {
    const reference = await execute(prepared(name));
    let runtime: TwoHostRuntime | null = null;
    const split = await execute(prepared(name), {}, (run) => (runtime = new TwoHostRuntime(run)));
    assert.equal(reference.status, 'completed');
    assert.equal(reference.rows.length, 6);
    assert.deepEqual(strip(split.rows), strip(reference.rows));
    assert.equal(runtime!.closed, true);
    assert.deepEqual(runtime!.hosts.map((h) => h.agents.map((a) => a.id)), [[0, 2, 4], [1, 3]], 'hosted ids ascending');
  });
}

test('buildAgent: an agent is built from the run and its id alone (its own oracle, seed and initial state)', () => {
  const run = prepared('d-soba');
  const sim = new Simulator({ m: 5, neighbours: run.topology.graph.neighbours, weights: run.topology.weights.data });
  const a = buildAgent(run, 3, sim.links[3]!);
  const b = buildAgent(prepared('d-soba'), 3, sim.links[3]!);
  assert.equal(a.id, 3);
  assert.equal(a.ctx.link, sim.links[3]);
  assert.equal(a.oracle.inner, run.problem.agents[3]);
  assert.equal(a.ctx.seed, b.ctx.seed);
  assert.notEqual(a.ctx.seed, buildAgent(run, 2, sim.links[2]!).ctx.seed, 'each agent has its own sampling stream');
  assert.deepEqual(run.algorithm.view(a.state), run.algorithm.view(b.state));
  assert.throws(() => buildAgent(run, 5, sim.links[0]!), /agent id 5 is not in 0…4/);
});

test('the runtime is closed when a run fails', async () => {
  let closed = false;
  const failing: Runtime = {
    name: 'failing',
    m: 5,
    advance: async () => {
      throw new Error('transport lost');
    },
    snapshot: async () => [],
    counters: async () => ({ comm: mergeCommCounters([]), oracle: emptyCounts() }),
    checkpoint: async () => {
      throw new Error('not used');
    },
    restore: async () => {},
    close: async () => {
      closed = true;
    },
  };
  const run = prepared('d-soba');
  const real = new TwoHostRuntime(run);
  failing.snapshot = () => real.snapshot();
  await assert.rejects(execute(run, {}, () => failing), /transport lost/);
  assert.equal(closed, true);
});
