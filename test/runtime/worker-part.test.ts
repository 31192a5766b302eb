/**
 * The part of a prepared run a worker thread receives: only its agents'
 * oracles, sent as constructor arguments and rebuilt into oracles that
 * compute what the originals compute; problems whose oracles cannot be sent
 * give no part (their workers prepare the run themselves).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConfig } from '../../src/experiments/config.ts';
import { prepareRun } from '../../src/experiments/runner.ts';
import { fullBatch } from '../../src/problems/types.ts';
import { hostedPart, hostedRun, portableOracle } from '../../src/runtime/worker-part.ts';

const config = resolveConfig({
  seed: 5,
  iterations: 2,
  problem: { type: 'logreg-hpo', data: { source: 'seed000-synthetic', trainPerAgent: 5, valPerAgent: 4, testPerAgent: 3, features: 6 }, batch: 2 },
  topology: { type: 'ring', agents: 4 },
  algorithm: { name: 'd-soba' },
});

test('oracles rebuilt from the part sent (structured clone) compute what the prepared ones compute; only the hosted agents are built', () => {
  const run = prepareRun(config);
  const ids = [0, 2];
  const rebuilt = hostedRun(config, ids, structuredClone(hostedPart(run, ids)!));
  assert.deepEqual(Object.keys(rebuilt.problem.agents), ['0', '2']);
  assert.equal(rebuilt.algorithm.name, 'd-soba');
  assert.deepEqual(rebuilt.init, run.init);
  const x = Float64Array.from({ length: 6 }, (_, i) => 0.1 * i - 0.2);
  const y = Float64Array.from({ length: 12 }, (_, i) => Math.sin(i));
  for (const id of ids) {
    const a = run.problem.agents[id]!;
    const b = rebuilt.problem.agents[id]!;
    assert.equal(b.g(x, y, fullBatch()), a.g(x, y, fullBatch()));
    const [ga, gb] = [new Float64Array(12), new Float64Array(12)];
    a.gradG(x, y, fullBatch(), null, ga);
    b.gradG(x, y, fullBatch(), null, gb);
    assert.deepEqual(gb, ga);
  }
});

test('an oracle of a class a worker cannot rebuild gives no part', () => {
  const run = prepareRun(config);
  // An object with the oracle's own fields but not its class (as a wrapper or another problem's oracle would be).
  const foreign = { ...run.problem.agents[0]! } as (typeof run.problem.agents)[number];
  assert.equal(portableOracle(foreign), null);
  assert.equal(hostedPart({ ...run, problem: { ...run.problem, agents: [run.problem.agents[0]!, foreign] } }, [0, 1]), null);
});
