/**
 * The experiment runner and its run directories, in process: small quadratic
 * instances (5 agents, d_x = 3, d_y = 4) over a ring, a few dozen iterations.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { getAlgorithm } from '../../src/algorithms/registry.ts';
import { DboError } from '../../src/errors.ts';
import { resolveConfig, type RunConfig } from '../../src/experiments/config.ts';
import { runToDirectory } from '../../src/experiments/run-to-directory.ts';
import { prepareRun, runConfig, type MetricsRow, type TraceRow } from '../../src/experiments/runner.ts';
import { tempDir, writeQuadratic } from '../helpers.ts';

const M = 5;
const DX = 3;
const DY = 4;
const root = tempDir('dbo-runner-test-');
after(() => rmSync(root, { recursive: true, force: true }));

const instance = writeQuadratic(root, { agents: M, dx: DX, dy: DY, problemClass: 'global', heterogeneity: 0.3 }, 11);

/** A resolved config on the shared instance; `over` replaces top-level keys. */
function config(over: Record<string, unknown> = {}): RunConfig {
  return resolveConfig({
    seed: 5,
    iterations: 47,
    evalEvery: 10,
    problem: { type: 'quadratic', file: instance },
    topology: { type: 'ring', agents: M },
    algorithm: { name: 'd-soba' },
    ...over,
  });
}

let dirCount = 0;
/** A fresh (not yet existing) run directory path. */
function freshDir(label: string): string {
  return join(root, `${label}-${++dirCount}`);
}

function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8'));
}

function readLines<T = Record<string, unknown>>(path: string): T[] {
  const text = readFileSync(path, 'utf8');
  assert.ok(text.endsWith('\n'), `${path} ends with a newline`);
  return text
    .slice(0, -1)
    .split('\n')
    .map((l) => JSON.parse(l) as T);
}

const COUNTER_KEYS = ['rounds', 'messages', 'floats', 'bytes', 'gradF', 'gradG', 'hvp', 'jvp', 'valueF', 'valueG', 'gradFSamples', 'gradGSamples', 'hvpSamples', 'jvpSamples', 'valueFSamples', 'valueGSamples', 'elapsedMs'] as const;
const METRIC_KEYS = ['hypergradNormSq', 'consensusX', 'consensusY', 'consensusZ', 'lowerError', 'upperLoss', 'lowerLoss'] as const;
const ROW_KEYS = ['iteration', ...COUNTER_KEYS, ...METRIC_KEYS];
/** The files of a completed run directory without trace, sorted. */
const RUN_FILES = ['.dbo-run', 'config.resolved.json', 'metrics.jsonl', 'summary.json', 'topology.json'];

function assertNoPartial(dir: string): void {
  assert.equal(existsSync(`${dir}.partial`), false, `${dir}.partial must not exist`);
}

function withoutElapsed(rows: ReadonlyArray<object>): Array<Record<string, unknown>> {
  return rows.map((row) => {
    const { elapsedMs: _e, ...rest } = row as Record<string, unknown>;
    return rest;
  });
}

