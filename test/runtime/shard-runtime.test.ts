/**
 * `dbo gather`'s replay of agent shards, without a network: shards written
 * from a simulator run (per-agent iterates, oracle counts and communication
 * totals at the recorded iterations) gathered into a run directory give the
 * simulator's rows bit for bit (elapsedMs aside) — for a run that completes,
 * one that traces every iteration, and one that diverges with non-finite
 * iterates (NaN and ±Infinity survive the shard format). An agent that
 * stopped early counts up to its last record and later rows are over the
 * survivors; inconsistent shard sets are refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveConfig, type RunConfig } from '../../src/experiments/config.ts';
import { runToDirectory } from '../../src/experiments/run-to-directory.ts';
import { prepareRun, runConfig } from '../../src/experiments/runner.ts';
import { main } from '../../src/cli/main.ts';
import { DboError } from '../../src/errors.ts';
import { InProcessRuntime } from '../../src/runtime/in-process.ts';
import { findShards, recordedIterations, ShardWriter } from '../../src/runtime/shard.ts';
import { checkShards, ShardRuntime } from '../../src/runtime/shard-runtime.ts';
import { emptyCommCounters } from '../../src/runtime/types.ts';
import { tempDir, writeQuadratic } from '../helpers.ts';

const root = tempDir('dbo-shards-');
const m = 4;
const instance = writeQuadratic(root, { agents: m, dx: 3, dy: 3, problemClass: 'global', heterogeneity: 0.5, noise: 0.1 }, 11);
let serial = 0;

/**
 * Shards as m standalone agents would write them, from a simulator run of `config`.
 * `early`: agents that stop recording after iteration `after` (left unclosed, as a killed agent leaves its shard, or closed as failed), optionally skipping iteration `skip`.
 */
async function writeShards(config: RunConfig, early: ReadonlyArray<{ agent: number; after: number; how: 'killed' | 'failed'; skip?: number }> = []): Promise<string> {
  const dir = join(root, `shards-${++serial}`);
  const rt = new InProcessRuntime(prepareRun(config));
  const writers = Array.from({ length: m }, (_, i) => ShardWriter.create(dir, i, m, `peer-${i}`, config));
  let t = 0;
  let nonFinite: { iteration: number; message: string } | null = null;
  const record = async (computeMs: number) => {
    const views = await rt.snapshot();
    writers.forEach((w, i) => {
      const e = early.find((x) => x.agent === i);
      if (e && (t > e.after || t === e.skip)) return;
      // Agent 0 carries the network's communication totals; counters add up over shards.
      const comm = i === 0 ? { ...rt.simulator.counters } : { ...emptyCommCounters(), rounds: rt.simulator.counters.rounds };
      w.record({ iteration: t, computeMs, view: views[i]!, comm, oracle: structuredClone(rt.group.agents[i]!.oracle.counts) });
    });
  };
  await record(0);
  for (const next of recordedIterations(config).slice(1)) {
    // Like a standalone agent, keep stepping after a non-finite iterate (NaN and ±Infinity go into the shard).
    let computeMs = 0;
    while (t < next) {
      const r = await rt.advance(next);
      t = r.iteration;
      computeMs += r.computeMs;
      if (r.nonFinite && !nonFinite) nonFinite = { iteration: r.iteration, message: r.nonFinite };
    }
    await record(computeMs);
  }
  writers.forEach((w, i) => {
    const e = early.find((x) => x.agent === i);
    if (!e) w.finish('completed', t, nonFinite);
    else if (e.how === 'failed') w.finish('failed', e.after, null, 'stopped by SIGTERM');
  });
  return dir;
}

async function gather(dir: string): Promise<{ rows: Record<string, unknown>[]; summary: Record<string, unknown> }> {
  const shards = checkShards(findShards([dir]));
  const out = join(root, `run-${++serial}`);
  await runToDirectory(shards[0]!.config, out, { runtime: () => new ShardRuntime(shards) });
  const rows = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  return { rows, summary: JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) };
}

