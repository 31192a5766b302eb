/**
 * Faults on the libp2p transport (docs/faults.md), with real processes on
 * 127.0.0.1: an agent SIGKILLed mid-run (the survivors reweight, reset their
 * trackers at one iteration boundary and reach the survivors' optimum, which
 * this file computes independently by a dense solve), a straggler below the
 * timeout (rows unchanged), a partitioned link (both ends declare each other
 * gone and go on), and bad `faults` configs. Skips when 127.0.0.1 cannot be used.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../../src/cli/main.ts';
import { ConfigError } from '../../../src/errors.ts';
import { resolveConfig, type RunConfig } from '../../../src/experiments/config.ts';
import { runToDirectory } from '../../../src/experiments/run-to-directory.ts';
import { execute, prepareRun, type MetricsRow } from '../../../src/experiments/runner.ts';
import type { StateView } from '../../../src/metrics/state-view.ts';
import { Libp2pRuntime } from '../../../src/runtime/libp2p/runtime.ts';
import type { RunEvent } from '../../../src/runtime/view-events.ts';
import { tempDir, writeQuadratic } from '../../helpers.ts';
import { loopbackUsable } from './loopback.ts';

const root = tempDir('dbo-faults-test-');

const skip = (await loopbackUsable()) ? false : 'cannot listen on 127.0.0.1';

/** Runs `config` on libp2p into a run directory; returns its rows, events and the last snapshot's iterates. */
async function runP2p(config: RunConfig, name: string) {
  const logs: string[] = [];
  let last: ReadonlyArray<StateView> = [];
  const dir = join(root, name);
  const out = await runToDirectory(config, dir, {
    runtime: async (run) => {
      const rt = await Libp2pRuntime.create(run, { log: (s) => logs.push(s) });
      const snapshot = rt.snapshot.bind(rt);
      rt.snapshot = async () => (last = await snapshot());
      return rt;
    },
  });
  const lines = (file: string) =>
    readFileSync(join(dir, file), 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l));
  return { out, rows: lines('metrics.jsonl') as MetricsRow[], events: lines('events.jsonl') as RunEvent[], last, logs, dir };
}

// ---------------------------------------------------------------- the survivors' optimum, independently

type Mat = number[][];
const zerosM = (r: number, c: number): Mat => Array.from({ length: r }, () => new Array<number>(c).fill(0));
const mul = (a: Mat, b: Mat): Mat => a.map((row) => b[0]!.map((_, j) => row.reduce((s, v, k) => s + v * b[k]![j]!, 0)));
const tr = (a: Mat): Mat => a[0]!.map((_, j) => a.map((row) => row[j]!));
const add = (...ms: Mat[]): Mat => ms[0]!.map((row, i) => row.map((_, j) => ms.reduce((s, m) => s + m[i]![j]!, 0)));
const col = (v: number[]): Mat => v.map((x) => [x]);
const neg = (a: Mat): Mat => a.map((row) => row.map((v) => -v));

/** Solves A X = B by Gaussian elimination with partial pivoting. */
function solve(a: Mat, b: Mat): Mat {
  const n = a.length;
  const m = a.map((row, i) => [...row, ...b[i]!]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[p]![c]!)) p = r;
    [m[c], m[p]] = [m[p]!, m[c]!];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r]![c]! / m[c]![c]!;
      for (let k = c; k < m[r]!.length; k++) m[r]![k]! -= f * m[c]![k]!;
    }
  }
  return m.map((row, i) => row.slice(n).map((v) => v / row[i]!));
}

/**
 * argmin_x Σ_{i ∈ S} f_i(x, y_i*(x)) of a class-P quadratic instance file:
 * y_i*(x) = Y_i x + c_i with Y_i = −Ayy⁻¹Ayx, c_i = −Ayy⁻¹ay, and
 * ∇Φ_i(x) = H_i x + b_i, H_i = Pxx + Y_iᵀPyyY_i + Y_iᵀPyx + PyxᵀY_i,
 * b_i = Y_iᵀ(Pyy c_i + py) + Pyxᵀc_i + px; x* = −(Σ H_i)⁻¹ Σ b_i.
 */
