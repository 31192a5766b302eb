/**
 * Oracle accounting. Every oracle call an algorithm makes goes through a
 * CountingOracle, which counts calls and samples by kind; algorithms never
 * count for themselves (docs/architecture.md, "Oracles"; unlike benchopt's hand-written
 * tables). Evaluators use the raw oracles, so metrics never inflate counts.
 */
import type { Vec } from '../linalg/vector.ts';
import { sobaPointsSeparately, type AgentOracle, type Batch, type SobaPoint } from './types.ts';

/**
 * Oracle kinds: gradients of f (∇_x f and ∇_y f together) and g, Hessian- and
 * Jacobian-vector products, values, and explicitly formed Hessian (d_y × d_y)
 * and Jacobian (d_x × d_y) matrices.
 */
export const ORACLE_KINDS = ['gradF', 'gradG', 'hvp', 'jvp', 'valueF', 'valueG', 'hessian', 'jacobian'] as const;
export type OracleKind = (typeof ORACLE_KINDS)[number];

export interface OracleCounts {
  /** Calls by kind. */
  readonly calls: Record<OracleKind, number>;
  /** Sample evaluations by kind (batch size per call; the local sample count for a full batch). */
  readonly samples: Record<OracleKind, number>;
}

export function emptyCounts(): OracleCounts {
  const zero = (): Record<OracleKind, number> => ({ gradF: 0, gradG: 0, hvp: 0, jvp: 0, valueF: 0, valueG: 0, hessian: 0, jacobian: 0 });
  return { calls: zero(), samples: zero() };
}

export function addCounts(into: OracleCounts, from: OracleCounts): void {
  for (const k of ORACLE_KINDS) {
    into.calls[k] += from.calls[k];
    into.samples[k] += from.samples[k];
  }
}

export class CountingOracle implements AgentOracle {
  readonly counts: OracleCounts = emptyCounts();
  readonly dx: number;
  readonly dy: number;
  readonly upperSamples: number;
  readonly lowerSamples: number;

  constructor(readonly inner: AgentOracle) {
    this.dx = inner.dx;
    this.dy = inner.dy;
    this.upperSamples = inner.upperSamples;
    this.lowerSamples = inner.lowerSamples;
  }

  private count(kind: OracleKind, batch: Batch, population: number): void {
    this.counts.calls[kind]++;
    this.counts.samples[kind] += batch.full ? (Number.isFinite(population) ? population : 1) : batch.size;
  }

  f(x: Vec, y: Vec, batch: Batch): number {
    this.count('valueF', batch, this.upperSamples);
    return this.inner.f(x, y, batch);
  }
  g(x: Vec, y: Vec, batch: Batch): number {
    this.count('valueG', batch, this.lowerSamples);
    return this.inner.g(x, y, batch);
  }
  gradF(x: Vec, y: Vec, batch: Batch, outX: Vec, outY: Vec): void {
    this.count('gradF', batch, this.upperSamples);
    this.inner.gradF(x, y, batch, outX, outY);
  }
  gradG(x: Vec, y: Vec, batch: Batch, outX: Vec | null, outY: Vec): void {
    this.count('gradG', batch, this.lowerSamples);
    this.inner.gradG(x, y, batch, outX, outY);
  }
  hvp(x: Vec, y: Vec, v: Vec, batch: Batch, out: Vec): void {
    this.count('hvp', batch, this.lowerSamples);
    this.inner.hvp(x, y, v, batch, out);
  }
  jvp(x: Vec, y: Vec, v: Vec, batch: Batch, out: Vec): void {
    this.count('jvp', batch, this.lowerSamples);
    this.inner.jvp(x, y, v, batch, out);
  }
  hessian(x: Vec, y: Vec, batch: Batch, out: Vec): void {
    this.count('hessian', batch, this.lowerSamples);
    this.inner.hessian(x, y, batch, out);
  }
  jacobian(x: Vec, y: Vec, batch: Batch, out: Vec): void {
    this.count('jacobian', batch, this.lowerSamples);
    this.inner.jacobian(x, y, batch, out);
  }
  lowerDataLoss(x: Vec, y: Vec, batch: Batch): number {
    this.count('valueG', batch, this.lowerSamples);
    return this.inner.lowerDataLoss(x, y, batch);
  }
  /** One gradF, gradG, JVP and HVP per point; the inner oracle's fused path when it has one. */
  sobaPoints(points: ReadonlyArray<SobaPoint>, upper: Batch, lower: Batch): void {
    for (let k = 0; k < points.length; k++) {
      this.count('gradF', upper, this.upperSamples);
      this.count('gradG', lower, this.lowerSamples);
      this.count('jvp', lower, this.lowerSamples);
      this.count('hvp', lower, this.lowerSamples);
    }
    if (this.inner.sobaPoints) this.inner.sobaPoints(points, upper, lower);
    else sobaPointsSeparately(this.inner, points, upper, lower);
  }
}
