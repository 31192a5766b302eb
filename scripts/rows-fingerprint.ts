/**
 * Bit-identity check for refactors of src/algorithms: runs every registered
 * algorithm on a small quadratic and a small logistic problem (wire format
 * fp64, so no rounding on the wire) and writes every metrics row, each number
 * as the hex of its IEEE-754 bits, to a JSON file. Run it on two commits and
 * compare the files with `--compare A B`.
 *
 *   node --import tsx scripts/rows-fingerprint.ts OUT.json
 *   node --import tsx scripts/rows-fingerprint.ts --compare BEFORE.json AFTER.json
 *
 * Uses only the public entry points (resolveConfig, runConfig,
 * randomQuadraticInstance), so it runs unchanged on older commits.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ALGORITHMS } from '../src/algorithms/registry.ts';
import { resolveConfig } from '../src/experiments/config.ts';
import { runConfig } from '../src/experiments/runner.ts';
import { randomQuadraticInstance } from '../src/problems/quadratic-generator.ts';

/** Non-default parameters, so that every branch of every step runs (quadratic and logistic, ring). */
const VARIANTS: Record<string, ReadonlyArray<Record<string, unknown>>> = {
  'd-soba': [{ hTiming: 'current' }],
  'd-soba-fo': [{ stencil: 'forward' }, { hTiming: 'current' }],
  'cd-bsvrgd': [{ zRadius: 0.5, batch0: 5, batch1: 2 }, { alpha1: 100, alpha2: 100, alpha3: 100 }],
  vrdbo: [{ alpha1: 100, alpha2: 100 }, { estimator: 'neumann-recursive', depth: 'uniform', batch0: 5, Lg: 20 }],
  mdbo: [{ estimator: 'neumann-recursive', batch1: 2 }],
  'ma-dsbo': [{ tracking: true }],
  dsbo: [{ innerSteps: 3, jhipSteps: 2 }],
  'gossip-dsbo': [{ innerSteps: 2 }],
  sldbo: [{ zRadius: 0.5 }, { batch: 'problem' }, { batch: 2 }],
  sparkle: [
    { xMode: 'extra', yMode: 'gt', zMode: 'ed' },
    { xMode: 'gt', yMode: 'extra', zMode: 'gt', hTiming: 'previous' },
  ],
  interact: [{ alpha: 0.05, beta: 0.05 }],
  'svr-interact': [{ alpha: 0.05, beta: 0.05 }, { alpha: 0.05, beta: 0.05, checkpoint: 'estimatorAverage', q: 4, batch: 2 }],
  'gt-dsgd': [{ alpha: 0.05, beta: 0.05 }, { alpha: 0.05, beta: 0.05, estimator: 'neumann-recursive', depth: 'uniform' }],
  'd-sgd': [{ alpha: 0.05, beta: 0.05, batch: 2 }],
  'l-pdbo': [{ hessian: 'matrix' }],
  spdb: [{ depth: 3 }],
  prometheus: [{ prox: { l1: 0.01, box: [-1, 1] }, q: 4 }, { estimator: 'neumann', batch: 2 }],
  'prometheus-sg': [{ prox: { ball: 1 } }],
  'prometheus-dir': [{ prox: { box: [-0.5, 0.5] }, tau: 2 }],
  'prox-dsgd': [{ prox: { l1: 0.01 } }],
};

/** Columns that measure time, not arithmetic. */
const TIMING = /ms$|seconds|time/i;

function bits(v: number): string {
  const b = new DataView(new ArrayBuffer(8));
  b.setFloat64(0, v);
  return b.getBigUint64(0).toString(16).padStart(16, '0');
}

function fingerprintRow(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) if (!TIMING.test(k)) out[k] = typeof v === "number" ? bits(v) : Array.isArray(v) ? v.map((e) => (typeof e === "number" ? bits(e) : e)) : v;
  return out;
}

