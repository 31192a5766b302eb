/**
 * Bilevel problems as per-agent oracles (docs/architecture.md, "Oracles").
 *
 * Agent i holds an upper-level loss f_i(x, y) and a lower-level loss
 * g_i(x, y). Class `global` (G) solves min_x (1/m)Σ f_i(x, y*(x)) with
 * y*(x) = argmin_y (1/m)Σ g_i(x, y); class `personalized` (P) uses each
 * agent's own y_i*(x) = argmin g_i(x, ·) (docs/decisions.md §A).
 *
 * Derivative conventions (docs/decisions.md §0): ∇²_xy g is d_x × d_y;
 * JVP(v) = ∇²_xy g · v ∈ R^{d_x}; HVP(v) = ∇²_yy g · v ∈ R^{d_y}.
 */
import type { DataRecord } from '../data/record.ts';
import type { Vec } from '../linalg/vector.ts';

export type ProblemClass = 'global' | 'personalized';

/**
 * The samples an oracle call uses. `full` means every local sample of the
 * level (and, for synthetic-noise problems, the exact oracle). Otherwise the
 * first `size` entries of `indices` are sample indices; `seed` drives any
 * per-sample randomness (oracle noise), so evaluating the same batch at two
 * points uses identical samples, as STORM and SPIDER differences require.
 */
export interface Batch {
  full: boolean;
  size: number;
  readonly indices: Int32Array;
  seed: number;
}

/**
 * One point of a fused evaluation of the SOBA oracles (`AgentOracle.sobaPoints`):
 * the inputs (x, y, z) and the outputs of the four calls there.
 */
export interface SobaPoint {
  x: Vec;
  y: Vec;
  z: Vec;
  /** ∇_x f and ∇_y f on the upper batch. */
  readonly fx: Vec;
  readonly fy: Vec;
  /** ∇_y g, ∇²_yy g · z and ∇²_xy g · z on the lower batch. */
  readonly gy: Vec;
  readonly hz: Vec;
  readonly jz: Vec;
}

/**
 * The SOBA oracles at each point, one call after another:
 * gradF(x, y, upper, fx, fy), gradG(x, y, lower, null, gy),
 * jvp(x, y, z, lower, jz), hvp(x, y, z, lower, hz). What an oracle's fused
 * `sobaPoints` must equal bit for bit.
 */
export function sobaPointsSeparately(o: AgentOracle, points: ReadonlyArray<SobaPoint>, upper: Batch, lower: Batch): void {
  for (const p of points) {
    o.gradF(p.x, p.y, upper, p.fx, p.fy);
    o.gradG(p.x, p.y, lower, null, p.gy);
    o.jvp(p.x, p.y, p.z, lower, p.jz);
    o.hvp(p.x, p.y, p.z, lower, p.hz);
  }
}

/** The oracles of one agent. Outputs are written into caller buffers. */
export interface AgentOracle {
  readonly dx: number;
  readonly dy: number;
  /** Number of local upper-level (f) samples; Infinity for population oracles. */
  readonly upperSamples: number;
  /** Number of local lower-level (g) samples; Infinity for population oracles. */
  readonly lowerSamples: number;
  f(x: Vec, y: Vec, batch: Batch): number;
  g(x: Vec, y: Vec, batch: Batch): number;
  /** ∇_x f and ∇_y f at (x, y). */
  gradF(x: Vec, y: Vec, batch: Batch, outX: Vec, outY: Vec): void;
  /** ∇_y g and, when outX is given, ∇_x g at (x, y). */
  gradG(x: Vec, y: Vec, batch: Batch, outX: Vec | null, outY: Vec): void;
  /** ∇²_yy g · v. */
  hvp(x: Vec, y: Vec, v: Vec, batch: Batch, out: Vec): void;
  /** ∇²_xy g · v (length d_x). */
  jvp(x: Vec, y: Vec, v: Vec, batch: Batch, out: Vec): void;
  /** out (d_y × d_y, row-major) ← ∇²_yy g, formed explicitly. */
  hessian(x: Vec, y: Vec, batch: Batch, out: Vec): void;
  /** out (d_x × d_y, row-major) ← ∇²_xy g, formed explicitly. */
  jacobian(x: Vec, y: Vec, batch: Batch, out: Vec): void;
  /** Lower-level data loss without regularizer (equals g when there is none). */
  lowerDataLoss(x: Vec, y: Vec, batch: Batch): number;
  /**
   * Optional fused path: the four SOBA oracles at each point on the same
   * batches (e.g. the current and the previous point of a STORM difference)
   * with the rows of each batch read once for all of them. Must give exactly
   * the values of `sobaPointsSeparately` (bit for bit); the counting wrapper
   * counts one gradF, gradG, JVP and HVP per point.
   */
  sobaPoints?(points: ReadonlyArray<SobaPoint>, upper: Batch, lower: Batch): void;
}

/** What evaluators need beyond the oracles: held-out data and closed forms. */
export interface BilevelProblem {
  readonly type: string;
  readonly problemClass: ProblemClass;
  readonly m: number;
  readonly dx: number;
  readonly dy: number;
  readonly agents: ReadonlyArray<AgentOracle>;
  /** Test accuracy of the lower-level model y (class G: the mean ȳ) at x; absent when there is no test set. */
  readonly testAccuracy?: (x: Vec, y: Vec) => number;
  /**
   * Accuracy of the lower-level model y on agent `agent`'s own lower-level
   * (training) samples at x. The evaluator's `trainAccuracy` is the mean over
   * agents, with y_i (class P) or ȳ (class G).
   */
  readonly trainAccuracy?: (x: Vec, y: Vec, agent: number) => number;
  /**
   * Closed-form ground truth, when the problem has one: y*(x) for class G
   * (agent ignored) or y_i*(x) for class P, and ∇Φ(x).
   */
  /**
   * A seeded starting point, identical on all agents (e.g. PyTorch-default
   * network weights). The runner uses it for x and y unless the config's
   * `init` sets them.
   */
  readonly initialPoint?: (seed: number) => { x?: Vec; y?: Vec };
  /** Problem-specific columns of an evaluation row (e.g. cleaning precision/recall), from x̄ and ȳ. */
  readonly extraMetrics?: (xBar: Vec, yBar: Vec) => Record<string, number>;
  /** False when the lower level has no computable solution (nonconvex in y, or d_y too large): ground-truth evaluation is refused. */
  readonly groundTruth?: boolean;
  /** False when ∇²_yy g and ∇²_xy g must never be formed as dense matrices (d_y too large): algorithms that form them are refused. */
  readonly denseMatrices?: boolean;
  /** What each agent holds, written to data.json. */
  readonly data?: DataRecord;
  readonly exact?: {
    lowerSolution(x: Vec, agent: number, out: Vec): void;
    hypergradient(x: Vec, out: Vec): void;
  };
  /** The problem of some of the agents only (ids ascending), with its own closed forms; see survivors.ts for the generic fallback. */
  readonly restrict?: (agents: ReadonlyArray<number>) => BilevelProblem;
}

/** A batch that selects every local sample. */
export function fullBatch(): Batch {
  return { full: true, size: 0, indices: new Int32Array(0), seed: 0 };
}