/** As written to disk: non-finite numbers become the strings "NaN", "Infinity", "-Infinity". */
const asWritten = (v: unknown) => JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === 'number' && !Number.isFinite(x) ? String(x) : x)));
const strip = (rows: ReadonlyArray<object>) => asWritten(rows.map((r) => ({ ...r, elapsedMs: 0 })));

function config(extra: Record<string, unknown>): RunConfig {
  return resolveConfig({ seed: 2, iterations: 13, evalEvery: 4, problem: { type: 'quadratic', file: instance, batch: 2 }, topology: { type: 'ring', agents: m }, algorithm: { name: 'd-soba' }, ...extra });
}

for (const [name, extra] of [
  ['a completed run', {}],
  ['a traced run (every iteration recorded)', { output: { trace: true } }],
  ['a run whose iterates turn non-finite', { algorithm: { name: 'd-soba', alpha: 1e30, beta: 1e30, gamma: 1e30 }, divergence: { enabled: false } }],
] as const) {
  test(`gathered shards of ${name} give the simulator's rows`, async () => {
    const cfg = config(extra);
    const reference = await runConfig(cfg);
    const dir = await writeShards(cfg);
    const { rows, summary } = await gather(dir);
    assert.deepEqual(strip(rows), strip(reference.rows), name);
    assert.equal(summary.status, reference.status);
    if (name.includes('non-finite')) {
      assert.equal(reference.status, 'diverged', 'the case does diverge');
      assert.match(String(summary.message), /non-finite/);
      assert.deepEqual(summary.divergence, asWritten(reference.divergence));
      const last = findShards([dir])[0]!.records.get(13)!;
      assert.ok(!Number.isFinite(last.view.y[0]!), 'non-finite iterates round-trip through the shard');
      assert.equal(await main(['node', 'dbo', 'gather', dir, '--out', join(root, `cli-${++serial}`)]), 3, 'dbo gather exits 3 on a diverged run, as dbo run does');
    }
  });
}

test('inconsistent shard sets are refused with one line', async () => {
  const a = await writeShards(config({}));
  const b = await writeShards(config({ seed: 3 }));
  const shards = findShards([a]);
  assert.throws(() => checkShards(shards.slice(1)), (e: unknown) => e instanceof DboError && /no shard for agent 0/.test(e.message));
  assert.throws(() => checkShards([...shards, shards[2]!]), (e: unknown) => e instanceof DboError && /agent 2 is also in/.test(e.message));
  assert.throws(() => checkShards([...shards.slice(0, 3), findShards([b])[3]!]), (e: unknown) => e instanceof DboError && /differs from/.test(e.message));
  assert.throws(() => findShards([join(root, 'nowhere')]), DboError);
  assert.throws(() => ShardWriter.create(a, 1, m, 'p', config({})), (e: unknown) => e instanceof DboError && /never overwritten/.test(e.message));
});

