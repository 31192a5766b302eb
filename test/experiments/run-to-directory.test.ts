/**
 * Run directories that stop and resume (in process): a traced run stopped on
 * request becomes an 'interrupted' run directory with its checkpoint;
 * resuming it drops the rows written after the checkpoint and ends with the
 * uninterrupted run's metrics.jsonl and trace.jsonl; a damaged checkpoint is
 * refused with one line naming the file, and the stopped run is left as it was.
 */
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { resolveConfig } from '../../src/experiments/config.ts';
import { resumeRun, runToDirectory } from '../../src/experiments/run-to-directory.ts';
import { tempDir, writeQuadratic } from '../helpers.ts';

const root = tempDir('dbo-run-to-directory-test-');
const instance = writeQuadratic(root, { agents: 4, dx: 3, dy: 3, problemClass: 'global', heterogeneity: 0.4, noise: 0.1 }, 3);
const config = resolveConfig({
  seed: 7,
  iterations: 40,
  evalEvery: 10,
  problem: { type: 'quadratic', file: instance, batch: 2 },
  topology: { type: 'ring', agents: 4 },
  algorithm: { name: 'mdbo' },
  output: { trace: true },
});

const lines = (dir: string, name: string) => readFileSync(join(dir, name), 'utf8').trim().split('\n');
const withoutTime = (dir: string) => lines(dir, 'metrics.jsonl').map((l) => JSON.stringify({ ...(JSON.parse(l) as object), elapsedMs: 0 }));

test('a traced run stopped on request is resumed to the uninterrupted metrics.jsonl and trace.jsonl, rows written after the checkpoint dropped', async () => {
  const straight = await runToDirectory(config, join(root, 'straight'));
  assert.equal(straight.status, 'completed');

  const dir = join(root, 'stopped');
  let seen = 0;
  const stopped = await runToDirectory(config, dir, { checkpointEvery: 4, progress: (i) => (seen = i), stopRequested: () => seen >= 13 });
  assert.equal(stopped.status, 'interrupted');
  assert.equal(stopped.iteration, 13);
  const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as { status: string; iteration: number; resume: string };
  assert.deepEqual([summary.status, summary.iteration, summary.resume], ['interrupted', 13, `dbo resume ${dir}`]);
  assert.equal(lines(dir, 'trace.jsonl').length, 14, 'iterations 0…13 traced');
  // As if the process had gone on writing before it was killed: these rows are not the checkpoint's.
  appendFileSync(join(dir, 'metrics.jsonl'), `${lines(straight.dir, 'metrics.jsonl')[2]}\n{"iteration": 2`);
  appendFileSync(join(dir, 'trace.jsonl'), `${lines(straight.dir, 'trace.jsonl')[14]}\n`);

  let started: { iteration: number } | null = null;
  const resumed = await resumeRun(dir, { onStart: (info) => (started = info) });
  assert.equal(resumed.status, 'completed');
  assert.deepEqual(started!.iteration, 13);
  assert.deepEqual(withoutTime(dir), withoutTime(straight.dir));
  assert.deepEqual(lines(dir, 'trace.jsonl'), lines(straight.dir, 'trace.jsonl'));
  assert.ok(!existsSync(join(dir, 'checkpoint.json')));
  assert.equal(JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')).status, 'completed');
});

test('a damaged checkpoint is refused with one line naming it; the stopped run stays in place', async () => {
  const dir = join(root, 'damaged');
  const stopped = await runToDirectory(config, dir, { stopRequested: () => true });
  assert.equal(stopped.status, 'interrupted');
  assert.equal(stopped.iteration, 0);
  const cpPath = join(dir, 'checkpoint.json');
  const good = readFileSync(cpPath, 'utf8');
  writeFileSync(cpPath, good.slice(0, good.length / 2));
  await assert.rejects(resumeRun(dir), (e: Error) => /damaged\/checkpoint\.json\.?: is not valid JSON/.test(e.message.replace('.partial', '')) && !e.message.includes('\n'));
  writeFileSync(cpPath, good.replace('"dbo-checkpoint"', '"other"'));
  await assert.rejects(resumeRun(dir), /checkpoint\.json: is not a dbo checkpoint \(expected "format": "dbo-checkpoint"\)/);
  assert.ok(existsSync(join(dir, 'summary.json')) && !existsSync(`${dir}.partial`), 'left as it was');
  writeFileSync(cpPath, good);
  const resumed = await resumeRun(dir);
  assert.equal(resumed.status, 'completed');
  assert.equal(resumed.rows.length, 5);
});
