/** Run provenance (summary.json `provenance`) and rerunning a run's config.resolved.json. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { loadConfig } from '../../src/experiments/config.ts';
import { runToDirectory } from '../../src/experiments/run-to-directory.ts';
import { tempDir, writeQuadratic } from '../helpers.ts';

const root = tempDir('dbo-provenance-test-');
const instance = writeQuadratic(root, { agents: 4, dx: 2, dy: 3, problemClass: 'global', heterogeneity: 0.3 }, 3);
// A config beside its instance, naming it by a relative path, loaded by a path relative to the working folder.
writeFileSync(
  join(root, 'cfg.yaml'),
  ['seed: 2', 'iterations: 23', 'evalEvery: 5', `problem: {type: quadratic, file: ${relative(root, instance)}}`, 'topology: {type: ring, agents: 4}', 'algorithm: {name: d-soba}', ''].join('\n'),
);
const configPath = relative(process.cwd(), join(root, 'cfg.yaml'));

const readJson = (path: string): Record<string, unknown> => JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
const rowsOf = (dir: string) =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => {
      const { elapsedMs: _e, wireBytes: _w, ...rest } = JSON.parse(l) as Record<string, unknown>;
      return rest;
    });

test('summary.json records the dbo version, git commit, Node version and the SHA-256 of the instance file', async () => {
  const dir = join(root, 'prov');
  await runToDirectory(loadConfig(configPath), dir);
  const p = readJson(join(dir, 'summary.json')).provenance as { dbo: string; commit: string | null; node: string; inputs: Array<{ path: string; sha256: string }> };
  assert.equal(p.dbo, (readJson('package.json') as { version: string }).version);
  assert.equal(p.node, process.version);
  assert.ok(p.commit === null || /^[0-9a-f]{40}$/.test(p.commit), `commit ${p.commit}`);
  assert.deepEqual(p.inputs, [{ path: instance, sha256: createHash('sha256').update(readFileSync(instance)).digest('hex') }]);
});

test('dbo run DIR/config.resolved.json reproduces the run: same rows (elapsedMs/wireBytes aside)', async () => {
  const first = join(root, 'first');
  await runToDirectory(loadConfig(configPath), first);
  const resolvedPath = relative(process.cwd(), join(first, 'config.resolved.json'));
  assert.equal((readJson(resolvedPath).problem as { file: string }).file, instance, 'the instance path is stored absolute');
  const again = join(root, 'again');
  await runToDirectory(loadConfig(resolvedPath), again);
  const rows = rowsOf(first);
  assert.equal(rows.length, 6);
  assert.deepEqual(rowsOf(again), rows);
});
