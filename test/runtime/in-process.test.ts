/**
 * The in-process runtime runs the agents on the simulator's scheduled
 * dispatch (each agent goes on as soon as its neighbours' payloads are
 * there); it must end exactly where running them in lockstep ends: the same
 * iterates, counters, and the same first non-finite iterate.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { resolveConfig } from '../../src/experiments/config.ts';
import { prepareRun, type PreparedRun } from '../../src/experiments/runner.ts';
import { Simulator } from '../../src/network/simulator.ts';
import { AgentGroup } from '../../src/runtime/agent.ts';
import { InProcessRuntime } from '../../src/runtime/in-process.ts';
import { tempDir, writeQuadratic } from '../helpers.ts';

const root = tempDir('dbo-in-process-test-');
after(() => rmSync(root, { recursive: true, force: true }));
const M = 40;
const instance = writeQuadratic(root, { agents: M, dx: 3, dy: 4, problemClass: 'global', heterogeneity: 0.3, noise: 0.1 }, 5);

function prepared(algorithm: Record<string, unknown>): PreparedRun {
  return prepareRun(resolveConfig({ seed: 4, iterations: 200, evalEvery: 200, problem: { type: 'quadratic', file: instance, batch: 2 }, topology: { type: 'ring', agents: M }, algorithm }));
}

/** The same agents stepped in lockstep (one barrier per round), checked after every iteration. */
async function lockstep(run: PreparedRun, to: number) {
  const sim = new Simulator({ m: M, neighbours: run.topology.graph.neighbours, weights: run.topology.mixing }, run.config.output.bytesPerFloat);
  const group = new AgentGroup(run, Array.from({ length: M }, (_, i) => i), (id) => sim.links[id]!);
  let t = 0;
  while (t < to) {
    await group.step();
    t++;
    const bad = group.nonFinite();
    if (bad) return { iteration: t, nonFinite: bad, group, sim };
  }
  return { iteration: t, nonFinite: null, group, sim };
}

test('in-process runtime: the iterates, oracle counts and communication counters of lockstep, bit for bit', async () => {
  const algorithm = { name: 'd-soba' };
  const ref = await lockstep(prepared(algorithm), 50);
  const rt = new InProcessRuntime(prepared(algorithm));
  const seen: number[] = [];
  const r1 = await rt.advance(20, (t) => seen.push(t));
  assert.deepEqual([r1.iteration, r1.nonFinite], [20, null]);
  assert.deepEqual(seen, Array.from({ length: 20 }, (_, k) => k + 1), 'every iteration reported once, in order');
  const r2 = await rt.advance(50);
  assert.deepEqual([r2.iteration, r2.nonFinite], [50, null]);
  assert.deepEqual(await rt.snapshot(), ref.group.views());
  const counters = await rt.counters();
  assert.deepEqual(counters.comm, ref.sim.counters);
  assert.deepEqual(counters.oracle, ref.group.oracleCounts());
});

test('in-process runtime: a stop request is honoured right after the iteration it is seen at', async () => {
  const rt = new InProcessRuntime(prepared({ name: 'd-soba' }));
  let seen = 0;
  const r = await rt.advance(100, (t) => (seen = t), () => seen >= 13);
  assert.deepEqual([r.iteration, r.nonFinite], [13, null]);
  const ref = await lockstep(prepared({ name: 'd-soba' }), 13);
  assert.deepEqual(await rt.snapshot(), ref.group.views());
});

test('in-process runtime: a diverging run stops at the iteration, agent and vector the lockstep check names', async () => {
  const algorithm = { name: 'd-soba', alpha: 40, beta: 40, gamma: 40 };
  const ref = await lockstep(prepared(algorithm), 200);
  assert.ok(ref.nonFinite !== null && ref.iteration > 5, `the reference diverges (at ${ref.iteration})`);
  const rt = new InProcessRuntime(prepared(algorithm));
  const r = await rt.advance(200);
  assert.deepEqual([r.iteration, r.nonFinite], [ref.iteration, ref.nonFinite]);
});

test('in-process runtime: a non-finite value in one agent far down the ring is found where lockstep finds it, though agents before it went on', async () => {
  /** Agent 25's ∇_y G turns NaN at its 10th call (iteration 10). */
  const poisoned = () => {
    const run = prepared({ name: 'd-soba' });
    const oracle = run.problem.agents[25]!;
    const gradG = oracle.gradG.bind(oracle);
    let calls = 0;
    oracle.gradG = (x, y, batch, outX, outY) => {
      gradG(x, y, batch, outX, outY);
      if (++calls === 10) outY.fill(NaN);
    };
    return run;
  };
  const ref = await lockstep(poisoned(), 200);
  assert.deepEqual([ref.iteration, ref.nonFinite], [10, "agent 24's y has non-finite entries"]);
  const rt = new InProcessRuntime(poisoned());
  const r = await rt.advance(200);
  assert.deepEqual([r.iteration, r.nonFinite], [ref.iteration, ref.nonFinite]);
  assert.ok(rt.group.agents.some((a) => a.state.t > 10), 'agents scheduled before agent 24 had gone on to iteration 11');
  // They are no longer at one iteration: the runtime refuses to go on or to be read.
  await assert.rejects(rt.advance(200), /stopped at a non-finite iterate after iteration 10/);
  await assert.rejects(rt.snapshot(), /stopped at a non-finite iterate/);
});

test('in-process runtime: an error thrown in one agent\'s step fails the advance with that error, as in lockstep', async () => {
  const failing = () => {
    const run = prepared({ name: 'd-soba' });
    const oracle = run.problem.agents[25]!;
    const gradG = oracle.gradG.bind(oracle);
    let calls = 0;
    oracle.gradG = (x, y, batch, outX, outY) => {
      if (++calls === 10) throw new Error('oracle failed in iteration 10');
      gradG(x, y, batch, outX, outY);
    };
    return run;
  };
  await assert.rejects(lockstep(failing(), 200), /oracle failed in iteration 10/);
  const rt = new InProcessRuntime(failing());
  await assert.rejects(rt.advance(200), /oracle failed in iteration 10/);
  await assert.rejects(rt.advance(200), /stopped at an error in iteration 10/);
});