test('a completed run directory: resolved config, topology, metrics rows and summary', async () => {
  const cfg = config();
  const dir = freshDir('complete');
  const outcome = await runToDirectory(cfg, dir);
  assert.equal(outcome.status, 'completed');
  assert.equal(outcome.message, undefined);
  assert.equal(outcome.dir, dir);
  assert.deepEqual(readdirSync(dir).sort(), RUN_FILES);
  assertNoPartial(dir);

  // config.resolved.json: the whole config, algorithm defaults filled in, and resolving it again changes nothing.
  const resolved = readJson(join(dir, 'config.resolved.json')) as RunConfig;
  assert.deepEqual(resolved, JSON.parse(JSON.stringify(cfg)));
  assert.deepEqual(resolved.algorithm, { name: 'd-soba', alpha: 0.05, beta: 0.1, gamma: 0.1, theta: 0.5, hTiming: 'previous' });
  assert.deepEqual(resolved.algorithm, { name: 'd-soba', ...(getAlgorithm('d-soba').params.parse({}) as object) });
  assert.deepEqual(resolved.output, { trace: false, bytesPerFloat: 4 });
  assert.deepEqual(resolved.problem, { type: 'quadratic', file: instance, batch: 1 });
  assert.deepEqual(resolved.init, {});
  assert.equal(resolved.seed, 5);
  assert.deepEqual(resolveConfig(resolved), resolved);

  // topology.json: the ring's edges with one weight each and the diagonal (no dense matrix): rows of W sum to 1.
  const topo = readJson(join(dir, 'topology.json')) as { agents: number; edges: number[][]; edgeWeights: number[]; selfWeights: number[]; lambda: number; rho: number; eigenvalues: number[] };
  assert.equal(topo.agents, M);
  assert.equal(topo.edges.length, M);
  assert.equal(topo.edgeWeights.length, M);
  assert.equal(topo.selfWeights.length, M);
  const rowSums = [...topo.selfWeights];
  topo.edges.forEach(([i, j], k) => {
    rowSums[i!]! += topo.edgeWeights[k]!;
    rowSums[j!]! += topo.edgeWeights[k]!;
  });
  for (let i = 0; i < M; i++) assert.ok(Math.abs(rowSums[i]! - 1) < 1e-12, `row ${i} of W sums to 1`);
  assert.equal(topo.eigenvalues.length, M);
  assert.ok(topo.lambda > 0 && topo.lambda < 1, `lambda ${topo.lambda} in (0, 1)`);
  assert.ok(topo.rho > 0 && topo.rho < 1, `rho ${topo.rho} in (0, 1)`);

  // metrics.jsonl: rows at 0, evalEvery, 2·evalEvery, ... and the last iteration.
  const rows = readLines<MetricsRow>(join(dir, 'metrics.jsonl'));
  assert.deepEqual(
    rows.map((r) => r.iteration),
    [0, 10, 20, 30, 40, 47],
  );
  assert.deepEqual(rows, JSON.parse(JSON.stringify(outcome.rows)));
  const payload = DX + 2 * DY;
  for (const row of rows) {
    for (const key of ROW_KEYS) {
      const v = (row as unknown as Record<string, unknown>)[key];
      assert.equal(typeof v, 'number', `row ${row.iteration}: ${key} is a number (got ${JSON.stringify(v)})`);
      assert.ok(Number.isFinite(v), `row ${row.iteration}: ${key} is finite`);
    }
    for (const key of COUNTER_KEYS) assert.ok((row as unknown as Record<string, number>)[key]! >= 0, `${key} ≥ 0`);
    // D-SOBA: one gossip round of d_x + 2d_y floats per iteration; 1 ∇F, ∇_yG, HVP, JVP per agent and iteration.
    const t = row.iteration;
    assert.equal(row.rounds, t);
    assert.equal(row.messages, t * 2 * M);
    assert.equal(row.floats, row.messages * payload);
    assert.equal(row.bytes, row.floats * 4);
    for (const k of ['gradF', 'gradG', 'hvp', 'jvp'] as const) {
      assert.equal(row[k], t * M, `${k} at iteration ${t}`);
      assert.equal(row[`${k}Samples`], t * M, `${k}Samples at iteration ${t} (batch 1)`);
    }
    assert.equal(row.valueF, 0);
    assert.equal(row.valueG, 0);
    assert.equal(row.testAccuracy, undefined);
  }
  assert.equal(rows[0]!.elapsedMs, 0);
  assert.equal(rows[0]!.consensusX, 0, 'all agents start at the same point');
  for (let i = 1; i < rows.length; i++)
    for (const key of COUNTER_KEYS) {
      const prev = (rows[i - 1] as unknown as Record<string, number>)[key]!;
      const cur = (rows[i] as unknown as Record<string, number>)[key]!;
      assert.ok(cur >= prev, `${key} is monotone: ${prev} then ${cur} at iteration ${rows[i]!.iteration}`);
    }
  assert.ok(rows.at(-1)!.hypergradNormSq! < rows[0]!.hypergradNormSq!, 'default step sizes make progress on the instance');

  // summary.json
  const summary = readJson(join(dir, 'summary.json')) as Record<string, unknown>;
  assert.equal(summary.status, 'completed');
  assert.equal('message' in summary, false);
  assert.equal(summary.algorithm, 'd-soba');
  assert.equal(summary.problem, 'quadratic');
  assert.equal(summary.agents, M);
  assert.equal(summary.dx, DX);
  assert.equal(summary.dy, DY);
  assert.deepEqual(summary.final, rows.at(-1));
  for (const k of ['started', 'finished'] as const) assert.ok(!Number.isNaN(Date.parse(summary[k] as string)), `${k} is a timestamp`);
  assert.ok(Date.parse(summary.finished as string) >= Date.parse(summary.started as string));
});