function personalizedOptimum(file: string, survivors: ReadonlyArray<number>): number[] {
  const inst = JSON.parse(readFileSync(file, 'utf8'));
  const { dx, dy } = inst as { dx: number; dy: number };
  let h = zerosM(dx, dx);
  let b = zerosM(dx, 1);
  for (const i of survivors) {
    const { f, g } = inst.agents[i];
    const Ayx: Mat = g.Ayx ?? zerosM(dy, dx);
    const Y = neg(solve(g.Ayy, Ayx));
    const c = neg(solve(g.Ayy, col(g.ay ?? new Array(dy).fill(0))));
    const Pyy: Mat = f.Pyy ?? zerosM(dy, dy);
    const Pyx: Mat = f.Pyx ?? zerosM(dy, dx);
    const Pxx: Mat = f.Pxx ?? zerosM(dx, dx);
    h = add(h, Pxx, mul(tr(Y), mul(Pyy, Y)), mul(tr(Y), Pyx), mul(tr(Pyx), Y));
    b = add(b, mul(tr(Y), add(mul(Pyy, c), col(f.py ?? new Array(dy).fill(0)))), mul(tr(Pyx), c), col(f.px ?? new Array(dx).fill(0)));
  }
  return solve(h, neg(b)).map((r) => r[0]!);
}

// ---------------------------------------------------------------- the mixing matrix, from events.jsonl

/** Every agent's mixing row in effect at `round` (the last 'weights' event at or before it), as a dense m × m matrix. */
function mixingAt(events: ReadonlyArray<RunEvent>, m: number, round: number): Mat {
  const w = zerosM(m, m);
  const seen = new Set<number>();
  const rows = events.filter((e) => e.event === 'weights' && (e.round as number) <= round).sort((a, b) => (a.round as number) - (b.round as number));
  for (const e of rows) {
    const i = e.agent!;
    seen.add(i);
    w[i] = new Array<number>(m).fill(0);
    w[i]![i] = e.self as number;
    (e.neighbours as number[]).forEach((j, k) => (w[i]![j] = (e.weights as number[])[k]!));
  }
  assert.equal(seen.size, m, 'every agent logs its row at round 0');
  return w;
}

/** W restricted to `agents` is symmetric, nonnegative, and its rows (hence columns) sum to 1; nothing goes to others. */
function assertDoublyStochastic(w: Mat, agents: ReadonlyArray<number>, label: string): void {
  for (const i of agents) {
    let sum = 0;
    for (let j = 0; j < w.length; j++) {
      if (!agents.includes(j)) {
        assert.equal(w[i]![j], 0, `${label}: agent ${i} gives no weight to ${j}, which left`);
        continue;
      }
      assert.ok(w[i]![j]! >= 0, `${label}: w[${i}][${j}] = ${w[i]![j]} ≥ 0`);
      assert.equal(w[i]![j], w[j]![i], `${label}: w[${i}][${j}] = w[${j}][${i}]`);
      sum += w[i]![j]!;
    }
    assert.ok(Math.abs(sum - 1) < 1e-15, `${label}: row ${i} sums to ${sum}`);
  }
}

const config = (file: string, over: Record<string, unknown>): RunConfig =>
  resolveConfig({
    seed: 3,
    iterations: 300,
    evalEvery: 50,
    problem: { type: 'quadratic', file, batch: 'full' },
    topology: { type: 'ring', agents: 6 },
    algorithm: { name: 'interact', alpha: 0.2, beta: 0.2 },
    output: { bytesPerFloat: 8 },
    ...over,
  });

