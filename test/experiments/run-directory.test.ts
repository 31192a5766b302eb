/**
 * Run directories never lose a user's files: `force` replaces only a
 * directory holding dbo's marker; every other kind of path is refused with
 * one line and left exactly as it was. Default names never collide.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { DboError, EnvironmentError } from '../../src/errors.ts';
import { createUniqueFolder, isRunDirectory, RUN_MARKER, RunDirectory } from '../../src/experiments/run-directory.ts';
import { tempDir } from '../helpers.ts';

const root = tempDir('dbo-rundir-test-');
after(() => rmSync(root, { recursive: true, force: true }));

let count = 0;
const fresh = (label: string) => join(root, `${label}-${++count}`);

/** A finished run directory at `dir` holding `extra` beside the marker. */
function finishedRun(dir: string, extra = 'metrics.jsonl'): void {
  const rd = RunDirectory.create(dir, false);
  rd.writeJson(extra, { old: true });
  rd.finish(false);
}

/** Every file under `dir` with its contents, to compare before and after. */
function snapshot(path: string): string {
  if (!existsSync(path)) return '(missing)';
  try {
    return readdirSync(path)
      .sort()
      .map((n) => `${n}=${snapshot(join(path, n))}`)
      .join(';');
  } catch {
    return readFileSync(path, 'utf8');
  }
}

function assertRefused(target: string, force: boolean, message: RegExp, watched: string = target): void {
  const before = snapshot(watched);
  const partial = `${target.replace(/\/+$/, '')}.partial`;
  const hadPartial = existsSync(partial);
  assert.throws(
    () => RunDirectory.create(target, force),
    (e: unknown) => {
      assert.ok(e instanceof DboError, String(e));
      assert.ok(!e.message.includes('\n'), 'one line');
      assert.match(e.message, message);
      return true;
    },
  );
  assert.equal(snapshot(watched), before, `${target}: nothing changed`);
  if (!hadPartial) assert.equal(existsSync(partial), false, `${target}: no .partial created`);
}

test('a new run directory holds the marker and is recognized as a run', () => {
  const dir = fresh('new');
  finishedRun(dir);
  assert.ok(isRunDirectory(dir));
  assert.deepEqual(readdirSync(dir).sort(), [RUN_MARKER, 'metrics.jsonl']);
  const marker = JSON.parse(readFileSync(join(dir, RUN_MARKER), 'utf8'));
  assert.equal(marker.format, 'dbo-run-directory');
  assert.equal(marker.pid, process.pid);
});

test('force refuses a folder with the user’s files, a regular file, a link, the current directory and its parents', () => {
  const folder = fresh('user-folder');
  mkdirSync(join(folder, 'data'), { recursive: true });
  writeFileSync(join(folder, 'config.yaml'), 'seed: 1\n');
  writeFileSync(join(folder, 'data', 'a9a'), '+1 1:1\n');
  assertRefused(folder, true, /is a folder that is not a dbo run directory \(it has no \.dbo-run marker\); --force only replaces previous dbo runs, so nothing was deleted/);

  const file = fresh('user-file');
  writeFileSync(file, 'precious\n');
  assertRefused(file, true, /is a file, not a dbo run directory.*nothing was deleted/);
  assert.equal(readFileSync(file, 'utf8'), 'precious\n');

  const run = fresh('linked-run');
  finishedRun(run);
  const link = fresh('link');
  symlinkSync(run, link);
  assertRefused(link, true, /is a symbolic link, not a dbo run directory/, run);

  for (const path of ['.', './', '..', dirname(process.cwd()), '/']) {
    assert.throws(() => RunDirectory.create(path, true), /refusing to use the current directory or one of its parents/, path);
    assert.throws(() => RunDirectory.create(path, false), /refusing to use the current directory or one of its parents/, path);
  }
  // The same through a relative path that climbs to the cwd's parent.
  const parentViaRoot = relative(process.cwd(), dirname(process.cwd())) || '..';
  assert.throws(() => RunDirectory.create(parentViaRoot, true), /refusing/);
});

