/**
 * The exact local hypergradient surrogate (INTERACT (5), SEED-001):
 *   ∇̄f_i(x, y) = ∇_x f_i − ∇²_xy g_i [∇²_yy g_i]⁻¹ ∇_y f_i,
 * with the inverse applied by conjugate gradients over the agent's counted
 * HVPs (one HVP per CG iteration, plus one for the initial residual), warm
 * started from the previous solution kept in the caller's buffer `v`.
 */
import { cgWorkspace, conjugateGradient, type CgWorkspace } from '../linalg/matrix.ts';
import { lincomb, type Vec } from '../linalg/vector.ts';
import type { AgentOracle, Batch } from '../problems/types.ts';

export interface ExactScratch {
  readonly fx: Vec;
  readonly fy: Vec;
  readonly jv: Vec;
  readonly cg: CgWorkspace;
}

export function exactScratch(dx: number, dy: number): ExactScratch {
  return { fx: new Float64Array(dx), fy: new Float64Array(dy), jv: new Float64Array(dx), cg: cgWorkspace(dy) };
}

/** out ← ∇̄f(x, y); `v` holds the warm start and receives H⁻¹∇_y f. Returns the CG iterations. */
export function exactHypergradient(o: AgentOracle, x: Vec, y: Vec, upper: Batch, lower: Batch, v: Vec, ws: ExactScratch, out: Vec, tol = 1e-10): number {
  o.gradF(x, y, upper, ws.fx, ws.fy);
  const r = conjugateGradient((res, d) => o.hvp(x, y, d, lower, res), ws.fy, v, { tol, maxIter: 10 * v.length + 100, workspace: ws.cg });
  o.jvp(x, y, v, lower, ws.jv);
  lincomb(out, 1, ws.fx, -1, ws.jv);
  return r.iterations;
}
