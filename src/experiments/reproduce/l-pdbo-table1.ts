/**
 * SEED-002 Table I: the number of Hessians computed (per node) by SPDB and
 * L-PDBO to reach a given average test accuracy of the personalized models on
 * MNIST 0/1. The runs are those of the SEED-002 presets (presets/seed002.ts;
 * `dbo reproduce e2-3`, alias `l-pdbo-table1`).
 *
 * Counting convention: Hessians per node = (HVP calls + explicitly formed
 * Hessians) / m, cumulated up to the first evaluation at or above the target
 * accuracy. L-PDBO makes one per iteration; SPDB makes n_k, plus the 30 HVPs
 * of its one-time L_g power iteration, which are reported separately.
 */
import type { MetricsRow } from '../runner.ts';

export const TABLE1_TARGETS = [0.65, 0.7, 0.8, 0.9, 0.95] as const;
export const TABLE1_PAPER: Record<'spdb' | 'l-pdbo', readonly number[]> = {
  spdb: [320, 410, 920, 3000, 9530],
  'l-pdbo': [330, 360, 690, 1650, 3700],
};

/** The one-time L_g power iteration of SPDB (src/hypergrad/neumann.ts estimateLg). */
const LG_POWER_ITERATIONS = 30;

export interface Table1Result {
  readonly algorithm: 'spdb' | 'l-pdbo';
  /** Hessians per node at the first row reaching each target (null: not reached). */
  readonly hessians: Array<number | null>;
  readonly iterations: Array<number | null>;
  readonly finalAccuracy: number;
  readonly overheadPerNode: number;
}

export function hessiansToTargets(algorithm: 'spdb' | 'l-pdbo', rows: ReadonlyArray<MetricsRow>, agents: number): Table1Result {
  const overhead = algorithm === 'spdb' ? LG_POWER_ITERATIONS : 0;
  const hessians: Array<number | null> = [];
  const iterations: Array<number | null> = [];
  for (const target of TABLE1_TARGETS) {
    const row = rows.find((r) => (r.testAccuracy ?? 0) >= target);
    hessians.push(row ? (row.hvp + row.hessian) / agents - (row.iteration > 0 ? overhead : 0) : null);
    iterations.push(row ? row.iteration : null);
  }
  return { algorithm, hessians, iterations, finalAccuracy: rows.at(-1)?.testAccuracy ?? NaN, overheadPerNode: overhead };
}

export function formatTable1(results: ReadonlyArray<Table1Result>): string {
  const header = `| test accuracy | ${TABLE1_TARGETS.join(' | ')} |`;
  const rule = `|---|${TABLE1_TARGETS.map(() => '---').join('|')}|`;
  const lines = [header, rule];
  for (const r of results) {
    lines.push(`| ${r.algorithm} (paper) | ${TABLE1_PAPER[r.algorithm].join(' | ')} |`);
    lines.push(`| ${r.algorithm} (dbo, Hessians/node) | ${r.hessians.map((h) => (h === null ? 'not reached' : String(h))).join(' | ')} |`);
    lines.push(`| ${r.algorithm} (dbo, iterations) | ${r.iterations.map((h) => (h === null ? '—' : String(h))).join(' | ')} |`);
  }
  return lines.join('\n');
}
