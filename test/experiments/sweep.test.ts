/**
 * Sweeps: expansion over key paths, validation before anything runs, and the
 * real command: 2 algorithms × 3 seeds, killed midway, resumed (the second
 * invocation runs only the missing cases), then plotted as 2 mean curves
 * with bands.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { expandSweep, loadSweepSpec, runSweep, setPath } from '../../src/experiments/sweep.ts';
import { tempDir } from '../helpers.ts';
import { assertOneLineError, runMain, tinyInstance } from '../report/fixtures.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const root = tempDir('dbo-sweep-test-');
after(() => rmSync(root, { recursive: true, force: true }));
const instance = tinyInstance(root);

function base(iterations = 40): Record<string, unknown> {
  return { iterations, evalEvery: 5, problem: { type: 'quadratic', file: instance, noise: 0.2 }, topology: { type: 'ring', agents: 5 }, algorithm: { name: 'd-soba' } };
}

test('setPath sets nested keys; a mapping replaces the subtree', () => {
  const o: Record<string, unknown> = { algorithm: { name: 'd-soba', alpha: 1 } };
  setPath(o, 'algorithm.alpha', 2);
  setPath(o, 'topology.type', 'ring');
  assert.deepEqual(o, { algorithm: { name: 'd-soba', alpha: 2 }, topology: { type: 'ring' } });
  setPath(o, 'algorithm', { name: 'gossip-dsbo' });
  assert.deepEqual(o.algorithm, { name: 'gossip-dsbo' });
});

test('expandSweep: every combination of vary, crossed with explicit cases, resolved and named', () => {
  const cases = expandSweep({ base: base(), vary: { 'topology.type': ['ring', 'complete'], seed: [1, 2] }, cases: [{ 'algorithm.alpha': 0.1 }, { algorithm: { name: 'gossip-dsbo', eta: 0.02 } }] });
  assert.equal(cases.length, 8);
  assert.equal(new Set(cases.map((c) => c.id)).size, 8);
  const c = cases.find((x) => x.values.seed === 2 && x.values['topology.type'] === 'complete' && x.values['algorithm.alpha'] === 0.1)!;
  assert.equal(c.id, 'alpha-0.1_topology-complete_seed-2');
  assert.equal(c.config.seed, 2);
  assert.equal(c.config.topology.type, 'complete');
  assert.equal(c.config.algorithm.alpha, 0.1);
  assert.equal(c.config.algorithm.beta, 0.1, 'algorithm defaults filled in');
  const g = cases.find((x) => x.config.algorithm.name === 'gossip-dsbo')!;
  assert.equal(g.config.algorithm.eta, 0.02);
  assert.match(g.id, /^gossip-dsbo-[0-9a-f]{6}_topology-/);
});

test('bad sweeps: one error naming the case and the field, before anything runs', async () => {
  assert.throws(() => expandSweep({ base: base(), vary: { 'algorithm.alpha': [0.1, -1] } }), /case alpha--1: algorithm\.alpha: /);
  assert.throws(() => expandSweep({ base: base(), vary: { seed: [] } }), /vary\.seed: expected a non-empty list/);
  const file = join(root, 'bad.yaml');
  writeFileSync(file, stringify({ base: base(), vary: { 'algorithm.name': ['d-soba', 'no-such-algorithm'] } }));
  const out = join(root, 'bad-out');
  assertOneLineError(await runMain('sweep', file, '--out', out, '--quiet'), /bad\.yaml: case no-such-algorithm: algorithm\.name: /, 'unknown algorithm');
  assert.equal(existsSync(out), false, 'nothing created');
  writeFileSync(file, stringify({ base: base(), vary: { seed: [1] }, extra: 1 }));
  assertOneLineError(await runMain('sweep', file, '--out', out, '--quiet'), /extra: unknown sweep key/, 'unknown key');
});

test('a directory that is not this sweep is refused', async () => {
  const foreign = join(root, 'foreign');
  mkdirSync(foreign);
  writeFileSync(join(foreign, 'notes.txt'), 'mine');
  await assert.rejects(runSweep({ base: base(5), vary: { seed: [1] } }, foreign, { inProcess: true }), /not a sweep directory/);
  const dir = join(root, 'changed');
  await runSweep({ base: base(5), vary: { seed: [1] } }, dir, { inProcess: true });
  await assert.rejects(runSweep({ base: { ...base(5), evalEvery: 1 }, vary: { seed: [1] } }, dir, { inProcess: true }), /seed-1: was run with a different config \(evalEvery differs\)/);
});

/** Waits until `check` holds, polling. */
async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function completedCases(dir: string): string[] {
  try {
    const index = JSON.parse(readFileSync(join(dir, 'sweep.json'), 'utf8')) as { cases: { id: string; status: string }[] };
    return index.cases.filter((c) => c.status === 'completed').map((c) => c.id);
  } catch {
    return [];
  }
}

