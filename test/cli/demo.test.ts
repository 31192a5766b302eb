/**
 * `dbo demo` output handling. Every refusal happens before the first run
 * starts (both run directories are checked up front), so these cases cost
 * nothing; the clearing of a leftover `.partial` of an interrupted demo is the
 * run directory's (test/experiments/run-directory.test.ts).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RUN_MARKER } from '../../src/experiments/run-directory.ts';
import { runMain } from '../cli-run.ts';
import { tempDir } from '../helpers.ts';

const root = tempDir('dbo-demo-test-');
after(() => rmSync(root, { recursive: true, force: true }));

async function dbo(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = await runMain(...args);
  return { code: r.code, out: r.stdout.replace(/\n$/, ''), err: r.stderr.replace(/\n$/, '') };
}

test('dbo demo into a previous demo: refused up front without --force, and --force never replaces a user folder', async () => {
  const out = join(root, 'demo');
  mkdirSync(join(out, 'path'), { recursive: true });
  writeFileSync(join(out, 'path', RUN_MARKER), JSON.stringify({ format: 'dbo-run-directory' }));
  mkdirSync(join(out, 'complete'));
  writeFileSync(join(out, 'complete', 'notes.txt'), 'mine');

  const plain = await dbo('demo', '--out', out, '--quiet');
  assert.equal(plain.code, 2);
  assert.equal(plain.err, `dbo: error: ${join(out, 'path')}: output directory already exists (choose another --out, or pass --force to replace a previous dbo run)`);
  assert.equal(plain.out, '', 'nothing ran');

  const forced = await dbo('demo', '--out', out, '--quiet', '--force');
  assert.equal(forced.code, 2);
  assert.match(forced.err, new RegExp(`^dbo: error: ${join(out, 'complete').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: is a folder that is not a dbo run directory`));
  assert.deepEqual(readdirSync(join(out, 'complete')), ['notes.txt']);
  assert.ok(existsSync(join(out, 'path', RUN_MARKER)), 'the previous run is untouched too');
  assert.deepEqual(readdirSync(out).sort(), ['complete', 'path'], 'no .partial left');
});