test('resolved d-soba-fo config lists its own defaults, and the run counts finite-difference gradients', async () => {
  const cfg = config({ algorithm: { name: 'd-soba-fo', alpha: 0.03 }, iterations: 6, evalEvery: 3 });
  assert.deepEqual(cfg.algorithm, { name: 'd-soba-fo', alpha: 0.03, beta: 0.1, gamma: 0.1, theta: 0.5, hTiming: 'previous', delta: 1e-3, stencil: 'central' });
  const dir = freshDir('fo');
  const outcome = await runToDirectory(cfg, dir);
  assert.equal(outcome.status, 'completed');
  assert.deepEqual((readJson(join(dir, 'config.resolved.json')) as RunConfig).algorithm, cfg.algorithm);
  const last = outcome.rows.at(-1)!;
  assert.deepEqual(
    outcome.rows.map((r) => r.iteration),
    [0, 3, 6],
  );
  assert.equal(last.hvp, 0);
  assert.equal(last.jvp, 0);
  assert.equal(last.gradF, 6 * M);
  // z starts at 0 (no perturbation: 1 ∇G); afterwards the central stencil uses 3 ∇G per iteration.
  assert.ok(last.gradG > 6 * M && last.gradG <= 3 * 6 * M, `gradG ${last.gradG}`);
});

test('output.trace writes every iteration 0..T with m agent vectors, starting at init', async () => {
  const T = 12;
  const initX = [1, -2, 0.5];
  const cfg = config({ iterations: T, evalEvery: 5, init: { x: initX, y: 0.5 }, output: { trace: true } });
  assert.deepEqual(cfg.output, { trace: true, bytesPerFloat: 4 });
  const dir = freshDir('trace');
  const outcome = await runToDirectory(cfg, dir);
  assert.equal(outcome.status, 'completed');
  assert.deepEqual(readdirSync(dir).sort(), [...RUN_FILES, 'trace.jsonl']);
  assert.deepEqual((readJson(join(dir, 'config.resolved.json')) as RunConfig).init, { x: initX, y: 0.5 });

  const trace = readLines<TraceRow>(join(dir, 'trace.jsonl'));
  assert.deepEqual(
    trace.map((r) => r.iteration),
    Array.from({ length: T + 1 }, (_, t) => t),
  );
  for (const row of trace) {
    for (const [key, n] of [['x', DX], ['y', DY], ['z', DY]] as const) {
      const vs = row[key];
      assert.ok(Array.isArray(vs), `iteration ${row.iteration}: ${key} present`);
      assert.equal(vs.length, M, `iteration ${row.iteration}: ${key} has one vector per agent`);
      for (const v of vs) {
        assert.equal(v.length, n, `iteration ${row.iteration}: ${key} vectors have length ${n}`);
        for (const e of v) assert.ok(Number.isFinite(e));
      }
    }
  }
  const first = trace[0]!;
  assert.deepEqual(first.x, Array.from({ length: M }, () => initX));
  assert.deepEqual(first.y, Array.from({ length: M }, () => [0.5, 0.5, 0.5, 0.5]));
  assert.deepEqual(first.z, Array.from({ length: M }, () => [0, 0, 0, 0]));
  // x waits one iteration (h⁰ = 0 and the x step uses h^t); y and z move at once.
  assert.deepEqual(trace[1]!.x, first.x);
  assert.notDeepEqual(trace[1]!.y, first.y, 'y moves');
  assert.notDeepEqual(trace[2]!.x, first.x, 'x moves');
  // Metrics rows and trace agree on the iteration-0 point: identical agents, no consensus error.
  const rows = readLines<MetricsRow>(join(dir, 'metrics.jsonl'));
  assert.deepEqual(
    rows.map((r) => r.iteration),
    [0, 5, 10, 12],
  );
  assert.equal(rows[0]!.consensusX, 0);
  assert.equal(rows[0]!.consensusY, 0);
  // Consensus error of x at the last iteration, recomputed from the trace (mean squared distance to the average, up to convention).
  const lastX = trace.at(-1)!.x;
  const mean = Array.from({ length: DX }, (_, k) => lastX.reduce((s, v) => s + v[k]!, 0) / M);
  const spread = lastX.reduce((s, v) => s + v.reduce((a, e, k) => a + (e - mean[k]!) ** 2, 0), 0);
  const cx = rows.at(-1)!.consensusX;
  assert.ok(spread > 0 && cx > 0);
  assert.ok(Math.abs(cx - spread) < 1e-9 * spread || Math.abs(cx - spread / M) < 1e-9 * spread, `consensusX ${cx} vs Σ‖x_i − x̄‖² ${spread}`);
});

