/** Small text formatting helpers for the command line. */
import type { MetricsRow, RunTiming } from '../experiments/runner.ts';

export function sci(v: number | undefined): string {
  if (v === undefined) return '—';
  if (!Number.isFinite(v)) return String(v);
  return v === 0 ? '0' : v.toExponential(2);
}

export function megabytes(bytes: number): string {
  return (bytes / 1e6).toFixed(bytes < 1e7 ? 3 : 1);
}

/** A fixed-width table with a header row. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** The final row in one line; with `timing`, the wall, compute and evaluation times of the run. */
export function summaryLines(row: MetricsRow, timing?: RunTiming): string {
  const parts = [
    `iteration ${row.iteration}`,
    `‖∇Φ(x̄)‖² ${sci(row.hypergradNormSq)}`,
    `consensus x ${sci(row.consensusX)}`,
    `lower error ${sci(row.lowerError)}`,
    `upper loss ${row.upperLoss.toPrecision(5)}`,
    ...(row.testAccuracy !== undefined ? [`test accuracy ${row.testAccuracy.toFixed(4)}`] : []),
    `rounds ${row.rounds}`,
    `${megabytes(row.bytes)} MB sent`,
    ...(timing ? [`wall ${seconds(timing.wallMs)} (compute ${seconds(timing.computeMs)}, evaluation ${seconds(timing.evaluationMs)})`] : [`compute ${seconds(row.elapsedMs)}`]),
  ];
  return parts.join(' · ');
}