test('an agent SIGKILLed at iteration 20 of 400 (Erdős–Rényi graph of 6): the survivors finish, their weights stay symmetric and doubly stochastic, and interact reaches the survivors\' optimum to 1e-8', { skip, timeout: 180_000 }, async () => {
  const file = writeQuadratic(root, { agents: 6, dx: 3, dy: 4, problemClass: 'personalized', heterogeneity: 0.5 }, 11);
  const cfg = config(file, { seed: 1, iterations: 400, evalEvery: 100, topology: { type: 'erdos-renyi', agents: 6, p: 0.5, mixing: 'metropolis' }, network: { roundTimeoutMs: 5000 }, faults: [{ agent: 2, crash: { atIteration: 20 } }] });
  const { out, rows, events, last, dir } = await runP2p(cfg, 'crash');
  assert.equal(out.status, 'completed', out.message);
  const survivors = [0, 1, 3, 4, 5];
  const edges = (JSON.parse(readFileSync(join(dir, 'topology.json'), 'utf8')) as { edges: [number, number][] }).edges;
  const neighboursOf = (i: number, without: number[] = []) => edges.flatMap(([a, b]) => (a === i ? [b] : b === i ? [a] : [])).filter((j) => !without.includes(j));
  const lost = neighboursOf(2);
  assert.ok(lost.length >= 2, `agent 2 has neighbours ${lost}`);

  // Who left, who noticed, from which round (interact: 1 round per iteration, round r is iteration r + 1).
  const exited = events.filter((e) => e.event === 'agent-exited');
  assert.deepEqual(exited.map((e) => [e.agent, e.how, e.iteration]), [[2, 'killed by SIGKILL', 20]]);
  const gone = events.filter((e) => e.event === 'neighbour-gone');
  assert.deepEqual(gone.map((e) => [e.agent, e.neighbour, e.round]), lost.map((i) => [i, 2, 20]), 'agent 2\'s neighbours declare it gone from its first missing round');
  const resets = events.filter((e) => e.event === 'reset');
  assert.deepEqual(resets.map((e) => e.agent), survivors, 'every survivor resets its tracker once');
  assert.ok(resets.every((e) => e.iteration === 26 && e.hook === true && e.round === 26), 'all at the same iteration boundary, after round r_gone + m = 26');
  assert.deepEqual(events.filter((e) => e.event === 'survivors').map((e) => [e.iteration, e.agents]), [[100, survivors]]);

  // Weights: the configured Metropolis matrix before; after, rows change only in rounds 20 (2's neighbours) and 21 (their neighbours see the
  // new degrees); symmetric and doubly stochastic over the survivors in every round, and Metropolis of the survivors' graph in the end.
  const changes = new Set(events.filter((e) => e.event === 'weights').map((e) => e.round as number));
  assert.ok([...changes].every((r) => [0, 20, 21].includes(r)), [...changes].join(', '));
  assertDoublyStochastic(mixingAt(events, 6, 19), [0, 1, 2, 3, 4, 5], 'round 19');
  for (const r of [20, 21, 25, 26, 399]) assertDoublyStochastic(mixingAt(events, 6, r), survivors, `round ${r}`);
  const after = mixingAt(events, 6, 399);
  const degree = (i: number) => neighboursOf(i, [2]).length;
  for (const i of survivors) for (const j of neighboursOf(i, [2])) assert.equal(after[i]![j], 1 / (1 + Math.max(degree(i), degree(j))), `w[${i}][${j}] is Metropolis of the survivors' graph`);

  // Metrics: over the survivors' problem from the first evaluation after the crash.
  assert.deepEqual(rows.map((r) => r.agents ?? 6), [6, 5, 5, 5, 5]);
  const final = rows.at(-1)!;
  assert.ok(final.hypergradNormSq! < 1e-18, `‖∇Φ_S(x̄)‖² = ${final.hypergradNormSq}`);
  const xStar = personalizedOptimum(file, survivors);
  const xAll = personalizedOptimum(file, [0, 1, 2, 3, 4, 5]);
  assert.ok(Math.hypot(...xStar.map((v, k) => v - xAll[k]!)) > 1e-2, 'the survivors\' optimum is another point than the full problem\'s');
  assert.equal(last.length, 5, 'the last snapshot holds the 5 survivors');
  for (const [k, v] of last.entries()) {
    const err = Math.max(...xStar.map((s, d) => Math.abs(v.x[d]! - s)));
    assert.ok(err < 1e-8, `survivor ${survivors[k]}: max |x − x*_S| = ${err}`);
  }
});

test('a straggler delayed below roundTimeoutMs changes no metrics row (timing aside) and logs the fault', { skip, timeout: 120_000 }, async () => {
  const file = writeQuadratic(root, { agents: 4, dx: 3, dy: 4, problemClass: 'global', heterogeneity: 0.3, noise: 0.1 }, 5);
  const base = { seed: 4, iterations: 12, evalEvery: 4, problem: { type: 'quadratic', file, batch: 2 }, topology: { type: 'ring', agents: 4 }, algorithm: { name: 'cd-bsvrgd' } };
  const reference = await execute(prepareRun(resolveConfig(base)));
  const { out, rows, events } = await runP2p(resolveConfig({ ...base, network: { roundTimeoutMs: 5000 }, faults: [{ agent: 1, delay: { ms: 150, fromIteration: 3, toIteration: 5 } }] }), 'delay');
  assert.equal(out.status, 'completed');
  const strip = (rs: ReadonlyArray<object>) => rs.map((row) => ({ ...row, elapsedMs: 0, wireBytes: 0 }));
  assert.deepEqual(strip(rows), strip(reference.rows));
  assert.deepEqual(
    events.filter((e) => e.event !== 'weights').map((e) => [e.event, e.kind, e.agent, e.iteration]),
    [['fault', 'delay', 1, 3]],
  );
  assert.equal(events.filter((e) => e.event === 'weights').length, 4, 'only the initial rows: no weight changed');
});