test('the same config and seed give identical metrics (noise and minibatches included); another seed differs', async () => {
  const noisy = (seed: number) =>
    config({ seed, iterations: 30, evalEvery: 5, problem: { type: 'quadratic', file: instance, noise: 0.3, batch: { upper: 3, lower: 2 } }, output: { trace: true } });
  const a = freshDir('det-a');
  const b = freshDir('det-b');
  const c = freshDir('det-c');
  await runToDirectory(noisy(7), a);
  await runToDirectory(noisy(7), b);
  await runToDirectory(noisy(8), c);
  const rowsA = readLines(join(a, 'metrics.jsonl'));
  const rowsB = readLines(join(b, 'metrics.jsonl'));
  const rowsC = readLines(join(c, 'metrics.jsonl'));
  assert.equal(rowsA.length, 7);
  assert.deepEqual(withoutElapsed(rowsA), withoutElapsed(rowsB));
  assert.equal(readFileSync(join(a, 'trace.jsonl'), 'utf8'), readFileSync(join(b, 'trace.jsonl'), 'utf8'));
  // Minibatch sizes show in the sample counters.
  const last = rowsA.at(-1) as unknown as MetricsRow;
  assert.equal(last.gradFSamples, 3 * last.gradF);
  assert.equal(last.gradGSamples, 2 * last.gradG);
  assert.equal(last.hvpSamples, 2 * last.hvp);
  // Another seed: same counters, different iterates and metrics after iteration 0.
  assert.equal(rowsC.length, rowsA.length);
  assert.deepEqual(withoutElapsed(rowsC)[0], withoutElapsed(rowsA)[0]);
  for (let i = 1; i < rowsA.length; i++) {
    for (const k of ['rounds', 'bytes', 'gradF', 'gradFSamples'] as const) assert.equal(rowsC[i]![k], rowsA[i]![k]);
    assert.notEqual(rowsC[i]!.hypergradNormSq, rowsA[i]!.hypergradNormSq, `row ${i}: seeds 7 and 8 give different hypergradients`);
    assert.notEqual(rowsC[i]!.consensusX, rowsA[i]!.consensusX);
  }
  // In memory (runConfig) gives the same rows as the directory.
  const mem = await runConfig(noisy(7));
  assert.deepEqual(withoutElapsed(JSON.parse(JSON.stringify(mem.rows))), withoutElapsed(rowsA));
});

test('noise 0: the exact oracle ignores the seed', async () => {
  const r1 = await runConfig(config({ seed: 1, iterations: 10, evalEvery: 5, problem: { type: 'quadratic', file: instance, batch: 4 } }));
  const r2 = await runConfig(config({ seed: 2, iterations: 10, evalEvery: 5, problem: { type: 'quadratic', file: instance, batch: 4 } }));
  assert.deepEqual(withoutElapsed(r1.rows), withoutElapsed(r2.rows));
});

