/**
 * The `dbo` command line. Most user errors go through `main()` in process
 * (exit code, one stderr line naming the field or file, no run directory);
 * a representative few spawn `bin/dbo.mjs` to check the real process (exit
 * status, streams, --debug). Each spawn costs about half a second.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { ALGORITHMS } from '../../src/algorithms/registry.ts';
import { DboError } from '../../src/errors.ts';
import { loadConfig, resolveConfig } from '../../src/experiments/config.ts';
import { prepareRun } from '../../src/experiments/runner.ts';
import { runMain as runCapturedMain } from '../cli-run.ts';
import { tempDir, writeQuadratic } from '../helpers.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const root = tempDir('dbo-cli-test-');
after(() => rmSync(root, { recursive: true, force: true }));

const M = 5;
const instance = writeQuadratic(root, { agents: M, dx: 3, dy: 4, problemClass: 'global', heterogeneity: 0.3 }, 21);
const sixAgents = writeQuadratic(root, { agents: 6, dx: 3, dy: 4, problemClass: 'global', heterogeneity: 0.3 }, 22);
const badLibsvm = join(root, 'bad.libsvm');
writeFileSync(badLibsvm, '+1 1:0.5 2:1\n-1 1:0.25 3:abc\n+1 2:2\n');

function goodConfig(): Record<string, unknown> {
  return {
    seed: 2,
    iterations: 20,
    evalEvery: 10,
    problem: { type: 'quadratic', file: instance },
    topology: { type: 'ring', agents: M },
    algorithm: { name: 'd-soba', alpha: 0.05 },
  };
}

let fileCount = 0;
/** Writes a config file (YAML unless the name says .json, or raw text) and returns its path. */
function writeConfig(value: Record<string, unknown> | string, ext = 'yaml'): string {
  const file = join(root, `config-${++fileCount}.${ext}`);
  writeFileSync(file, typeof value === 'string' ? value : ext === 'json' ? JSON.stringify(value) : stringify(value));
  return file;
}

/** The files of a completed run directory, sorted. */
const RUN_FILES = ['.dbo-run', 'config.resolved.json', 'metrics.jsonl', 'summary.json', 'topology.json'];

function outDir(): string {
  return join(root, `run-${++fileCount}`);
}

function assertNoRunDir(out: string): void {
  assert.equal(existsSync(out), false, `${out} must not exist`);
  assert.equal(existsSync(`${out}.partial`), false, `${out}.partial must not exist`);
}

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function runMain(...args: string[]): Promise<Result> {
  const r = await runCapturedMain(...args);
  assert.equal(r.exitCode, undefined, 'main() sets process.exitCode only for diverged runs');
  return { code: r.code, stdout: r.stdout, stderr: r.stderr };
}

