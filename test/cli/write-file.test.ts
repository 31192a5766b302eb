/**
 * `dbo quadratic --out FILE` never overwrites without --force, never writes
 * over a folder, and reports a missing folder as one line with exit 2.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeNewFile } from '../../src/cli/write-file.ts';
import { DboError, EnvironmentError } from '../../src/errors.ts';
import { runMain } from '../cli-run.ts';
import { tempDir } from '../helpers.ts';

const root = tempDir('dbo-write-test-');
after(() => rmSync(root, { recursive: true, force: true }));

async function dbo(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = await runMain(...args);
  return { code: r.code, out: r.stdout.replace(/\n$/, ''), err: r.stderr.replace(/\n$/, '') };
}

test('writeNewFile: creates, refuses an existing file without force, overwrites with it, never a folder', () => {
  const file = join(root, 'a.json');
  writeNewFile(file, 'one\n', false);
  assert.equal(readFileSync(file, 'utf8'), 'one\n');
  assert.throws(() => writeNewFile(file, 'two\n', false), (e: unknown) => e instanceof DboError && /a\.json: file already exists \(choose another --out, or pass --force to overwrite it\)$/.test(e.message));
  assert.equal(readFileSync(file, 'utf8'), 'one\n');
  writeNewFile(file, 'three\n', true);
  assert.equal(readFileSync(file, 'utf8'), 'three\n');
  const folder = join(root, 'folder');
  mkdirSync(folder);
  writeFileSync(join(folder, 'keep.txt'), 'x');
  assert.throws(() => writeNewFile(folder, 'x', true), /folder: exists and is not a regular file/);
  assert.deepEqual(readdirSync(folder), ['keep.txt']);
  assert.throws(
    () => writeNewFile(join(root, 'missing', 'x.json'), 'x', false),
    (e: unknown) => e instanceof EnvironmentError && e.code === 'ENOENT' && e.message === `${join(root, 'missing', 'x.json')}: cannot open: no such file or folder (ENOENT)`,
  );
  assert.deepEqual(readdirSync(root).sort(), ['a.json', 'folder'], 'no temporary file left behind');
});

test('dbo quadratic: an existing --out is refused without --force (exit 2, file unchanged) and replaced with it', async () => {
  const file = join(root, 'inst.json');
  const first = await dbo('quadratic', '--out', file, '--agents', '3', '--dx', '2', '--dy', '2');
  assert.equal(first.code, 0, first.err);
  const before = readFileSync(file, 'utf8');
  const again = await dbo('quadratic', '--out', file, '--agents', '4', '--dx', '2', '--dy', '2');
  assert.equal(again.code, 2);
  assert.equal(again.err, `dbo: error: ${file}: file already exists (choose another --out, or pass --force to overwrite it)`);
  assert.equal(readFileSync(file, 'utf8'), before);
  const forced = await dbo('quadratic', '--out', file, '--agents', '4', '--dx', '2', '--dy', '2', '--force');
  assert.equal(forced.code, 0, forced.err);
  assert.equal(JSON.parse(readFileSync(file, 'utf8')).agents.length, 4);
});

test('dbo quadratic into a missing folder: one line naming the path, exit 2', async () => {
  const target = join(root, 'no-such-folder', 'x.json');
  const r = await dbo('quadratic', '--out', target);
  assert.equal(r.code, 2);
  assert.equal(r.err, `dbo: error: ${target}: cannot open: no such file or folder (ENOENT)`);
  assert.equal(existsSync(join(root, 'no-such-folder')), false);
});
