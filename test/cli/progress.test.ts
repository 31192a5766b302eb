/** Progress output: iteration, rate and ETA; plain lines when piped, at most one per interval, and a final line. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { formatDuration, progressLine, progressReporter } from '../../src/cli/progress.ts';

test('progressLine: iteration, percentage, rate and ETA', () => {
  assert.equal(progressLine('', 50, 200, 0, 10_000, null), 'progress 50/200 it (25%) · 5.0 it/s · ETA 30 s');
  assert.equal(progressLine('sweep ', 200, 200, 0, 4_000, null), 'progress sweep 200/200 it (100%) · 50.0 it/s · ETA 0 s');
  assert.equal(formatDuration(125), '2 min 5 s');
  assert.equal(formatDuration(7300), '2 h 2 min');
});

test('piped: first update prints, then nothing until the interval passes, final line on stop', async () => {
  const lines: string[] = [];
  const stream = new Writable({ write: (chunk, _enc, done) => (lines.push(...String(chunk).split('\n').filter(Boolean)), done()) });
  const p = progressReporter(100, 'run ', { stream, tty: false, intervalMs: 1000 });
  p.update(1, 100, null);
  for (let i = 2; i <= 50; i++) p.update(i, 100, null);
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /^progress run 1\/100 it \(1%\)/);
  await new Promise((r) => setTimeout(r, 1100));
  assert.equal(lines.length, 2, 'the timer printed a line while idle');
  assert.match(lines[1]!, /^progress run 50\/100 it \(50%\) · .* it\/s · ETA /);
  p.update(100, 100, null);
  p.stop();
  assert.match(lines.at(-1)!, /^progress run 100\/100 it \(100%\) .* ETA 0 s$/);
});
