/**
 * Checkpoint and resume through the real command: `dbo run --checkpoint-every`
 * killed with SIGKILL at a random moment and continued by `dbo resume` ends
 * with the uninterrupted run's metrics.jsonl (timing columns aside), on the
 * simulator and on libp2p; SIGTERM stops at an iteration boundary with a
 * checkpoint and says how to resume; bad input to `dbo resume` is one line,
 * exit 2, and deletes nothing.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { resolveConfig } from '../../src/experiments/config.ts';
import { execute, prepareRun } from '../../src/experiments/runner.ts';
import { Rng } from '../../src/random/rng.ts';
import { loopbackUsable } from '../runtime/libp2p/loopback.ts';
import { tempDir, writeQuadratic } from '../helpers.ts';
import { runMain } from '../report/fixtures.ts';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const root = tempDir('dbo-resume-test-');
// The random moments of the kills come from a fixed seed (the iteration reached then depends on the machine's speed).
const rng = new Rng(2026, 'resume-test');

interface Done {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Spawns `dbo ...args`; `until` (polled every 10 ms) may send the child a signal. */
function dbo(args: string[], until?: { rows: string; atLeast: number; delayMs: number; signal: NodeJS.Signals }): Promise<Done> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/dbo.mjs', ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    let timer: NodeJS.Timeout | null = null;
    if (until) {
      timer = setInterval(() => {
        if (rowCount(until.rows) < until.atLeast) return;
        clearInterval(timer!);
        timer = null;
        setTimeout(() => child.kill(until.signal), until.delayMs);
      }, 10);
    }
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer) clearInterval(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

function rowCount(file: string): number {
  try {
    return readFileSync(file, 'utf8').split('\n').length - 1;
  } catch {
    return 0;
  }
}

/** metrics.jsonl rows without the measured columns: elapsed times (…Ms) and, across transports, wireBytes. */
function measuredAside(rows: ReadonlyArray<object>, withoutWire = false): object[] {
  return rows.map((row) => Object.fromEntries(Object.entries(row).filter(([k]) => !k.endsWith('Ms') && !(withoutWire && k === 'wireBytes'))));
}

const readRows = (dir: string) =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as object);

/** The uninterrupted run's rows (in process: every runtime gives the simulator's rows bit for bit), as metrics.jsonl stores them. */
async function reference(config: object): Promise<object[]> {
  const outcome = await execute(prepareRun(resolveConfig(config)));
  assert.equal(outcome.status, 'completed');
  return JSON.parse(JSON.stringify(outcome.rows)) as object[];
}

function writeConfig(name: string, config: object): string {
  const file = join(root, `${name}.yaml`);
  writeFileSync(file, stringify(config));
  return file;
}

const instance5 = writeQuadratic(root, { agents: 5, dx: 4, dy: 4, problemClass: 'global', heterogeneity: 0.5, noise: 0.1 }, 11);
const simConfig = {
  seed: 5,
  iterations: 6000,
  evalEvery: 100,
  problem: { type: 'quadratic', file: instance5, batch: 2 },
  topology: { type: 'ring', agents: 5 },
  algorithm: { name: 'd-soba' },
};

test('simulator: a run killed with SIGKILL at a random moment and resumed ends with the uninterrupted metrics.jsonl', { timeout: 120_000 }, async () => {
  const file = writeConfig('sim', simConfig);
  const out = join(root, 'sim-run');
  const atLeast = 6 + Math.floor(rng.uniform() * 20);
  const killed = await dbo(['run', file, '--out', out, '--quiet', '--threads', '1', '--checkpoint-every', '150'], { rows: `${out}.partial/metrics.jsonl`, atLeast, delayMs: Math.floor(rng.uniform() * 20), signal: 'SIGKILL' });
  assert.equal(killed.signal, 'SIGKILL', `the run was killed before it ended (${killed.stderr})`);
  const cp = JSON.parse(readFileSync(`${out}.partial/checkpoint.json`, 'utf8')) as { run: { iteration: number; rows: number } };
  assert.ok(cp.run.iteration > 0 && cp.run.iteration % 150 === 0 && cp.run.iteration < 6000, `checkpoint at ${cp.run.iteration}`);

  // A new run into the same folder does not throw the checkpoint away.
  const again = await dbo(['run', file, '--out', out, '--quiet']);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /^dbo: error: .*sim-run\.partial: holds the checkpoint of a run that was stopped \(resume it with: dbo resume .*sim-run; or pass --force to discard it\)\n$/);

  const resumed = await dbo(['resume', out, '--quiet']);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stdout, new RegExp(`resuming .*sim-run at iteration ${cp.run.iteration} of 6000`));
  assert.ok(!existsSync(`${out}.partial`) && !existsSync(join(out, 'checkpoint.json')), 'the finished run is in place, without its checkpoint');
  assert.equal(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')).status, 'completed');
  const rows = readRows(out);
  assert.equal(rows.length, 61);
  assert.deepEqual(measuredAside(rows), measuredAside(await reference(simConfig)));
});