test('an agent that stopped early (killed: shard never closed; or failed) counts up to its last record, later rows are over the survivors', async () => {
  for (const how of ['killed', 'failed'] as const) {
    const cfg = config({});
    const dir = await writeShards(cfg, [{ agent: 3, after: 4, how }]);
    const shards = checkShards(findShards([dir]));
    assert.equal(shards[3]!.partial, how === 'killed', 'a killed agent leaves agent-3.partial/, its shard.json saying running');
    const out = join(root, `run-${++serial}`);
    const replay = new ShardRuntime(shards);
    await runToDirectory(cfg, out, { runtime: () => replay });
    const rows = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
    assert.deepEqual(rows.map((r) => [r.iteration, r.agents]), [[0, undefined], [4, undefined], [8, 3], [12, 3], [13, 3]], how);
    // Counters keep what agent 3 recorded at iteration 4.
    const at = (i: number, t: number) => shards[i]!.records.get(t)!.oracle.calls.gradF;
    assert.equal(rows.at(-1)!.gradF, at(0, 13) + at(1, 13) + at(2, 13) + at(3, 4));
    assert.ok(rows.every((r) => Number.isFinite(r.upperLoss)));
    const events = readFileSync(join(out, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(
      events.map((e) => [e.event, e.iteration, e.agent ?? e.agents]),
      [...(how === 'failed' ? [['failed', 4, 3]] : []), ['agent-exited', 4, 3], ['survivors', 8, [0, 1, 2]], ['finished', 13, 0], ['finished', 13, 1], ['finished', 13, 2]],
      'the agents\' lines and the coordinator\'s rows, by iteration then agent',
    );
    assert.equal(events.find((e) => e.event === 'agent-exited')!.how, how === 'killed' ? 'ended without closing its shard (killed)' : 'failed: stopped by SIGTERM');
  }
});

test('shard sets with an early stop that are inconsistent otherwise are refused with one line', async () => {
  const cfg = config({});
  const gap = await writeShards(cfg, [{ agent: 1, after: 8, how: 'killed', skip: 4 }]);
  assert.throws(() => checkShards(findShards([gap])), (e: unknown) => e instanceof DboError && /agent 1 recorded iteration 8 but not 4/.test(e.message));
  const all = await writeShards(cfg, [0, 1, 2, 3].map((agent) => ({ agent, after: 4, how: 'killed' as const })));
  assert.throws(() => checkShards(findShards([all])), (e: unknown) => e instanceof DboError && /^every agent stopped early \(agent 0 after iteration 4/.test(e.message));
  const missing = await writeShards(cfg, [{ agent: 2, after: 4, how: 'killed' }]);
  assert.throws(() => checkShards(findShards([missing]).filter((s) => s.meta.agent !== 0)), (e: unknown) => e instanceof DboError && /no shard for agent 0/.test(e.message));
});

test('ShardWriter.reopen (dbo agent --resume) continues a killed or failed shard, drops what came after the checkpoint, and refuses anything else', async () => {
  const cfg = config({});
  const killed = await writeShards(cfg, [{ agent: 1, after: 8, how: 'killed' }, { agent: 2, after: 8, how: 'failed' }]);
  const refuses = (f: () => unknown, message: RegExp) => assert.throws(f, (e: unknown) => e instanceof DboError && message.test(e.message));
  refuses(() => ShardWriter.reopen(killed, 0, m, 'peer-0', cfg), /agent 0 completed the run; there is nothing to resume/);
  refuses(() => ShardWriter.reopen(join(root, 'nowhere'), 1, m, 'peer-1', cfg), /holds no shard of agent 1 to resume/);
  refuses(() => ShardWriter.reopen(killed, 1, m, 'peer-9', cfg), /written by peer peer-1, not by this key's peer-9/);
  refuses(() => ShardWriter.reopen(killed, 1, m, 'peer-1', config({ seed: 9 })), /differs from the config given/);
  refuses(() => ShardWriter.reopen(killed, 2, m, 'peer-2', config({ seed: 9 })), /differs from the config given/);
  assert.ok(existsSync(join(killed, 'agent-2')), 'a refused resume leaves a failed shard where it was');
  for (const agent of [1, 2]) {
    const w = ShardWriter.reopen(killed, agent, m, `peer-${agent}`, cfg);
    assert.ok(existsSync(join(killed, `agent-${agent}.partial`)) && !existsSync(join(killed, `agent-${agent}`)));
    w.viewEvent({ event: 'weights', iteration: 6, agent, round: 5, neighbours: [], weights: [], self: 1 });
    w.viewEvent({ event: 'reset', iteration: 2, agent, round: 2, hook: true });
    w.truncateAfter(4);
    w.finish('completed', 13, null);
    const shard = findShards([join(killed, `agent-${agent}`)])[0]!;
    assert.deepEqual([...shard.records.keys()], [0, 4], 'iterates after the checkpoint dropped');
    assert.deepEqual(shard.events.filter((e) => e.event === 'weights' || e.event === 'reset').map((e) => e.event), ['reset'], 'view rows after it too');
    assert.equal(shard.meta.status, 'completed');
  }
});