test('a link partitioned for some iterations: both ends declare each other gone after roundTimeoutMs, log it, and go on to the optimum', { skip, timeout: 120_000 }, async () => {
  const file = writeQuadratic(root, { agents: 4, dx: 3, dy: 4, problemClass: 'personalized', heterogeneity: 0.5 }, 12);
  const { out, rows, events, last } = await runP2p(
    config(file, { iterations: 200, topology: { type: 'ring', agents: 4 }, network: { roundTimeoutMs: 2000 }, faults: [{ link: [0, 1], partition: { fromIteration: 5, toIteration: 8 } }] }),
    'partition',
  );
  assert.equal(out.status, 'completed', out.message);
  const gone = events.filter((e) => e.event === 'neighbour-gone');
  assert.deepEqual(gone.map((e) => [e.agent, e.neighbour, e.round]).sort(), [[0, 1, 4], [1, 0, 4]], 'both ends, from the first dropped round');
  assert.ok(gone.every((e) => /^silent for roundTimeoutMs = 2000 ms in round 4$|^connection closed/.test(e.reason as string)), gone.map((e) => e.reason).join('; '));
  assert.deepEqual(events.filter((e) => e.event === 'fault').map((e) => [e.agent, e.kind, e.iteration]), [[0, 'partition', 5], [1, 'partition', 5]]);
  for (const r of [4, 5, 199]) assertDoublyStochastic(mixingAt(events, 4, r), [0, 1, 2, 3], `round ${r}`);
  assert.equal(mixingAt(events, 4, 199)[0]![1], 0, 'the link stays down');
  // No agent left: the rows stay those of the whole problem, whose optimum the path 1-2-3-0 still approaches.
  assert.ok(rows.every((r) => r.agents === undefined));
  const grad = rows.map((r) => r.hypergradNormSq!);
  assert.ok(grad.slice(1).every((g, k) => g < grad[k]!) && grad.at(-1)! < 1e-8, grad.join(', '));
  assert.equal(last.length, 4);
  const xStar = personalizedOptimum(file, [0, 1, 2, 3]);
  for (const v of last) assert.ok(Math.max(...xStar.map((s, d) => Math.abs(v.x[d]! - s))) < 1e-4);
});

test('bad faults configs: one clear line naming the field, exit 2, no run directory', async () => {
  const file = writeQuadratic(root, { agents: 4, dx: 3, dy: 4, problemClass: 'personalized', heterogeneity: 0.5 }, 13);
  const base = { seed: 1, iterations: 20, evalEvery: 10, problem: { type: 'quadratic', file }, topology: { type: 'ring', agents: 4 }, algorithm: { name: 'interact' } };
  const cases: Array<[unknown, string[], RegExp]> = [
    [[{ agent: 1, crash: {} }], [], /^faults\[0\]\.crash\.atIteration: atIteration must be an integer ≥ 1/],
    [[{ agent: 1 }], [], /^faults\[0\]: expected \{agent, crash: \{atIteration\}\}, \{agent, delay/],
    [[{ agent: 1, delay: { ms: -5, fromIteration: 1, toIteration: 2 } }], [], /^faults\[0\]\.delay\.ms: ms must be > 0/],
    [[{ agent: 1, delay: { ms: 5, fromIteration: 4, toIteration: 2 } }], [], /^faults\[0\]\.delay\.toIteration: toIteration must be ≥ fromIteration/],
    [[{ agent: 9, crash: { atIteration: 3 } }], [], /^faults\[0\]\.agent: agent 9 is not in 0…3/],
    [[{ agent: 1, crash: { atIteration: 20 } }], [], /^faults\[0\]\.crash\.atIteration: must be < iterations \(20\)/],
    [[{ link: [0, 2], partition: { fromIteration: 1, toIteration: 2 } }], [], /^faults\[0\]\.link: agents 0 and 2 are not neighbours/],
    [[{ agent: 1, crash: { atIteration: 3 } }], ['--transport', 'simulator'], /^faults: injected faults need --transport libp2p/],
  ];
  for (const [faults, extra, message] of cases) {
    const cfg = join(root, 'bad-faults.json');
    writeFileSync(cfg, JSON.stringify({ ...base, faults }));
    const outDir = join(root, 'never-written');
    const err: string[] = [];
    const { error, log } = console;
    const saved = process.exitCode;
    console.error = (...a: unknown[]) => void err.push(a.map(String).join(' '));
    console.log = () => {};
    let code: number;
    try {
      code = await main(['node', 'dbo', 'run', cfg, '--out', outDir, ...extra]);
    } finally {
      console.error = error;
      console.log = log;
      process.exitCode = saved;
    }
    assert.equal(code, 2, `${JSON.stringify(faults)}: ${err.join('\n')}`);
    const lines = err.join('\n').split('\n').filter((l) => l !== '');
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0]!.replace(/^dbo: error: /, ''), message);
    assert.equal(existsSync(outDir), false);
  }
  assert.throws(() => resolveConfig({ ...base, network: { roundTimeoutMs: 0 } }), (e: unknown) => e instanceof ConfigError && /^network\.roundTimeoutMs: roundTimeoutMs must be > 0/.test(e.message));
});
