/**
 * From runs to chart series: column checks, grouping of seeds, labels and
 * the mean / min–max band on a common x grid.
 *
 * - Runs whose resolved configs are equal apart from `seed` (and `name`) are
 *   seeds of one setting: they are drawn as one mean curve with a min–max band.
 * - Each curve is labelled by its algorithm and the config keys whose values
 *   differ between the curves (algorithm parameters only between curves of the
 *   same algorithm, so comparing two algorithms does not list their parameters).
 * - The seeds of a setting are put on a common x grid: their shared x values
 *   when they agree (iterations, rounds, bytes usually do), otherwise the union
 *   of their x values inside the range they all cover, each run linearly
 *   interpolated onto it.
 */
import { DboError } from '../errors.ts';
import type { RunData, StoredRow } from './run-data.ts';

/** Aliases accepted for columns. */
const ALIASES: Record<string, string> = { MB: 'bytes', mb: 'bytes', megabytes: 'bytes', iterations: 'iteration' };

const DESCRIPTIONS: Record<string, string> = {
  rounds: 'communication rounds',
  messages: 'messages sent',
  floats: 'floats sent',
  bytes: 'MB sent',
  hypergradNormSq: '‖∇Φ(x̄)‖²',
  consensusX: '(1/m)Σ‖xᵢ−x̄‖²',
  consensusY: '(1/m)Σ‖yᵢ−ȳ‖²',
  consensusZ: '(1/m)Σ‖zᵢ−z̄‖²',
  lowerError: 'lower-level error',
  upperLoss: 'upper loss',
  lowerLoss: 'lower loss',
  testAccuracy: 'test accuracy',
  elapsedMs: 'compute time (ms)',
  gradF: '∇f calls',
  gradG: '∇g calls',
  hvp: 'Hessian-vector products',
  jvp: 'Jacobian-vector products',
};

export function resolveColumn(name: string): string {
  return ALIASES[name] ?? name;
}

/** Axis title: the column name with what it means and its unit, e.g. "bytes (MB sent, 10⁶ bytes)". */
export function columnTitle(column: string): string {
  if (column === 'bytes') return 'bytes (MB sent, 1 MB = 10⁶ bytes)';
  const d = DESCRIPTIONS[column];
  return d ? `${column} (${d})` : column;
}

/** The value as plotted: bytes in MB; non-finite or non-numeric → undefined. */
export function plotValue(row: StoredRow, column: string): number | undefined {
  const v = row[column];
  if (typeof v !== 'number' || !Number.isFinite(v)) return undefined;
  return column === 'bytes' ? v / 1e6 : v;
}

/** Numeric columns present in any of the runs' rows. */
export function numericColumns(runs: ReadonlyArray<RunData>): string[] {
  const seen = new Set<string>();
  for (const r of runs) for (const row of r.rows) for (const [k, v] of Object.entries(row)) if (typeof v === 'number' || v === 'NaN' || v === 'Infinity' || v === '-Infinity') seen.add(k);
  return [...seen];
}

/** Checks that every run has the column with numbers in it; one clear error otherwise. */
export function checkColumn(runs: ReadonlyArray<RunData>, column: string, axis: 'x' | 'y'): void {
  const known = numericColumns(runs);
  for (const r of runs) {
    if (r.rows.length === 0) throw new DboError(`${r.dir}: metrics.jsonl has no rows yet`);
    const present = r.rows.some((row) => column in row);
    if (!present) {
      const anywhere = runs.some((o) => o.rows.some((row) => column in row));
      if (anywhere) throw new DboError(`--${axis} ${column}: column missing in ${r.dir}/metrics.jsonl (it is present in other runs)`);
      throw new DboError(`--${axis} ${column}: no such column in metrics.jsonl (available: ${known.join(', ')})`);
    }
    if (!r.rows.some((row) => typeof row[column] === 'number' || (typeof row[column] === 'string' && ['NaN', 'Infinity', '-Infinity'].includes(row[column] as string))))
      throw new DboError(`--${axis} ${column}: column is not numeric in ${r.dir}/metrics.jsonl (available numeric columns: ${known.join(', ')})`);
  }
}

/** The x column must not decrease along a run (curves are drawn in row order). */
export function checkMonotone(runs: ReadonlyArray<RunData>, column: string): void {
  for (const r of runs) {
    let prev = -Infinity;
    for (let i = 0; i < r.rows.length; i++) {
      const v = plotValue(r.rows[i]!, column);
      if (v === undefined) continue;
      if (v < prev) throw new DboError(`--x ${column}: not monotone in ${r.dir}/metrics.jsonl (row ${i + 1} has ${v} after ${prev}); choose a column that grows along the run, e.g. iteration, rounds or bytes`);
      prev = v;
    }
  }
}

/** Flattens a config to dotted key paths (arrays are leaves). */
export function flatten(value: unknown, prefix = '', out: Record<string, string> = {}): Record<string, string> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else out[prefix] = JSON.stringify(value);
  return out;
}

const NOT_A_SETTING = new Set(['seed', 'name']);

export interface RunGroup {
  /** Legend label: algorithm and the settings that distinguish this curve. */
  label: string;
  algorithm: string;
  runs: RunData[];
  /** Key path → value (JSON) of the settings that distinguish this curve. */
  distinguishing: Record<string, string>;
}

function shortKey(key: string): string {
  return key.replace(/^algorithm\./, '').replace(/\.type$/, '');
}

function settingKey(run: RunData): Record<string, string> {
  const flat = flatten(run.config);
  for (const k of Object.keys(flat)) if (NOT_A_SETTING.has(k)) delete flat[k];
  return flat;
}

