/**
 * Local multi-process runs over libp2p (one OS process per agent on
 * 127.0.0.1, neighbours only): the same metrics rows as the simulator, bit
 * for bit apart from the measured columns (elapsedMs, wireBytes), and the
 * wire bytes measured on the sockets. Skips when 127.0.0.1 cannot be used.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolveConfig } from '../../src/experiments/config.ts';
import { execute, prepareRun } from '../../src/experiments/runner.ts';
import { Libp2pRuntime } from '../../src/runtime/libp2p/runtime.ts';
import { tempDir, writeQuadratic } from '../helpers.ts';

const root = tempDir('dbo-libp2p-test-');
after(() => rmSync(root, { recursive: true, force: true }));

async function loopbackUsable(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(0, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}
const skip = (await loopbackUsable()) ? false : 'cannot listen on 127.0.0.1';

const strip = (rows: ReadonlyArray<object>) => rows.map((row) => ({ ...row, elapsedMs: 0, wireBytes: 0 }));

// The four algorithms of the done-when list: two of class G (one with STORM estimators and gradient tracking), two of class P (one with stochastic Neumann hypergradients).
const CASES = [
  ['d-soba', 'global'],
  ['cd-bsvrgd', 'global'],
  ['interact', 'personalized'],
  ['gt-dsgd', 'personalized'],
] as const;

for (const [name, problemClass] of CASES) {
  test(`${name} on 4 processes over libp2p gives the simulator's metrics rows bit for bit`, { skip, timeout: 120_000 }, async () => {
    const file = writeQuadratic(root, { agents: 4, dx: 3, dy: 4, problemClass, heterogeneity: 0.3, noise: 0.1 }, 5);
    const config = resolveConfig({ seed: 4, iterations: 12, evalEvery: 4, problem: { type: 'quadratic', file, batch: 2 }, topology: { type: 'ring', agents: 4 }, algorithm: { name } });
    const reference = await execute(prepareRun(config));
    const progress: number[] = [];
    const p2p = await execute(prepareRun(config), { progress: (t) => progress.push(t) }, (run) => Libp2pRuntime.create(run, { log: () => {} }));
    assert.equal(p2p.status, 'completed');
    assert.equal(p2p.rows.length, 4);
    assert.deepEqual(strip(p2p.rows), strip(reference.rows), name);
    assert.ok(reference.rows.at(-1)!.rounds >= 12, 'the agents communicated every iteration');
    assert.equal(progress.at(-1), 12, 'progress reported up to the last iteration');
    const last = p2p.rows.at(-1)!;
    assert.equal(reference.rows.at(-1)!.wireBytes, 0, 'the simulator has no sockets');
    assert.ok(last.wireBytes > last.bytes, `wireBytes ${last.wireBytes} counts framing and encryption on top of ${last.bytes} payload bytes`);
  });
}
