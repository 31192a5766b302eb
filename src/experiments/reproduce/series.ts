/**
 * Curves from result rows, for verdicts: one column against another, the mean
 * over seeds with a min–max band, linear interpolation, and the comparison of
 * two curves on a common x-grid.
 */
import type { MetricsRow } from '../runner.ts';
import type { RunResult } from './preset.ts';

export type Column = (row: MetricsRow) => number;

export const col = {
  iteration: (r: MetricsRow) => r.iteration,
  rounds: (r: MetricsRow) => r.rounds,
  mb: (r: MetricsRow) => r.bytes / 1e6,
  elapsedMs: (r: MetricsRow) => r.elapsedMs,
  ifo: (r: MetricsRow) => r.ifo,
  lowerLoss: (r: MetricsRow) => r.lowerLoss,
  testAccuracy: (r: MetricsRow) => r.testAccuracy ?? NaN,
  trainAccuracy: (r: MetricsRow) => r.trainAccuracy ?? NaN,
  hypergradNormSq: (r: MetricsRow) => r.hypergradNormSq ?? NaN,
  interactMetric: (r: MetricsRow) => r.interactMetric ?? NaN,
  prometheusMetric: (r: MetricsRow) => r.prometheusMetric ?? NaN,
  upperLoss: (r: MetricsRow) => r.upperLoss,
  cleaningPrecision: (r: MetricsRow) => r.cleaningPrecision ?? NaN,
  cleaningRecall: (r: MetricsRow) => r.cleaningRecall ?? NaN,
  /** Hessians per node (SEED-002's NHMC): (HVPs + formed Hessians) / m. */
  hessiansPerNode: (m: number, offset = 0) => (r: MetricsRow) => Math.max(0, (r.hvp + r.hessian) / m - (r.iteration > 0 ? offset : 0)),
  /** Oracle calls per node: ∇f, ∇g, HVP and JVP. */
  gradEvalsPerNode: (m: number) => (r: MetricsRow) => (r.gradF + r.gradG + r.hvp + r.jvp) / m,
};

export interface Curve {
  readonly x: number[];
  readonly y: number[];
  readonly min: number[];
  readonly max: number[];
  readonly seeds: number;
}

/** The mean over seeds of y against the mean of x, row by row (seeds share the evaluation schedule). */
export function meanCurve(results: ReadonlyArray<RunResult>, x: Column, y: Column): Curve {
  const n = Math.min(...results.map((r) => r.rows.length));
  const out: Curve = { x: [], y: [], min: [], max: [], seeds: results.length };
  if (results.length === 0 || !Number.isFinite(n)) return out;
  for (let k = 0; k < n; k++) {
    const ys = results.map((r) => y(r.rows[k]!));
    out.x.push(results.reduce((s, r) => s + x(r.rows[k]!), 0) / results.length);
    out.y.push(ys.reduce((s, v) => s + v, 0) / ys.length);
    out.min.push(Math.min(...ys));
    out.max.push(Math.max(...ys));
  }
  return out;
}

/**
 * "diverged at iteration N" (several seeds: "diverged at iterations N₁, N₂ (seeds 1, 3)") when a run
 * of `runs` diverged, else null: a verdict must say so rather than read the rows before the divergence.
 */
export function divergedAt(runs: ReadonlyArray<RunResult>): string | null {
  const diverged = runs.filter((r) => r.status === 'diverged');
  if (diverged.length === 0) return null;
  const at = diverged.map((r) => /iteration (\d+)/.exec(r.message ?? '')?.[1] ?? '?');
  if (runs.length === 1) return `diverged at iteration ${at[0]}`;
  return `diverged at iteration${at.length > 1 ? 's' : ''} ${at.join(', ')} (seed${at.length > 1 ? 's' : ''} ${diverged.map((r) => r.seed).join(', ')} of ${runs.length})`;
}

