/** `dbo reproduce --list` and the command's errors, through main() in process. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { main } from '../../src/cli/main.ts';
import { PRESETS } from '../../src/experiments/reproduce/registry.ts';

async function capture(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  const write = process.stderr.write.bind(process.stderr);
  console.log = (...a: unknown[]) => void out.push(a.join(' '));
  console.error = (...a: unknown[]) => void err.push(a.join(' '));
  process.stderr.write = ((s: string) => (err.push(String(s)), true)) as typeof process.stderr.write;
  try {
    const code = await main(['node', 'dbo', ...argv]);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    console.log = log;
    console.error = error;
    process.stderr.write = write;
  }
}

test('dbo reproduce --list shows the 15 experiments E0-1 … E4-2, each with its estimated cost', async () => {
  const { code, out } = await capture(['reproduce', '--list']);
  assert.equal(code, 0);
  const ids = ['e0-1', 'e0-2', 'e0-3', 'e1-2', 'e1-3', 'e1-4', 'e1-5', 'e2-1', 'e2-2', 'e2-3', 'e3-1', 'e3-2', 'e3-3', 'e4-1', 'e4-2'];
  assert.deepEqual(PRESETS.map((p) => p.id), ids);
  const listed = out.split('\n').filter((l) => /^e\d-\d /.test(l)).map((l) => l.split(' ')[0]);
  assert.deepEqual(listed, ids);
  assert.equal(out.split('\n').filter((l) => /^ {6}cost: .+; --quick: .+/.test(l)).length, 15);
});

test('dbo reproduce: an unknown experiment or a bad --seeds is one error line, exit 2', async () => {
  const unknown = await capture(['reproduce', 'e9-9']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /experiment: unknown experiment 'e9-9' \(known: e0-1, .*e4-2/);
  const seeds = await capture(['reproduce', 'e3-1', '--seeds', '0']);
  assert.equal(seeds.code, 2);
  assert.match(seeds.err, /--seeds: expected a positive integer, got '0'/);
  const none = await capture(['reproduce']);
  assert.equal(none.code, 2);
  assert.match(none.err, /expected an experiment ID or --list/);
});