test('2 algorithms × 3 seeds: killed midway, resumed with only the missing cases, plotted as 2 mean curves with bands', async () => {
  const file = join(root, 'compare.yaml');
  writeFileSync(file, stringify({ name: 'compare', base: base(400), vary: { 'algorithm.name': ['d-soba', 'gossip-dsbo'], seed: [1, 2, 3] } }));
  const dir = join(root, 'compare');
  // First invocation, one case at a time, killed once two cases are complete.
  const child = spawn(process.execPath, ['bin/dbo.mjs', 'sweep', file, '--out', dir, '--jobs', '1'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  await until(() => completedCases(dir).length >= 2, 120_000, 'two completed cases');
  child.kill('SIGTERM');
  assert.notEqual(await exited, 0);
  const before = completedCases(dir);
  assert.ok(before.length >= 2 && before.length < 6, `killed midway (${before.length} complete)`);
  assert.match(stderr, /started d-soba_seed-1/);
  const mtimes = new Map(before.map((id) => [id, statSync(join(dir, id, 'metrics.jsonl')).mtimeMs]));

  // Second invocation: runs only what is missing.
  const r = await runMain('sweep', file, '--out', dir, '--quiet');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`ran ${6 - before.length} case\\(s\\), skipped ${before.length} already complete`));
  const index = JSON.parse(readFileSync(join(dir, 'sweep.json'), 'utf8')) as { cases: { id: string; dir: string; status: string; values: Record<string, unknown> }[] };
  assert.deepEqual(
    index.cases.map((c) => [c.id, c.status]),
    ['d-soba', 'gossip-dsbo'].flatMap((a) => [1, 2, 3].map((s) => [`${a}_seed-${s}`, 'completed'])),
  );
  assert.deepEqual(index.cases[4]!.values, { 'algorithm.name': 'gossip-dsbo', seed: 2 });
  for (const [id, t] of mtimes) assert.equal(statSync(join(dir, id, 'metrics.jsonl')).mtimeMs, t, `${id} not rerun`);
  for (const c of index.cases) {
    assert.equal(existsSync(`${join(dir, c.dir)}.partial`), false, 'no partial directory left');
    assert.equal(JSON.parse(readFileSync(join(dir, c.dir, 'summary.json'), 'utf8')).status, 'completed');
  }
  // Nothing left to do on a third invocation.
  const again = await runMain('sweep', file, '--out', dir, '--quiet');
  assert.match(again.stdout, /ran 0 case\(s\), skipped 6 already complete/);

  // The plot: 2 mean curves, 2 bands, labelled by algorithm.
  const p = await runMain('plot', dir, '--out', join(dir, 'plot.svg'));
  assert.equal(p.code, 0, p.stderr);
  assert.match(p.stdout, /2 curve\(s\): d-soba \(mean of 3\); gossip-dsbo \(mean of 3\)/);
  const svg = readFileSync(join(dir, 'plot.svg'), 'utf8');
  const count = (cls: string) => svg.split(`<g class="${cls}`).slice(1).reduce((n, g) => n + (g.slice(0, g.indexOf('</g>')).match(/<path /g)?.length ?? 0), 0);
  assert.equal(count('mark-line role-mark'), 2);
  assert.equal(count('mark-area role-mark'), 2);
});

test('loadSweepSpec: base from a file, relative to the sweep file', () => {
  const sub = join(root, 'specs');
  mkdirSync(sub, { recursive: true });
  writeFileSync(join(sub, 'base.yaml'), stringify({ ...base(), problem: { type: 'quadratic', file: '../quadratic-31.json' } }));
  writeFileSync(join(sub, 'sweep.yaml'), stringify({ base: 'base.yaml', vary: { seed: [1, 2] } }));
  const cases = expandSweep(loadSweepSpec(join(sub, 'sweep.yaml')));
  assert.equal(cases.length, 2);
  assert.equal((cases[0]!.config.problem as { file: string }).file, join(sub, '../quadratic-31.json'));
});