/** Groups the seeds of each setting and labels the groups. */
export function groupRuns(runs: ReadonlyArray<RunData>): RunGroup[] {
  const groups: { flat: Record<string, string>; runs: RunData[] }[] = [];
  const keyOf = (flat: Record<string, string>) => JSON.stringify(Object.entries(flat).sort(([a], [b]) => (a < b ? -1 : 1)));
  const byKey = new Map<string, { flat: Record<string, string>; runs: RunData[] }>();
  for (const r of runs) {
    const flat = settingKey(r);
    const k = keyOf(flat);
    let g = byKey.get(k);
    if (!g) {
      g = { flat, runs: [] };
      byKey.set(k, g);
      groups.push(g);
    }
    g.runs.push(r);
  }
  const algo = (g: { flat: Record<string, string> }) => (g.flat['algorithm.name'] ? (JSON.parse(g.flat['algorithm.name']) as string) : '?');
  const allKeys = [...new Set(groups.flatMap((g) => Object.keys(g.flat)))].sort();
  const differs = (key: string, among: typeof groups) => new Set(among.map((g) => g.flat[key] ?? 'undefined')).size > 1;
  const labelled = groups.map((g) => {
    const distinguishing: Record<string, string> = {};
    for (const key of allKeys) {
      if (key === 'algorithm.name') continue;
      const among = key.startsWith('algorithm.') ? groups.filter((o) => algo(o) === algo(g)) : groups;
      if (g.flat[key] !== undefined && differs(key, among)) distinguishing[key] = g.flat[key]!;
    }
    const parts = Object.entries(distinguishing).map(([k, v]) => `${shortKey(k)}=${v.startsWith('"') ? (JSON.parse(v) as string) : v}`);
    return { label: parts.length ? `${algo(g)}, ${parts.join(', ')}` : algo(g), algorithm: algo(g), runs: g.runs, distinguishing };
  });
  // Labels must be unique (e.g. two identical configs in a plain list of runs).
  const count = new Map<string, number>();
  for (const g of labelled) count.set(g.label, (count.get(g.label) ?? 0) + 1);
  const seen = new Map<string, number>();
  for (const g of labelled) {
    if ((count.get(g.label) ?? 0) > 1) {
      const n = (seen.get(g.label) ?? 0) + 1;
      seen.set(g.label, n);
      g.label = `${g.label} #${n}`;
    }
  }
  return labelled;
}

export interface SeriesPoint {
  x: number;
  /** Mean over the seeds (the value itself for a single run). */
  y: number;
  lo: number;
  hi: number;
}

export interface Series {
  label: string;
  /** Number of runs (seeds) averaged. */
  n: number;
  points: SeriesPoint[];
}

function pairs(run: RunData, x: string, y: string): [number, number][] {
  const out: [number, number][] = [];
  for (const row of run.rows) {
    const xv = plotValue(row, x);
    const yv = plotValue(row, y);
    if (xv !== undefined && yv !== undefined) out.push([xv, yv]);
  }
  return out;
}

/** Linear interpolation of y at x (xs non-decreasing; ties take the last row). */
function interpolate(p: [number, number][], x: number): number {
  let hi = p.findIndex(([px]) => px > x);
  if (hi === -1) return p.at(-1)![1];
  if (hi === 0) return p[0]![1];
  const [x0, y0] = p[hi - 1]!;
  const [x1, y1] = p[hi]!;
  return x1 === x0 ? y1 : y0 + ((y1 - y0) * (x - x0)) / (x1 - x0);
}

const MAX_POINTS = 1000;

function thin<T>(values: T[], max = MAX_POINTS): T[] {
  if (values.length <= max) return values;
  const stride = (values.length - 1) / (max - 1);
  return Array.from({ length: max }, (_, i) => values[Math.round(i * stride)]!);
}

/** The mean and min–max band of a group's runs on their common x grid. */
export function aggregate(group: RunGroup, x: string, y: string): Series {
  const curves = group.runs.map((r) => pairs(r, x, y)).filter((c) => c.length > 0);
  if (curves.length === 0) return { label: group.label, n: group.runs.length, points: [] };
  if (curves.length === 1) return { label: group.label, n: 1, points: thin(curves[0]!).map(([px, py]) => ({ x: px, y: py, lo: py, hi: py })) };
  const sameGrid = curves.every((c) => c.length === curves[0]!.length && c.every(([px], i) => px === curves[0]![i]![0]));
  let grid: number[];
  if (sameGrid) grid = curves[0]!.map(([px]) => px);
  else {
    const from = Math.max(...curves.map((c) => c[0]![0]));
    const to = Math.min(...curves.map((c) => c.at(-1)![0]));
    grid = [...new Set(curves.flatMap((c) => c.map(([px]) => px)).filter((v) => v >= from && v <= to))].sort((a, b) => a - b);
  }
  const points = thin(grid.map((gx, i) => ({ gx, i }))).map(({ gx, i }) => {
    const ys = curves.map((c) => (sameGrid ? c[i]![1] : interpolate(c, gx)));
    return { x: gx, y: ys.reduce((s, v) => s + v, 0) / ys.length, lo: Math.min(...ys), hi: Math.max(...ys) };
  });
  return { label: group.label, n: curves.length, points };
}

/** Whether positive values spanning at least two decades call for a log scale. */
export function spansDecades(values: number[]): boolean {
  const pos = values.filter((v) => v > 0 && Number.isFinite(v));
  if (pos.length < 2 || values.some((v) => v < 0)) return false;
  return Math.max(...pos) / Math.min(...pos) >= 100;
}