test('a run with non-finite iterates ends as diverged, keeps its rows, and says where in summary.json', async () => {
  // The growth bound is off here, so the run goes on until the iterates overflow.
  const cfg = config({ iterations: 200, evalEvery: 10, algorithm: { name: 'd-soba', alpha: 1e3, beta: 1e3, gamma: 1e3 }, output: { trace: true }, divergence: { enabled: false } });
  const dir = freshDir('diverged');
  const outcome = await runToDirectory(cfg, dir);
  assert.equal(outcome.status, 'diverged');
  const match = /iteration (\d+)/.exec(outcome.message ?? '');
  assert.ok(match, `message names the iteration: ${outcome.message}`);
  const at = Number(match[1]);
  assert.ok(at > 0 && at < 200, `diverged at ${at}, before the end`);
  assertNoPartial(dir);

  const rows = readLines<Record<string, unknown>>(join(dir, 'metrics.jsonl'));
  assert.ok(rows.length >= 2, 'rows before the divergence are kept');
  assert.equal(rows.length, outcome.rows.length);
  assert.deepEqual(
    rows.map((r) => r.iteration),
    outcome.rows.map((r) => r.iteration),
  );
  const iterations = rows.map((r) => r.iteration as number);
  assert.deepEqual(
    iterations,
    iterations.map((_, i) => i * 10),
    'rows every evalEvery up to the divergence',
  );
  assert.ok(iterations.at(-1)! <= at);
  for (const key of ROW_KEYS) assert.ok(key in rows[0]!, `row 0 has ${key}`);
  assert.ok(Number.isFinite(rows[0]!.hypergradNormSq));
  // The run stopped at the divergence: the trace ends there.
  const trace = readLines<TraceRow>(join(dir, 'trace.jsonl'));
  assert.equal(trace.at(-1)!.iteration, at);

  const summary = readJson(join(dir, 'summary.json')) as Record<string, unknown>;
  assert.equal(summary.status, 'diverged');
  assert.equal(summary.message, outcome.message);
  assert.match(summary.message as string, new RegExp(`diverged at iteration ${at}\\b`));
  assert.equal((summary.final as Record<string, unknown>).iteration, iterations.at(-1));

  // Deterministic: the in-memory run diverges at the same place.
  const mem = await runConfig(cfg);
  assert.equal(mem.status, 'diverged');
  assert.equal(mem.message, outcome.message);
});

test('iterates that grow past the bound while staying finite are declared diverged (on by default); rows and summary say where', async () => {
  const dir = freshDir('grown');
  const cfg = config({ iterations: 200, evalEvery: 25, algorithm: { name: 'd-soba', alpha: 3 } });
  assert.deepEqual(cfg.divergence, { enabled: true, factor: 1e6 });
  const outcome = await runToDirectory(cfg, dir);
  assert.equal(outcome.status, 'diverged');
  const d = outcome.divergence!;
  assert.ok(d.iteration > 0 && d.iteration < 200 && d.iteration % 25 === 0, `checked at an evaluation point: ${d.iteration}`);
  assert.ok(Number.isFinite(d.value) && d.value > d.bound! && d.bound === 1e6, `${d.value} > ${d.bound}`);
  assert.match(d.quantity, /^‖[xyz]_i‖ of agent \d$/);
  assert.match(outcome.message!, new RegExp(`^diverged at iteration ${d.iteration}: ‖[xyz]_i‖ of agent \\d = .* exceeds 1\\.00e\\+6 \\(divergence\\.factor`));
  const rows = readLines<MetricsRow>(join(dir, 'metrics.jsonl'));
  assert.deepEqual(
    rows.map((r) => r.iteration),
    Array.from({ length: d.iteration / 25 }, (_, i) => i * 25),
    'rows before the divergence are kept',
  );
  const summary = readJson(join(dir, 'summary.json')) as Record<string, unknown>;
  assert.equal(summary.status, 'diverged');
  assert.deepEqual(summary.divergence, JSON.parse(JSON.stringify(d)));
  const timing = summary.timing as { wallMs: number; computeMs: number; evaluationMs: number };
  assert.ok(timing.wallMs >= timing.computeMs + timing.evaluationMs && timing.computeMs > 0 && timing.evaluationMs > 0, JSON.stringify(timing));

  // The bound is configurable; disabled, only non-finite values stop the run, which here completes at ‖x‖ ≈ 1e13.
  const off = await runConfig(config({ iterations: 200, evalEvery: 25, algorithm: { name: 'd-soba', alpha: 3 }, divergence: { enabled: false } }));
  assert.equal(off.status, 'completed');
  assert.ok(off.rows.at(-1)!.hypergradNormSq! > 1e20);
  const loose = await runConfig(config({ iterations: 200, evalEvery: 25, algorithm: { name: 'd-soba', alpha: 3 }, divergence: { factor: 1e30 } }));
  assert.equal(loose.status, 'completed');
  assert.throws(() => config({ divergence: { factor: 1 } }), /divergence\.factor: divergence\.factor must be > 1$/);
});