test('SIGTERM on worker threads: stops at an iteration boundary, checkpoints, says how to resume (exit 143); the resumed run matches; bad resumes are refused', { timeout: 120_000 }, async () => {
  const file = writeConfig('term', simConfig);
  const out = join(root, 'term-run');
  const stopped = await dbo(['run', file, '--out', out, '--quiet', '--threads', '2'], { rows: `${out}.partial/metrics.jsonl`, atLeast: 3, delayMs: 0, signal: 'SIGTERM' });
  assert.equal(stopped.code, 143, stopped.stderr);
  const m = /dbo: stopped at iteration (\d+); resume with: dbo resume (.*term-run)\n/.exec(stopped.stderr);
  assert.ok(m, stopped.stderr);
  const at = Number(m[1]);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { status: string; iteration: number };
  assert.equal(summary.status, 'interrupted');
  assert.equal(summary.iteration, at);
  const cp = JSON.parse(readFileSync(join(out, 'checkpoint.json'), 'utf8')) as { run: { iteration: number }; launch: object };
  assert.equal(cp.run.iteration, at);
  assert.deepEqual(cp.launch, { transport: 'simulator', threads: 2 });
  assert.ok(existsSync(join(out, '.dbo-run')), 'still a dbo run directory (--force may replace it)');

  // A changed config is refused, and the stopped run stays where it was.
  const copy = join(root, 'term-copy');
  cpSync(out, copy, { recursive: true });
  const configPath = join(copy, 'config.resolved.json');
  writeFileSync(configPath, readFileSync(configPath, 'utf8').replace('"seed": 5', '"seed": 6'));
  const changed = await runMain('resume', copy);
  assert.equal(changed.code, 2);
  assert.match(changed.stderr, /^dbo: error: .*term-copy\.partial\/checkpoint\.json: was written for another config than .*config\.resolved\.json \(the file changed since\); nothing was resumed\n$/);
  assert.ok(existsSync(join(copy, 'checkpoint.json')) && !existsSync(`${copy}.partial`), 'put back untouched');

  const resumed = await dbo(['resume', out, '--quiet']);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.deepEqual(measuredAside(readRows(out)), measuredAside(await reference(simConfig)));

  const ended = await runMain('resume', out);
  assert.equal(ended.code, 2);
  assert.match(ended.stderr, /^dbo: error: .*term-run: the run has ended \(status completed\); there is nothing to resume\n$/);
});

test('dbo resume on a folder that is not a run, a missing one, or a killed run without a checkpoint: one line, exit 2, nothing deleted', { timeout: 60_000 }, async () => {
  const plain = join(root, 'plain');
  mkdirSync(plain);
  writeFileSync(join(plain, 'notes.txt'), 'mine\n');
  const early = join(root, 'early');
  mkdirSync(`${early}.partial`);
  // A marker whose process has ended (no such pid), as a run killed before its first checkpoint leaves.
  writeFileSync(join(`${early}.partial`, '.dbo-run'), JSON.stringify({ format: 'dbo-run-directory', pid: 99_999_999 }));
  const cases: Array<[string, RegExp]> = [
    [plain, /plain: is not a dbo run directory \(it has no \.dbo-run marker\)/],
    [join(root, 'missing'), /missing: no such run directory \(nor .*missing\.partial\)/],
    [early, /early: holds no checkpoint \(the run stopped before its first one\); run it again, with --checkpoint-every N to make it resumable/],
  ];
  for (const [dir, message] of cases) {
    const r = await runMain('resume', dir);
    assert.equal(r.code, 2, dir);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.split('\n').length, 2, r.stderr);
    assert.match(r.stderr, message);
  }
  assert.equal(readFileSync(join(plain, 'notes.txt'), 'utf8'), 'mine\n');
  assert.ok(existsSync(join(`${early}.partial`, '.dbo-run')));
});

const skipLibp2p = (await loopbackUsable()) ? false : 'cannot listen on 127.0.0.1';

test('libp2p (4 agent processes): killed with SIGKILL at a random moment and resumed, the run ends with the uninterrupted metrics.jsonl', { skip: skipLibp2p, timeout: 180_000 }, async () => {
  const instance4 = writeQuadratic(root, { agents: 4, dx: 3, dy: 3, problemClass: 'global', heterogeneity: 0.3, noise: 0.1 }, 12);
  const config = { seed: 8, iterations: 120, evalEvery: 10, problem: { type: 'quadratic', file: instance4, batch: 2 }, topology: { type: 'ring', agents: 4 }, algorithm: { name: 'd-soba' } };
  const file = writeConfig('p2p', config);
  const out = join(root, 'p2p-run');
  const atLeast = 3 + Math.floor(rng.uniform() * 6);
  const killed = await dbo(['run', file, '--out', out, '--quiet', '--transport', 'libp2p', '--checkpoint-every', '10'], { rows: `${out}.partial/metrics.jsonl`, atLeast, delayMs: Math.floor(rng.uniform() * 30), signal: 'SIGKILL' });
  assert.equal(killed.signal, 'SIGKILL', `the run was killed before it ended (${killed.stderr})`);
  const resumed = await dbo(['resume', out, '--quiet']);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stdout, /resuming .*p2p-run at iteration \d+ of 120 \(libp2p\)/);
  const rows = readRows(out) as Array<{ wireBytes: number; bytes: number }>;
  assert.equal(rows.length, 13);
  // wireBytes is measured on the sockets (the resumed agents' handshakes included), like elapsed time.
  assert.deepEqual(measuredAside(rows, true), measuredAside(await reference(config), true));
  assert.ok(rows.at(-1)!.wireBytes > rows.at(-1)!.bytes);
});