/** Spawns the real command. */
function spawnDbo(...args: string[]): Result {
  const r = spawnSync(process.execPath, ['bin/dbo.mjs', ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.error, undefined, `spawn failed: ${r.error?.message}`);
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Exit 2, nothing on stdout, exactly one stderr line `dbo: error: …` matching `message`, no stack trace. */
function assertUserError(r: Result, message: RegExp, label: string): void {
  assert.equal(r.code, 2, `${label}: exit code 2 (stderr: ${r.stderr})`);
  assert.equal(r.stdout, '', `${label}: nothing on stdout`);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `${label}: exactly one stderr line, got:\n${r.stderr}`);
  const line = lines[0]!;
  assert.ok(line.startsWith('dbo: error: '), `${label}: ${line}`);
  assert.match(line.slice('dbo: error: '.length), message, label);
  assert.doesNotMatch(r.stderr, /^\s+at /m, `${label}: no stack trace`);
}

// ---------------------------------------------------------------- user errors, in process

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** Every registered algorithm, as the error message lists them (more may be added beside the two D-SOBA variants). */
const KNOWN = ALGORITHMS.map((a) => a.name);

interface BadCase {
  name: string;
  /** The config file: an object written as YAML, or a path as is. */
  config: Record<string, unknown> | { path: string };
  message: RegExp;
}

const missingConfig = join(root, 'no-such-config.yaml');
const invalidYaml = writeConfig('seed: [1,\n  iterations: : :\n');
const notMapping = writeConfig('- just\n- a list\n');
const invalidJson = writeConfig('{"seed": 1,', 'json');
const missingInstance = join(root, 'no-such-instance.json');
const missingLibsvm = join(root, 'no-such-data.libsvm');

const BAD: BadCase[] = [
  { name: 'unknown top-level key', config: { ...goodConfig(), iteratons: 5 }, message: /^\(config\): unknown key 'iteratons'$/ },
  { name: 'unknown algorithm', config: { ...goodConfig(), algorithm: { name: 'd-sobaa' } }, message: new RegExp(`^algorithm\\.name: unknown algorithm 'd-sobaa' \\(known: ${escape(KNOWN.join(', '))}\\)$`) },
  { name: 'negative step size', config: { ...goodConfig(), algorithm: { name: 'd-soba', alpha: -0.1 } }, message: /^algorithm\.alpha: .*> 0/ },
  { name: 'zero step size', config: { ...goodConfig(), algorithm: { name: 'd-soba-fo', gamma: 0 } }, message: /^algorithm\.gamma: / },
  { name: 'theta above 1', config: { ...goodConfig(), algorithm: { name: 'd-soba', theta: 1.5 } }, message: /^algorithm\.theta: / },
  { name: 'unknown algorithm parameter', config: { ...goodConfig(), algorithm: { name: 'd-soba', lr: 0.1 } }, message: /^algorithm: unknown key 'lr'$/ },
  { name: 'FO-only parameter on d-soba', config: { ...goodConfig(), algorithm: { name: 'd-soba', delta: 0.01 } }, message: /^algorithm: unknown key 'delta'$/ },
  { name: 'bad enum parameter', config: { ...goodConfig(), algorithm: { name: 'd-soba-fo', stencil: 'backward' } }, message: /^algorithm\.stencil: / },
  { name: 'missing algorithm name', config: { ...goodConfig(), algorithm: { alpha: 0.1 } }, message: /^algorithm\.name: / },
  { name: 'missing topology', config: { ...goodConfig(), topology: undefined }, message: /^topology: required/ },
  { name: 'unknown topology type', config: { ...goodConfig(), topology: { type: 'hypercube', agents: M } }, message: /^topology\.type: .*ring/ },
  { name: 'unknown problem type', config: { ...goodConfig(), problem: { type: 'lasso', file: instance } }, message: /^problem\.type: .*quadratic/ },
  { name: 'zero evalEvery', config: { ...goodConfig(), evalEvery: 0 }, message: /^evalEvery: / },
  { name: 'fractional iterations', config: { ...goodConfig(), iterations: 2.5 }, message: /^iterations: / },
  { name: 'bytesPerFloat', config: { ...goodConfig(), output: { bytesPerFloat: 2 } }, message: /^output\.bytesPerFloat: expected 4 \(fp32\) or 8 \(fp64\)$/ },
  { name: 'zero batch', config: { ...goodConfig(), problem: { type: 'quadratic', file: instance, batch: 0 } }, message: /^problem\.batch: / },
  { name: 'wrong init.x dimension', config: { ...goodConfig(), init: { x: [1, 2] } }, message: /^init\.x: expected 3 numbers \(d_x\), got 2$/ },
  { name: 'wrong init.y dimension', config: { ...goodConfig(), init: { y: [1, 2, 3, 4, 5] } }, message: /^init\.y: expected 4 numbers \(d_y\), got 5$/ },
  { name: 'init of the wrong type', config: { ...goodConfig(), init: { x: 'zeros' } }, message: /^init\.x: / },
  {
    name: 'instance agents ≠ topology.agents',
    config: { ...goodConfig(), problem: { type: 'quadratic', file: sixAgents } },
    message: new RegExp(`^problem\\.file: instance ${escape(sixAgents)} has 6 agents but topology\\.agents is 5$`),
  },
  {
    name: 'non-doubly-stochastic weights',
    config: {
      ...goodConfig(),
      topology: {
        type: 'custom',
        agents: M,
        weights: [
          [0.6, 0.3, 0, 0, 0.3],
          [0.3, 0.6, 0.3, 0, 0],
          [0, 0.3, 0.6, 0.3, 0],
          [0, 0, 0.3, 0.6, 0.3],
          [0.3, 0, 0, 0.3, 0.6],
        ],
      },
    },
    message: /^topology\.weights: .*not doubly stochastic/,
  },
  {
    name: 'non-symmetric weights',
    config: {
      ...goodConfig(),
      topology: {
        type: 'custom',
        agents: M,
        weights: [
          [0.5, 0.5, 0, 0, 0],
          [0, 0.5, 0.5, 0, 0],
          [0, 0, 0.5, 0.5, 0],
          [0, 0, 0, 0.5, 0.5],
          [0.5, 0, 0, 0, 0.5],
        ],
      },
    },
    message: /^topology\.weights: .*not symmetric/,
  },
  { name: 'weights of the wrong size', config: { ...goodConfig(), topology: { type: 'custom', agents: M, weights: [[1]] } }, message: /^topology\.weights: expected a 5×5 matrix/ },
  {
    name: 'disconnected custom edges',
    config: { ...goodConfig(), topology: { type: 'custom', agents: M, edges: [[0, 1], [1, 2], [3, 4]] } },
    message: /^topology\.edges: graph is disconnected/,
  },
  { name: 'custom edge out of range', config: { ...goodConfig(), topology: { type: 'custom', agents: M, edges: [[0, 1], [1, 7]] } }, message: /^topology\.edges\[1\]: / },
  { name: 'missing instance file', config: { ...goodConfig(), problem: { type: 'quadratic', file: missingInstance } }, message: new RegExp(`^${escape(missingInstance)}: file not found`) },
  {
    name: 'missing LIBSVM data file',
    config: { ...goodConfig(), problem: { type: 'logreg-hpo', data: { source: 'libsvm', file: missingLibsvm } } },
    message: new RegExp(`^${escape(missingLibsvm)}: file not found`),
  },
  {
    name: 'malformed LIBSVM line',
    config: { ...goodConfig(), problem: { type: 'logreg-hpo', data: { source: 'libsvm', file: badLibsvm } } },
    message: new RegExp(`^${escape(badLibsvm)}: line 2: .*'3:abc'`),
  },
  { name: 'missing config file', config: { path: missingConfig }, message: new RegExp(`^${escape(missingConfig)}: config file not found`) },
  { name: 'invalid YAML', config: { path: invalidYaml }, message: new RegExp(`^${escape(invalidYaml)}: cannot parse config: `) },
  { name: 'invalid JSON', config: { path: invalidJson }, message: new RegExp(`^${escape(invalidJson)}: cannot parse config: `) },
  { name: 'config that is not a mapping', config: { path: notMapping }, message: new RegExp(`^\\(config\\): ${escape(notMapping)} must hold a mapping`) },
];

function configPath(c: BadCase): string {
  return 'path' in c.config ? (c.config.path as string) : writeConfig(c.config);
}

test('the algorithm registry holds both D-SOBA variants', () => {
  assert.ok(KNOWN.includes('d-soba') && KNOWN.includes('d-soba-fo'), KNOWN.join(', '));
});

test('each bad input fails with exit code 2, one line naming the field or file, and no run directory (in process)', async () => {
  for (const c of BAD) {
    const file = configPath(c);
    const out = outDir();
    const r = await runMain('run', file, '--out', out, '--quiet');
    assertUserError(r, c.message, c.name);
    assertNoRunDir(out);
  }
});

test('the same errors come from loadConfig / prepareRun as DboErrors with one-line messages', () => {
  for (const c of BAD) {
    const file = configPath(c);
    assert.throws(
      () => prepareRun(loadConfig(file)),
      (e: unknown) => {
        assert.ok(e instanceof DboError, `${c.name}: a DboError, got ${String(e)}`);
        assert.doesNotMatch(e.message, /\n/, `${c.name}: one line`);
        assert.match(e.message, c.message, c.name);
        return true;
      },
      c.name,
    );
  }
  // resolveConfig on objects, without a file.
  assert.throws(() => resolveConfig({ ...goodConfig(), extra: true }), /\(config\): unknown key 'extra'/);
  assert.throws(() => resolveConfig(null), DboError);
});

test('an existing --out is refused without --force; --force replaces a previous run, never a user folder (in process)', async () => {
  const file = writeConfig(goodConfig());
  const out = outDir();
  mkdirSync(out);
  writeFileSync(join(out, 'marker.txt'), 'old');
  const refused = await runMain('run', file, '--out', out, '--quiet');
  assertUserError(refused, new RegExp(`^${escape(out)}: output directory already exists`), 'existing --out');
  const notOurs = await runMain('run', file, '--out', out, '--quiet', '--force');
  assertUserError(notOurs, new RegExp(`^${escape(out)}: is a folder that is not a dbo run directory .*nothing was deleted`), 'user folder with --force');
  assert.deepEqual(readdirSync(out), ['marker.txt']);
  assert.equal(existsSync(`${out}.partial`), false);

  const previous = outDir();
  assert.equal((await runMain('run', file, '--out', previous, '--quiet')).code, 0);
  writeFileSync(join(previous, 'old.txt'), 'from the previous run');
  const forced = await runMain('run', file, '--out', previous, '--quiet', '--force');
  assert.equal(forced.code, 0, forced.stderr);
  assert.equal(forced.stderr, '');
  assert.match(forced.stdout, /^iteration 20 · /);
  assert.match(forced.stdout, new RegExp(`results in ${escape(previous)}\\n$`));
  assert.deepEqual(readdirSync(previous).sort(), RUN_FILES);
});

test('a JSON config runs like a YAML one (in process)', async () => {
  const out = outDir();
  const r = await runMain('run', writeConfig(goodConfig(), 'json'), '--out', out, '--quiet');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')).status, 'completed');
});

test('dbo topology rejects bad options with one line naming the field (in process)', async () => {
  assertUserError(await runMain('topology', '--type', 'ring', '--agents', 'many'), /^--agents: /, 'agents not a number');
  assertUserError(await runMain('topology', '--type', 'torus', '--agents', '7', '--rows', '2'), /^topology\.rows: /, 'torus rows');
  assertUserError(await runMain('topology', '--type', 'erdos-renyi', '--agents', '6'), /^topology\.p: /, 'erdos-renyi without p');
  assertUserError(await runMain('topology', '--type', 'ring', '--agents', '6', '--mixing', 'magic'), /^topology\.mixing: /, 'mixing rule');
});

// ---------------------------------------------------------------- the real process

test('dbo algorithms lists d-soba and d-soba-fo with their parameters and defaults', () => {
  const r = spawnDbo('algorithms');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  const blocks = r.stdout.split(/\n\n/);
  const so = blocks.find((b) => b.startsWith('d-soba '))!;
  const fo = blocks.find((b) => b.startsWith('d-soba-fo '))!;
  assert.ok(so && fo, r.stdout);
  for (const block of [so, fo]) {
    assert.match(block, /^ {4}alpha \(default 0\.05\)/m);
    assert.match(block, /^ {4}beta \(default 0\.1\)/m);
    assert.match(block, /^ {4}gamma \(default 0\.1\)/m);
    assert.match(block, /^ {4}theta \(default 0\.5\)/m);
    assert.match(block, /^ {4}hTiming \(default "previous"\)/m);
    assert.match(block, /communicates: /);
  }
  assert.match(fo, /^ {4}delta \(default 0\.001\)/m);
  assert.match(fo, /^ {4}stencil \(default "central"\)/m);
  assert.doesNotMatch(so, /delta|stencil/);
});

test('dbo topology --type ring --agents 8 prints lambda and rho', () => {
  const r = spawnDbo('topology', '--type', 'ring', '--agents', '8');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.match(r.stdout, /^agents 8, edges 8, directed messages per round 16$/m);
  const m = /lambda = .*?= ([\d.]+)\s+rho = .*?= ([\d.]+)/.exec(r.stdout);
  assert.ok(m, r.stdout);
  // Ring of 8 with the default (metropolis: 1/3 on self and both neighbours): λ = (1 + 2cos(2π/8))/3.
  const expected = (1 + 2 * Math.cos((2 * Math.PI) / 8)) / 3;
  assert.ok(Math.abs(Number(m[1]) - expected) < 1e-5, `lambda ${m[1]} vs ${expected}`);
  assert.ok(Math.abs(Number(m[2]) - expected) < 1e-5, `rho ${m[2]} vs ${expected}`);
  // The mixing matrix, one row per agent.
  assert.match(r.stdout, /^7 +0\.333/m);
});

test('dbo run on a good YAML config writes the run directory and prints a summary', () => {
  const out = outDir();
  const r = spawnDbo('run', writeConfig(goodConfig()), '--out', out);
  assert.equal(r.code, 0, r.stderr);
  // Piped: plain progress lines (iteration, rate, ETA) and nothing else on stderr.
  assert.ok(r.stderr.trim().split('\n').every((l) => /^progress 20\/20 it \(100%\) · .* it\/s · ETA /.test(l) || /^progress \d+\/20 it/.test(l)), r.stderr);
  assert.match(r.stderr, /^progress 20\/20 it \(100%\)/m);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 2, r.stdout);
  assert.match(lines[0]!, /^iteration 20 · ‖∇Φ\(x̄\)‖² \S+ · consensus x \S+ · lower error \S+ · upper loss \S+ · rounds 20 · [\d.]+ MB sent · wall [\d.]+ s \(compute [\d.]+ s, evaluation [\d.]+ s\)$/);
  assert.equal(lines[1], `results in ${out}`);
  assert.deepEqual(readdirSync(out).sort(), RUN_FILES);
  assert.equal(existsSync(`${out}.partial`), false);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.equal(summary.status, 'completed');
  assert.equal(summary.final.iteration, 20);
  assert.equal(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').length, 3);
  assert.deepEqual(JSON.parse(readFileSync(join(out, 'config.resolved.json'), 'utf8')).algorithm, { name: 'd-soba', alpha: 0.05, beta: 0.1, gamma: 0.1, theta: 0.5, hTiming: 'previous' });
});

test('dbo run on bad inputs: exit 2, one stderr line, no stack trace, no run directory (spawned)', () => {
  const pick = ['unknown top-level key', 'unknown algorithm', 'non-doubly-stochastic weights', 'malformed LIBSVM line', 'missing config file', 'invalid YAML'];
  for (const name of pick) {
    const c = BAD.find((b) => b.name === name)!;
    const out = outDir();
    const r = spawnDbo('run', configPath(c), '--out', out);
    assertUserError(r, c.message, `${name} (spawned)`);
    assertNoRunDir(out);
  }
});

test('dbo run --debug adds the stack trace', () => {
  const c = BAD.find((b) => b.name === 'negative step size')!;
  const out = outDir();
  const r = spawnDbo('run', configPath(c), '--out', out, '--debug');
  assert.equal(r.code, 2);
  const lines = r.stderr.split('\n');
  assert.match(lines[0]!, /^dbo: error: algorithm\.alpha: /);
  assert.match(r.stderr, /^\s+at /m, 'stack frames printed');
  assert.match(r.stderr, /ConfigError: algorithm\.alpha/);
  assertNoRunDir(out);
});

test('dbo run on a diverging config exits 3 and keeps the run directory', () => {
  const out = outDir();
  const r = spawnDbo('run', writeConfig({ ...goodConfig(), iterations: 120, algorithm: { name: 'd-soba', alpha: 1e3, beta: 1e3, gamma: 1e3 } }), '--out', out);
  assert.equal(r.code, 3, r.stderr);
  const errors = r.stderr.trim().split('\n').filter((l) => !l.startsWith('progress '));
  assert.equal(errors.length, 1, r.stderr);
  assert.match(errors[0]!, /^dbo: diverged at iteration \d+: /);
  assert.match(r.stdout, new RegExp(`results in ${escape(out)}`));
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.equal(summary.status, 'diverged');
  assert.match(summary.message, /^diverged at iteration \d+/);
  assert.equal(existsSync(`${out}.partial`), false);
});
