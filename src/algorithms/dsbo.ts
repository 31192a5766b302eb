/**
 * DSBO: decentralized stochastic bilevel optimization with a decentralized
 * Jacobian–Hessian-inverse product (JHIP). Chen, Huang, Ma, "Decentralized
 * Bilevel Optimization", arXiv 2206.05670; docs/decisions.md §9
 * (reconstruction: no primary pseudocode was available, docs/decisions.md §9) with the
 * seed-verified profile of SEED-000 (O(log 1/ε) rounds per iteration of
 * O(d_x·d_y) floats each, explicit second-order matrices).
 *
 * Per agent i, outer iteration k (x is held fixed during steps 1–3):
 *   1. T = innerSteps rounds of decentralized (S)GD on y, a fresh lower
 *      minibatch each step:  y ← Σ_j w_ij y_j − β ∇_y g_i(x, y)
 *   2. explicit H_i = ∇²_yy g_i(x, y^T) (d_y × d_y) and J_i = ∇²_xy g_i(x, y^T)
 *      (d_x × d_y), formed once on one lower minibatch ζ
 *   3. K = jhipSteps rounds of JHIP on the d_x × d_y matrix Z_i ≈ J̄ H̄⁻¹:
 *        Z_i ← Σ_j w_ij Z_j − γ (Z_i H_i − J_i)
 *   4. hypergradient d_i = ∇_x f_i − Z_i ∇_y f_i at (x, y^T) (one upper batch ξ)
 *   5. x ← Σ_j w_ij x_j − η d_i   (one round)
 * Z plays the role of Jᵀ-side z of docs/decisions.md §0: Z ∇_y f ≈ J H⁻¹ ∇_y f = J z.
 * y and Z are warm-started from the previous outer iteration; Z⁰ = 0.
 *
 * Communication: T + K + 1 rounds per iteration; each directed message
 * carries d_y floats in the y rounds, d_x·d_y floats (the whole matrix Z_i)
 * in the JHIP rounds and d_x in the x round: T·d_y + K·d_x·d_y + d_x floats
 * per neighbour per iteration.
 * Oracles per iteration: T ∇_y G, 1 Hessian, 1 Jacobian (explicit matrices),
 * 1 ∇F.
 *
 * Behaviour implied by the design: JHIP has no gradient tracking, so with
 * heterogeneous Hessians its fixed point satisfies only Σ_i (Z_i H_i − J_i) = 0
 * with Z_i ≠ Z̄: the average Z̄ misses J̄ H̄⁻¹ by O(γ) (a consensus floor), on
 * top of the O(β) and O(η) floors of the untracked y and x gossip.
 *
 * Decisions (reconstruction, to list in the docs):
 * - Draw order per iteration: T lower batches, then the (upper ξ, lower ζ)
 *   pair; ζ is shared by the Hessian and the Jacobian (docs/decisions.md §10), ξ gives ∇F.
 * - Defaults η = 0.01, β = γ = 0.1, T = K = 10 (not given in the sources;
 *   chosen to match MA-DSBO's SEED-000 settings).
 */
import { z } from 'zod';
import { gemv, gemvT, type Matrix } from '../linalg/matrix.ts';
import { axpy, lincomb, sub, type Vec } from '../linalg/vector.ts';
import { mixRound } from '../network/link.ts';
import { BatchSampler } from '../problems/batch.ts';
import { baseState, BatchPair, gossipLowerSteps, param } from './blocks.ts';
import type { AgentContext, AgentStateBase, Algorithm } from './types.ts';

const params = z.strictObject({
  eta: param.positive('eta').default(0.01).describe('upper-level (x) step η'),
  beta: param.positive('beta').default(0.1).describe('lower-level (y) step β of the inner gossip-(S)GD loop'),
  gamma: param.positive('gamma').default(0.1).describe('JHIP step γ (decentralized iteration for Z ≈ J H⁻¹)'),
  innerSteps: param.count('innerSteps').default(10).describe('T: lower-level gossip steps (one round of d_y floats each) per iteration'),
  jhipSteps: param.count('jhipSteps').default(10).describe('K: JHIP steps (one round of d_x·d_y floats each) per iteration'),
});

export type DsboParams = z.infer<typeof params>;

