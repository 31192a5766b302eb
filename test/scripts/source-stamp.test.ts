import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
// @ts-expect-error plain JavaScript module without type declarations
import { buildIsFresh, sourceStamp } from '../../scripts/source-stamp.mjs';
import { tempDir } from '../helpers.ts';

const root = tempDir('dbo-stamp-test-');
after(() => rmSync(root, { recursive: true, force: true }));

test('a build runs only while it matches the sources: edits, added and removed files make it stale', () => {
  mkdirSync(join(root, 'src', 'cli'), { recursive: true });
  writeFileSync(join(root, 'src', 'a.ts'), 'export const a = 1;\n');
  writeFileSync(join(root, 'src', 'cli', 'b.ts'), 'export const b = 2;\n');
  const past = new Date(Date.now() - 60_000);
  utimesSync(join(root, 'src', 'a.ts'), past, past);
  utimesSync(join(root, 'src', 'cli', 'b.ts'), past, past);
  assert.equal(buildIsFresh(root), false, 'no dist/');
  mkdirSync(join(root, 'dist'));
  const stamp = sourceStamp(join(root, 'src'));
  assert.equal(stamp.files, 2);
  writeFileSync(join(root, 'dist', 'build-stamp.json'), JSON.stringify(stamp));
  assert.equal(buildIsFresh(root), true);
  // A source edited after the build.
  writeFileSync(join(root, 'src', 'a.ts'), 'export const a = 3;\n');
  assert.equal(buildIsFresh(root), false, 'edited source');
  utimesSync(join(root, 'src', 'a.ts'), past, past);
  assert.equal(buildIsFresh(root), true);
  // A file added, even with an old modification time; then removed.
  writeFileSync(join(root, 'src', 'c.ts'), '');
  utimesSync(join(root, 'src', 'c.ts'), past, past);
  assert.equal(buildIsFresh(root), false, 'added file');
  rmSync(join(root, 'src', 'c.ts'));
  rmSync(join(root, 'src', 'a.ts'));
  assert.equal(buildIsFresh(root), false, 'removed file');
  // An installed package has dist/ only.
  rmSync(join(root, 'src'), { recursive: true });
  assert.equal(buildIsFresh(root), true);
});