/** y at x by linear interpolation; null outside the curve's x-range. */
export function valueAt(c: Curve, x: number): number | null {
  const n = c.x.length;
  if (n === 0 || x < c.x[0]! || x > c.x[n - 1]!) return null;
  for (let k = 1; k < n; k++) {
    if (x <= c.x[k]!) {
      const x0 = c.x[k - 1]!;
      const x1 = c.x[k]!;
      const t = x1 === x0 ? 1 : (x - x0) / (x1 - x0);
      return c.y[k - 1]! + t * (c.y[k]! - c.y[k - 1]!);
    }
  }
  return c.y[n - 1]!;
}

export function final(c: Curve): number {
  return c.y.at(-1) ?? NaN;
}

export function finalSpread(c: Curve): number {
  return (c.max.at(-1) ?? NaN) - (c.min.at(-1) ?? NaN);
}

/** Geometric mean of y over the last `fraction` of the points (for metrics spanning decades). */
export function tailGeoMean(c: Curve, fraction = 0.25): number {
  const n = c.y.length;
  const start = Math.min(n - 1, Math.floor(n * (1 - fraction)));
  const tail = c.y.slice(start).filter((v) => v > 0 && Number.isFinite(v));
  if (tail.length === 0) return NaN;
  return Math.exp(tail.reduce((s, v) => s + Math.log(v), 0) / tail.length);
}

/** Area under y over the points (trapezoid in x), divided by the x-range: the mean level of the curve. */
export function meanLevel(c: Curve): number {
  let area = 0;
  for (let k = 1; k < c.x.length; k++) area += ((c.y[k]! + c.y[k - 1]!) / 2) * (c.x[k]! - c.x[k - 1]!);
  const range = (c.x.at(-1) ?? 0) - (c.x[0] ?? 0);
  return range > 0 ? area / range : (c.y[0] ?? NaN);
}

export interface Comparison {
  /** Grid points compared: the x values of both curves inside both x-ranges and [from, to]. */
  readonly points: number;
  /** Points where a is better than (or equal to) b. */
  readonly wins: number;
  readonly fraction: number;
}

/**
 * Compares curve a with curve b on the union of their x values inside both
 * x-ranges (and [from, to]), each interpolated linearly between its own
 * evaluations; a "wins" where it is at least as good (≤ when lower is better).
 */
export function compareCurves(a: Curve, b: Curve, options: { lowerIsBetter: boolean; from?: number; to?: number }): Comparison {
  const lo = Math.max(a.x[0] ?? Infinity, b.x[0] ?? Infinity, options.from ?? -Infinity);
  const hi = Math.min(a.x.at(-1) ?? -Infinity, b.x.at(-1) ?? -Infinity, options.to ?? Infinity);
  const grid = [...new Set([...a.x, ...b.x])].filter((x) => x >= lo && x <= hi).sort((p, q) => p - q);
  let points = 0;
  let wins = 0;
  for (const x of grid) {
    const ya = valueAt(a, x);
    const yb = valueAt(b, x);
    if (ya === null || yb === null || !Number.isFinite(ya) || !Number.isFinite(yb)) continue;
    points++;
    if (options.lowerIsBetter ? ya <= yb : ya >= yb) wins++;
  }
  return { points, wins, fraction: points === 0 ? NaN : wins / points };
}

/** The first x at which y reaches the level (≤ level when lower is better); null when never. */
export function firstReach(c: Curve, level: number, lowerIsBetter: boolean): number | null {
  for (let k = 0; k < c.x.length; k++) if (lowerIsBetter ? c.y[k]! <= level : c.y[k]! >= level) return c.x[k]!;
  return null;
}

/** Compact number formatting for verdicts: 4 significant digits, scientific below 1e-3. */
export function num(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  if (!Number.isFinite(v)) return String(v);
  if (v !== 0 && (Math.abs(v) < 1e-3 || Math.abs(v) >= 1e6)) return v.toExponential(3);
  return Number(v.toPrecision(4)).toString();
}

export function pct(fraction: number): string {
  return Number.isNaN(fraction) ? '—' : `${Math.round(fraction * 100)} %`;
}

/** A markdown table. */
export function mdTable(header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string {
  const cell = (c: string) => c.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  return [`| ${header.map(cell).join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');
}
