/**
 * Bad input for the image problems: one clear line naming the field or file,
 * a non-zero exit, and nothing expensive done first.
 */
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { stringify } from 'yaml';
import { main } from '../../src/cli/main.ts';
import { ConfigError, DataError } from '../../src/errors.ts';
import { resolveConfig } from '../../src/experiments/config.ts';
import { prepareRun } from '../../src/experiments/runner.ts';
import { tempDir } from '../helpers.ts';

const root = tempDir('dbo-nn-config-');
after(() => rmSync(root, { recursive: true, force: true }));
const empty = join(root, 'empty');
mkdirSync(empty);

function hc(problem: Record<string, unknown> = {}, rest: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    iterations: 2,
    problem: { type: 'hyper-cleaning', data: { source: 'fashion-mnist', dir: empty, trainPerAgent: 10, valPerAgent: 5 }, ...problem },
    topology: { type: 'ring', agents: 3 },
    algorithm: { name: 'd-soba' },
    ...rest,
  };
}

function meta(problem: Record<string, unknown> = {}): Record<string, unknown> {
  return { problem: { type: 'mlp-meta', data: { source: 'mnist', perAgent: 10 }, ...problem }, topology: { type: 'ring', agents: 3 }, algorithm: { name: 'interact' } };
}

test('unknown data source', () => {
  assert.throws(() => resolveConfig(meta({ data: { source: 'imagenet' } })), (e: Error) => e instanceof ConfigError && /^problem\.data\.source: expected mnist, cifar10 or cifar10-synthetic/.test(e.message));
  assert.throws(() => resolveConfig(hc({ data: { source: 'cifar10' } })), /problem\.data\.source: expected fashion-mnist or mnist/);
  assert.throws(() => prepareRun(resolveConfig(meta({ data: { source: 'cifar10' } }))), /problem\.data\.dir: required for source cifar10/);
});

test('missing FashionMNIST: one data error naming the file and the Debian package', () => {
  assert.throws(() => prepareRun(resolveConfig(hc())), (e: Error) => e instanceof DataError && /fashion-mnist|empty/.test(e.message) && /install the Debian package dataset-fashion-mnist/.test(e.message) && !e.message.includes('\n'));
});

test('corruption outside [0, 1)', () => {
  for (const corruption of [1, -0.1, 1.5])
    assert.throws(() => resolveConfig(hc({ corruption })), (e: Error) => e instanceof ConfigError && e.message === 'problem.corruption: expected a number in [0, 1)');
  assert.equal((resolveConfig(hc({ corruption: 0 })).problem as { corruption: number }).corruption, 0);
});

test('hidden sizes that are not positive integers', () => {
  for (const hidden of [[20, 0], [2.5], [], [-3], 'wide'])
    assert.throws(() => resolveConfig(meta({ hidden })), (e: Error) => e instanceof ConfigError && /^problem\.hidden/.test(e.message), JSON.stringify(hidden));
  assert.throws(() => resolveConfig(hc({ hidden: [0] })), /problem\.hidden\[0\]: hidden sizes must be positive integers/);
});

test('algorithms that form dense Hessians/Jacobians refuse hyper-cleaning before any data is read', () => {
  // The FashionMNIST folder is empty: the algorithm error must come first.
  for (const name of ['dsbo', 'gossip-dsbo'])
    assert.throws(() => prepareRun(resolveConfig(hc({}, { algorithm: { name } }))), (e: Error) => e instanceof ConfigError && new RegExp(`^algorithm\\.name: ${name} forms dense Hessian/Jacobian matrices`).test(e.message));
  assert.throws(() => prepareRun(resolveConfig(hc({}, { evaluation: { groundTruth: true } }))), /evaluation\.groundTruth: hyper-cleaning's lower level is nonconvex/);
  assert.equal(resolveConfig(hc()).evaluation.groundTruth, false, 'ground truth defaults to off for hyper-cleaning');
  assert.equal(resolveConfig(meta()).evaluation.groundTruth, true);
});

test('the CLI prints one line and exits non-zero for a dense-Hessian algorithm on hyper-cleaning', async () => {
  const file = join(root, 'dsbo.yaml');
  writeFileSync(file, stringify(hc({}, { algorithm: { name: 'dsbo' } })));
  const err: string[] = [];
  const saved = console.error;
  const savedCode = process.exitCode;
  console.error = (...a: unknown[]) => void err.push(a.join(' '));
  let code: number;
  try {
    code = await main(['node', 'dbo', 'run', file, '--out', join(root, 'out')]);
  } finally {
    console.error = saved;
    process.exitCode = savedCode;
  }
  assert.equal(code, 2);
  assert.equal(err.join('\n').split('\n').filter(Boolean).length, 1, err.join('\n'));
  assert.match(err[0]!, /dsbo forms dense Hessian\/Jacobian matrices/);
});