export interface DsboState extends AgentStateBase {
  /** JHIP estimate Z_i ≈ ∇²_xy ḡ [∇²_yy ḡ]⁻¹, d_x × d_y row-major. */
  zMatrix: Vec;
}

function matrix(rows: number, cols: number): Matrix {
  return { rows, cols, data: new Float64Array(rows * cols) };
}

function workspace(ctx: AgentContext) {
  const { dx, dy } = ctx;
  const lowerSampler = new BatchSampler(ctx.oracle.lowerSamples, ctx.batch.lower);
  const zBuf = matrix(dx, dy);
  const residual = matrix(dx, dy);
  const rows = (m: Matrix) => Array.from({ length: dx }, (_, r) => m.data.subarray(r * dy, (r + 1) * dy));
  return {
    lowerSampler,
    lower: lowerSampler.create(),
    pair: BatchPair.fromContext(ctx),
    gy: new Float64Array(dy),
    hessian: matrix(dy, dy),
    jacobian: matrix(dx, dy),
    /** Working copy of Z (also the JHIP message) and Z H − J, with row views. */
    zBuf,
    zRows: rows(zBuf),
    residual,
    residualRows: rows(residual),
    fx: new Float64Array(dx),
    fy: new Float64Array(dy),
    zfy: new Float64Array(dx),
    d: new Float64Array(dx),
  };
}

type Workspace = ReturnType<typeof workspace>;

async function step(s: DsboState, ctx: AgentContext, ws: Workspace, p: DsboParams): Promise<void> {
  const o = ctx.oracle;
  // 1. T rounds of gossip (S)GD on y at fixed x.
  await gossipLowerSteps(ctx, s.x, s.y, p.beta, p.innerSteps, ws.lowerSampler, ws.lower, s.rng, ws.gy);
  // 2. Explicit H_i and J_i at (x, y^T) on one lower batch; ∇F on the upper batch.
  ws.pair.draw(s.rng);
  o.hessian(s.x, s.y, ws.pair.lower, ws.hessian.data);
  o.jacobian(s.x, s.y, ws.pair.lower, ws.jacobian.data);
  o.gradF(s.x, s.y, ws.pair.upper, ws.fx, ws.fy);
  // 3. K JHIP rounds: Z ← W Z − γ (Z H − J); row r of Z H is Hᵀ Z_r.
  ws.zBuf.data.set(s.zMatrix);
  for (let k = 0; k < p.jhipSteps; k++) {
    for (let r = 0; r < ctx.dx; r++) gemvT(ws.residualRows[r]!, ws.hessian, ws.zRows[r]!);
    sub(ws.residual.data, ws.residual.data, ws.jacobian.data);
    await mixRound(ctx.link, ws.zBuf.data, ws.zBuf.data);
    axpy(-p.gamma, ws.residual.data, ws.zBuf.data);
  }
  s.zMatrix.set(ws.zBuf.data);
  // 4. d = ∇_x f − Z ∇_y f;  5. x ← W x − η d.
  gemv(ws.zfy, ws.zBuf, ws.fy);
  sub(ws.d, ws.fx, ws.zfy);
  await mixRound(ctx.link, s.x, s.x);
  lincomb(s.x, 1, s.x, -p.eta, ws.d);
  s.t++;
}

export const dsbo: Algorithm<DsboParams, DsboState, Workspace> = {
  name: 'dsbo',
  problemClass: 'global',
  paper: 'Chen, Huang, Ma, arXiv 2206.05670 (reconstruction, docs/decisions.md §9)',
  summary:
    'DSBO: per iteration T gossip-(S)GD steps on y, K decentralized JHIP steps on the d_x×d_y matrix Z ≈ J H⁻¹ from explicit Hessians and Jacobians, then one gossip step on x with ∇_x f − Z ∇_y f. Reconstructed update rule.',
  communicates: 'T + K + 1 rounds: y (d_y floats) × T, Z (d_x·d_y floats) × K, x (d_x) × 1',
  reconstruction: true,
  formsDenseMatrices: () => true,
  params,
  init: (ctx) => ({
    ...baseState(ctx, 'dsbo'),
    zMatrix: new Float64Array(ctx.dx * ctx.dy),
  }),
  workspace,
  step,
  view: (s) => ({ x: s.x, y: s.y }),
};