async function generate(outFile: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'dbo-fingerprint-'));
  try {
    const quadratic = {
      global: join(dir, 'g.json'),
      personalized: join(dir, 'p.json'),
    } as const;
    writeFileSync(quadratic.global, JSON.stringify(randomQuadraticInstance({ agents: 5, dx: 3, dy: 4, problemClass: 'global', heterogeneity: 0.5, noise: 0.1 }, 11)));
    writeFileSync(quadratic.personalized, JSON.stringify(randomQuadraticInstance({ agents: 5, dx: 3, dy: 4, problemClass: 'personalized', heterogeneity: 0.5, noise: 0.1 }, 12)));
    const logistic = {
      global: { type: 'logreg-hpo', data: { source: 'seed000-synthetic', trainPerAgent: 30, valPerAgent: 30, testPerAgent: 10, features: 6 }, batch: 5 },
      personalized: { type: 'binary-logreg-hpo', data: { source: 'mnist', trainPerAgent: 12, valPerAgent: 12 }, batch: 4 },
    } as const;
    const results: Record<string, unknown> = {};
    for (const a of ALGORITHMS) {
      const problems = {
        quadratic: { type: 'quadratic', file: quadratic[a.problemClass], batch: 3 },
        logistic: logistic[a.problemClass],
      };
      const cases: Array<[string, Record<string, unknown>, Record<string, unknown>]> = [];
      for (const topology of [{ type: 'ring', agents: 5 }, { type: 'erdos-renyi', agents: 5, p: 0.6 }]) for (const label of ['quadratic', 'logistic'] as const) cases.push([`${label} ${topology.type}`, topology, {}]);
      for (const [i, v] of (VARIANTS[a.name] ?? []).entries()) for (const label of ['quadratic', 'logistic'] as const) cases.push([`${label} ring variant ${i} ${JSON.stringify(v)}`, { type: 'ring', agents: 5 }, v]);
      for (const [label, topology, params] of cases) {
        const problem = label.startsWith('quadratic') ? problems.quadratic : problems.logistic;
        const key = `${a.name} ${label}`;
        try {
          const config = resolveConfig({ seed: 3, iterations: 16, evalEvery: 4, problem, topology, algorithm: { name: a.name, ...params }, output: { bytesPerFloat: 8 } });
          const outcome = await runConfig(config);
          results[key] = { status: outcome.status, message: outcome.message ?? null, rows: outcome.rows.map((r) => fingerprintRow(r as unknown as Record<string, unknown>)) };
          process.stderr.write(`${key}: ${outcome.status}, ${outcome.rows.length} rows\n`);
        } catch (e) {
          results[key] = { status: `error: ${(e as Error).message}`, message: null, rows: [] };
          process.stderr.write(`${key}: error ${(e as Error).message}\n`);
        }
      }
    }
    writeFileSync(outFile, JSON.stringify(results, null, 1));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function compare(before: string, after: string): number {
  const a = JSON.parse(readFileSync(before, 'utf8')) as Record<string, { status: string; rows: Record<string, unknown>[] }>;
  const b = JSON.parse(readFileSync(after, 'utf8')) as Record<string, { status: string; rows: Record<string, unknown>[] }>;
  let bad = 0;
  let rows = 0;
  let values = 0;
  for (const key of Object.keys(a)) {
    const x = a[key]!;
    const y = b[key];
    if (!y) {
      console.log(`${key}: missing after`);
      bad++;
      continue;
    }
    const diffs: string[] = [];
    if (x.status !== y.status) diffs.push(`status ${x.status} → ${y.status}`);
    if (x.rows.length !== y.rows.length) diffs.push(`${x.rows.length} rows → ${y.rows.length}`);
    for (let i = 0; i < Math.min(x.rows.length, y.rows.length); i++) {
      for (const col of Object.keys(x.rows[i]!)) {
        if (!(col in y.rows[i]!)) continue; // a column removed later is reported once below
        values++;
        if (JSON.stringify(x.rows[i]![col]) !== JSON.stringify(y.rows[i]![col])) diffs.push(`row ${i} ${col}: ${String(x.rows[i]![col])} → ${String(y.rows[i]![col])}`);
      }
      rows++;
    }
    const missing = Object.keys(x.rows[0] ?? {}).filter((c) => !(c in (y.rows[0] ?? {})));
    if (missing.length) diffs.push(`columns missing after: ${missing.join(', ')}`);
    if (diffs.length) {
      bad++;
      console.log(`${key}: ${diffs.length} differences, first: ${diffs.slice(0, 3).join('; ')}`);
    }
  }
  console.log(`${Object.keys(a).length} runs, ${rows} rows, ${values} values compared; ${bad} runs differ`);
  return bad === 0 ? 0 : 1;
}

const args = process.argv.slice(2);
if (args[0] === '--compare' && args.length === 3) process.exitCode = compare(args[1]!, args[2]!);
else if (args.length === 1) await generate(args[0]!);
else {
  console.error('usage: rows-fingerprint.ts OUT.json | --compare BEFORE.json AFTER.json');
  process.exitCode = 2;
}