test('without force any existing path is refused; with force a previous run is replaced at finish', () => {
  const run = fresh('previous');
  finishedRun(run, 'old.json');
  assertRefused(run, false, /output directory already exists \(choose another --out, or pass --force to replace a previous dbo run\)/);
  assertRefused(`${run}/`, false, /already exists/, run);

  const rd = RunDirectory.create(`${run}/`, true);
  assert.ok(existsSync(join(run, 'old.json')), 'the old run stays until the new one finishes');
  rd.writeJson('new.json', { new: true });
  rd.finish(true);
  assert.deepEqual(readdirSync(run).sort(), [RUN_MARKER, 'new.json']);
  assert.equal(existsSync(`${run}.partial`), false);
});

test('a path that appears during the run is never replaced: the finished run stays in .partial', () => {
  const dir = fresh('appears');
  const rd = RunDirectory.create(dir, false);
  rd.writeJson('metrics.jsonl', {});
  mkdirSync(dir);
  writeFileSync(join(dir, 'user.txt'), 'mine');
  assert.throws(() => rd.finish(true), /appeared while the run was going and is not replaced; the finished run is kept in .*\.partial/);
  rd.discard(); // a no-op after finish
  assert.deepEqual(readdirSync(dir), ['user.txt']);
  assert.ok(existsSync(join(`${dir}.partial`, 'metrics.jsonl')));
});

test('leftover .partial folders: a dead dbo process’s is cleared, a running one’s and a foreign one are refused', () => {
  const marker = (pid: number) => JSON.stringify({ format: 'dbo-run-directory', pid, host: hostname() });
  const dead = fresh('dead');
  mkdirSync(`${dead}.partial`);
  writeFileSync(join(`${dead}.partial`, RUN_MARKER), marker(spawnSync(process.execPath, ['-e', '']).pid!));
  writeFileSync(join(`${dead}.partial`, 'metrics.jsonl'), '{}\n');
  RunDirectory.create(dead, false).discard();
  assert.equal(existsSync(`${dead}.partial`), false);

  const running = fresh('running');
  mkdirSync(`${running}.partial`);
  writeFileSync(join(`${running}.partial`, RUN_MARKER), marker(process.ppid));
  assertRefused(running, true, /another dbo run into .* is in progress/, `${running}.partial`);

  const foreign = fresh('foreign');
  mkdirSync(`${foreign}.partial`);
  writeFileSync(join(`${foreign}.partial`, 'notes.txt'), 'mine');
  assertRefused(foreign, true, /exists and is not a leftover of a dbo run, so nothing was deleted/, `${foreign}.partial`);
});

test('default names never collide: unique run directories and folders get -2, -3 suffixes', () => {
  const base = join(fresh('default'), 'd-soba-20260101-120000');
  const a = RunDirectory.createUnique(base);
  const b = RunDirectory.createUnique(base); // same second, first still running
  assert.equal(a.dir, base);
  assert.equal(b.dir, `${base}-2`);
  a.finish(false);
  const c = RunDirectory.createUnique(base); // first finished, second running
  assert.equal(c.dir, `${base}-3`);
  b.discard();
  c.discard();

  const demo = join(fresh('demo'), 'demo-20260101-120000');
  assert.equal(createUniqueFolder(demo), demo);
  assert.equal(createUniqueFolder(demo), `${demo}-2`);
  assert.equal(createUniqueFolder(`${demo}/`), `${demo}-3`);
});

test('environment errors name the path in one line: a file where a folder should be', () => {
  const file = fresh('plain-file');
  writeFileSync(file, 'x');
  assert.throws(
    () => RunDirectory.create(join(file, 'run'), false),
    (e: unknown) => e instanceof EnvironmentError && e.code === 'ENOTDIR' && e.message.startsWith(`${file}: is a file, not a folder`) && /\(ENOTDIR\)$/.test(e.message),
  );
  assert.equal(readFileSync(file, 'utf8'), 'x');
});