test('divergence between evaluations is caught from non-finite iterates', async () => {
  const outcome = await runConfig(config({ iterations: 300, evalEvery: 1000, algorithm: { name: 'd-soba', alpha: 1e3, beta: 1e3, gamma: 1e3 } }));
  assert.equal(outcome.status, 'diverged');
  assert.match(outcome.message ?? '', /^diverged at iteration \d+: agent \d+'s [xyz] has non-finite entries/);
  assert.deepEqual(
    outcome.rows.map((r) => r.iteration),
    [0],
  );
});

test('an existing output directory is an error without force; force replaces a previous run only', async () => {
  const dir = freshDir('exists');
  mkdirSync(dir);
  writeFileSync(join(dir, 'marker.txt'), 'old run');
  for (const force of [false, true]) {
    await assert.rejects(runToDirectory(config({ iterations: 3 }), dir, { force }), (e: unknown) => {
      assert.ok(e instanceof DboError);
      assert.ok(e.message.startsWith(`${dir}: `), e.message);
      assert.match(e.message, force ? /not a dbo run directory.*nothing was deleted/ : /already exists.*--force/);
      return true;
    });
    assert.deepEqual(readdirSync(dir), ['marker.txt'], 'the folder is untouched');
    assertNoPartial(dir);
  }

  const previous = freshDir('previous');
  await runToDirectory(config({ iterations: 2 }), previous);
  const outcome = await runToDirectory(config({ iterations: 3 }), previous, { force: true });
  assert.equal(outcome.status, 'completed');
  assert.deepEqual(readdirSync(previous).sort(), RUN_FILES);
  assert.equal((readJson(join(previous, 'summary.json')) as { final: { iteration: number } }).final.iteration, 3);
  assertNoPartial(previous);
});

test('a leftover .partial directory of a dbo run that ended is cleared; any other is kept', async () => {
  const dir = freshDir('stale');
  const deadPid = spawnSync(process.execPath, ['-e', '']).pid!;
  mkdirSync(`${dir}.partial`);
  writeFileSync(join(`${dir}.partial`, '.dbo-run'), JSON.stringify({ format: 'dbo-run-directory', pid: deadPid, host: hostname() }));
  writeFileSync(join(`${dir}.partial`, 'metrics.jsonl'), '{"iteration":0}\n');
  await runToDirectory(config({ iterations: 2 }), dir);
  assert.deepEqual(readdirSync(dir).sort(), RUN_FILES);
  assertNoPartial(dir);

  const foreign = freshDir('foreign');
  mkdirSync(`${foreign}.partial`);
  writeFileSync(join(`${foreign}.partial`, 'notes.txt'), 'mine');
  await assert.rejects(runToDirectory(config({ iterations: 2 }), foreign), /not a leftover of a dbo run, so nothing was deleted/);
  assert.deepEqual(readdirSync(`${foreign}.partial`), ['notes.txt']);
  assert.equal(existsSync(foreign), false);
});

test('errors during preparation leave neither the directory nor a .partial directory', async () => {
  const otherAgents = writeQuadratic(root, { agents: 4, dx: DX, dy: DY, problemClass: 'global', heterogeneity: 0.3 }, 12);
  const cases: Array<[string, RunConfig, RegExp]> = [
    ['missing instance', config({ problem: { type: 'quadratic', file: join(root, 'missing.json') } }), /missing\.json: file not found/],
    ['agent count', config({ problem: { type: 'quadratic', file: otherAgents } }), /^problem\.file: .*4 agents but topology\.agents is 5/],
    ['init.x dimension', config({ init: { x: [1, 2] } }), /^init\.x: expected 3 numbers/],
    ['init.z dimension', config({ init: { z: [1, 2, 3] } }), /^init\.z: expected 4 numbers/],
    ['disconnected edges', config({ topology: { type: 'custom', agents: M, edges: [[0, 1], [1, 2], [3, 4]] } }), /^topology\.edges: .*disconnected/],
  ];
  for (const [name, cfg, message] of cases) {
    assert.throws(() => prepareRun(cfg), (e: unknown) => e instanceof DboError && message.test(e.message), `${name}: prepareRun`);
    const dir = freshDir(`prep-${name.replace(/\W/g, '-')}`);
    await assert.rejects(runToDirectory(cfg, dir), (e: unknown) => e instanceof DboError && message.test(e.message), name);
    assert.equal(existsSync(dir), false, `${name}: no run directory`);
    assertNoPartial(dir);
  }
  // With force, a rejected config keeps the run it would have replaced.
  const dir = freshDir('prep-force');
  await runToDirectory(config({ iterations: 1 }), dir);
  await assert.rejects(runToDirectory(cases[0]![1], dir, { force: true }), DboError);
  assert.ok(existsSync(join(dir, 'summary.json')), 'the previous run is kept');
  assertNoPartial(dir);
});

test('runConfig streams rows, trace and progress to the sinks', async () => {
  const seen: MetricsRow[] = [];
  const traced: number[] = [];
  const progress: Array<[number, number]> = [];
  const outcome = await runConfig(config({ iterations: 7, evalEvery: 3 }), {
    row: (r) => seen.push(r),
    trace: (r) => traced.push(r.iteration),
    progress: (t, total, last) => {
      progress.push([t, total]);
      assert.ok(last !== null && last.iteration <= t);
    },
  });
  assert.equal(outcome.status, 'completed');
  assert.deepEqual(seen, outcome.rows);
  assert.deepEqual(
    seen.map((r) => r.iteration),
    [0, 3, 6, 7],
  );
  assert.deepEqual(traced, [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(
    progress,
    Array.from({ length: 7 }, (_, i) => [i + 1, 7]),
  );
});

test('iterations: 0 records the starting point only', async () => {
  const dir = freshDir('zero');
  const outcome = await runToDirectory(config({ iterations: 0 }), dir);
  assert.equal(outcome.status, 'completed');
  assert.deepEqual(
    readLines<MetricsRow>(join(dir, 'metrics.jsonl')).map((r) => r.iteration),
    [0],
  );
  assert.equal((readJson(join(dir, 'summary.json')) as { status: string }).status, 'completed');
});

// Known src bug (reported): RunDirectory writes into `${dir}.partial`, which lies inside dir when dir ends in '/'.

test('an output path with a trailing slash works like the path without it', async () => {
  const dir = freshDir('slash');
  const outcome = await runToDirectory(config({ iterations: 2 }), `${dir}/`);
  assert.equal(outcome.status, 'completed');
  assert.ok(existsSync(join(dir, 'summary.json')));
});

test('force with a trailing slash replaces the old run instead of losing it', async () => {
  const dir = freshDir('slash-force');
  await runToDirectory(config({ iterations: 2 }), dir);
  try {
    await runToDirectory(config({ iterations: 2 }), `${dir}/`, { force: true });
  } finally {
    assert.ok(existsSync(join(dir, 'summary.json')), 'a run directory still exists after --force');
  }
});

test('topology config: a prime torus is refused unless ringFallback; negative custom weights only with allowNegativeWeights', () => {
  const torus = (extra: Record<string, unknown>) => config({ topology: { type: 'torus', agents: M, ...extra } });
  assert.throws(() => prepareRun(torus({})), (e: unknown) => e instanceof DboError && /^topology\.agents: .* but 5 is prime; nearest valid sizes: 4 \(2 × 2\) and 6 \(2 × 3\)/.test(e.message));
  const fallback = prepareRun(torus({ ringFallback: true }));
  assert.match(fallback.topology.note!, /built as a ring/);
  assert.throws(() => config({ topology: { type: 'ring', agents: M, ringFallback: true } }), (e: unknown) => e instanceof DboError && /topology\.ringFallback: only torus takes ringFallback/.test(e.message));
  // A 5-agent W with one negative pair, still ρ < 1.
  const w = Array.from({ length: M }, (_, i) => Array.from({ length: M }, (_, j) => (i === j ? 0.2 : 0.2)));
  w[0]![1] = w[1]![0] = 0.1;
  w[0]![0] = w[1]![1] = 0.3;
  w[2]![3] = w[3]![2] = -0.05;
  w[2]![2] = w[3]![3] = 0.45;
  const custom = (extra: Record<string, unknown>) => config({ topology: { type: 'custom', agents: M, weights: w, ...extra } });
  assert.throws(() => prepareRun(custom({})), (e: unknown) => e instanceof DboError && /^topology\.weights: entry w\[2\]\[3\] = -0\.05 is negative/.test(e.message));
  assert.ok(prepareRun(custom({ allowNegativeWeights: true })).topology.spectrum.rho < 1);
  assert.throws(() => config({ topology: { type: 'ring', agents: M, allowNegativeWeights: true } }), (e: unknown) => e instanceof DboError && /topology\.allowNegativeWeights: only a custom weights matrix/.test(e.message));
});
