/**
 * Gossip-DSBO: decentralized stochastic bilevel optimization with gossiped
 * second-order information. Yang, Zhang, Wang, "Decentralized Gossip-Based
 * Stochastic Bilevel Optimization over Communication Networks", NeurIPS 2022,
 * arXiv 2206.10870; docs/decisions.md §9 — a stand-in reconstruction, not
 * the paper's update rule (docs/decisions.md §9): the seed-verified profile (SEED-000:
 * O(d_x·d_y + d_y²) floats per round; [SEC]: agents gossip to estimate the
 * averaged gradients and Hessians) is realized by gradient tracking of the
 * global Hessian and Jacobian matrices.
 *
 * Per agent i, outer iteration k (x is held fixed during step 1):
 *   1. T = innerSteps rounds of gossip (S)GD on y, a fresh lower minibatch
 *      each step:  y ← Σ_j w_ij y_j − β ∇_y g_i(x, y)
 *   2. on one (upper ξ, lower ζ) pair at (x, y^T): local H_i^new = ∇²_yy g_i,
 *      J_i^new = ∇²_xy g_i (explicit, on ζ) and ∇_x f_i, ∇_y f_i (on ξ)
 *   3. tracker correction:  Ĥ_i ← Ĥ_i + H_i^new − H_i^old,  Ĵ_i likewise
 *      (Ĥ_i holds Σ_j w_ij Ĥ_j from the previous round; so mean_i Ĥ_i =
 *      mean_i H_i^new exactly, and Ĥ_i → H̄ as the trackers reach consensus)
 *   4. d_i = ∇_x f_i − Ĵ_i Ĥ_i⁻¹ ∇_y f_i, by a Cholesky solve with the
 *      symmetrized tracker ½(Ĥ_i + Ĥ_iᵀ). If that is not positive definite
 *      (possible with stochastic corrections) the agent uses its own H_i^new
 *      instead and counts the fallback in `state.fallbacks`; if H_i^new is
 *      not positive definite either, the step fails with an error.
 *   5. one round carrying (x_i − η d_i, Ĥ_i, Ĵ_i):
 *        x ← Σ_j w_ij (x_j − η d_j),  Ĥ ← Σ_j w_ij Ĥ_j,  Ĵ ← Σ_j w_ij Ĵ_j
 *      — the matrix round and the x gossip are one round (adapt-then-combine
 *      on x, as D-SOBA sends x − αh).
 * Initialization: Ĥ = Ĵ = H^old = J^old = 0, so the first correction sets
 * Ĥ_i = H_i. y is warm-started.
 *
 * Communication: T + 1 rounds per iteration; each directed message carries
 * d_y floats in the y rounds and d_x + d_y² + d_x·d_y floats in the last:
 * T·d_y + d_x + d_y² + d_x·d_y floats per neighbour per iteration.
 * Oracles per iteration: T ∇_y G, 1 Hessian, 1 Jacobian, 1 ∇F.
 * Allocation: choleskySolve allocates O(d_y²) once per iteration (accepted
 * here: the explicit d_y² Hessian is this algorithm's cost anyway).
 *
 * Behaviour implied by the design: the tracked global Ĥ, Ĵ remove the bias of
 * local Hessians (the implicit term is J̄ H̄⁻¹ ∇_y f_i, linear in ∇_y f_i, so its
 * average is exact); the y and x gossip are untracked, so heterogeneous agents
 * still stall at O(β) + O(η) floors.
 */
import { z } from 'zod';
import { choleskySolve, gemv, type Matrix } from '../linalg/matrix.ts';
import { lincomb, sub, type Vec } from '../linalg/vector.ts';
import { BatchSampler } from '../problems/batch.ts';
import { baseState, BatchPair, gossip, gossipLowerSteps, messageLayout, param, trackUpdate } from './blocks.ts';
import type { AgentContext, AgentStateBase, Algorithm } from './types.ts';

const params = z.strictObject({
  eta: param.positive('eta').default(0.01).describe('upper-level (x) step η'),
  beta: param.positive('beta').default(0.1).describe('lower-level (y) step β of the inner gossip-(S)GD loop'),
  innerSteps: param.count('innerSteps').default(10).describe('T: lower-level gossip steps (one round of d_y floats each) per iteration'),
});

export type GossipDsboParams = z.infer<typeof params>;

export interface GossipDsboState extends AgentStateBase {
  /** Tracker of the global Hessian ∇²_yy ḡ (d_y × d_y row-major), as mixed in the last round. */
  hessianTracker: Vec;
  /** Tracker of the global Jacobian ∇²_xy ḡ (d_x × d_y row-major). */
  jacobianTracker: Vec;
  /** The local matrices the trackers last absorbed. */
  hessianPrev: Vec;
  jacobianPrev: Vec;
  /** Iterations in which the tracked Hessian was not positive definite and the local one was used. */
  fallbacks: number;
}

function workspace(ctx: AgentContext) {
  const { dx, dy } = ctx;
  const lowerSampler = new BatchSampler(ctx.oracle.lowerSamples, ctx.batch.lower);
  const msg = messageLayout({ x: dx, h: dy * dy, j: dx * dy });
  return {
    lowerSampler,
    lower: lowerSampler.create(),
    pair: BatchPair.fromContext(ctx),
    gy: new Float64Array(dy),
    hessian: new Float64Array(dy * dy),
    jacobian: new Float64Array(dx * dy),
    /** The symmetrized matrix handed to the solver. */
    solveMatrix: { rows: dy, cols: dy, data: new Float64Array(dy * dy) } as Matrix,
    /** The tracked Jacobian, viewed in the message. */
    jacobianInMessage: { rows: dx, cols: dy, data: msg.blocks.j } as Matrix,
    msg,
    fx: new Float64Array(dx),
    fy: new Float64Array(dy),
    jv: new Float64Array(dx),
    d: new Float64Array(dx),
  };
}

type Workspace = ReturnType<typeof workspace>;

/** out ← ½(A + Aᵀ) for a square row-major A. */
function symmetrize(out: Matrix, a: Vec): void {
  const n = out.rows;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out.data[i * n + j] = 0.5 * (a[i * n + j]! + a[j * n + i]!);
}

/** H⁻¹ b with the tracked Hessian, or the local one when the tracked one is not positive definite. */
function solveImplicit(s: GossipDsboState, ctx: AgentContext, ws: Workspace): Vec {
  symmetrize(ws.solveMatrix, s.hessianTracker);
  try {
    return choleskySolve(ws.solveMatrix, ws.fy);
  } catch {
    s.fallbacks++;
  }
  symmetrize(ws.solveMatrix, ws.hessian);
  try {
    return choleskySolve(ws.solveMatrix, ws.fy);
  } catch {
    throw new RangeError(`gossip-dsbo: agent ${ctx.id}, iteration ${s.t}: neither the tracked nor the local lower-level Hessian is positive definite`);
  }
}

async function step(s: GossipDsboState, ctx: AgentContext, ws: Workspace, p: GossipDsboParams): Promise<void> {
  const o = ctx.oracle;
  // 1. T rounds of gossip (S)GD on y at fixed x.
  await gossipLowerSteps(ctx, s.x, s.y, p.beta, p.innerSteps, ws.lowerSampler, ws.lower, s.rng, ws.gy);
  // 2. Local H, J on the lower batch ζ and ∇F on the upper batch ξ, at (x, y^T).
  ws.pair.draw(s.rng);
  o.hessian(s.x, s.y, ws.pair.lower, ws.hessian);
  o.jacobian(s.x, s.y, ws.pair.lower, ws.jacobian);
  o.gradF(s.x, s.y, ws.pair.upper, ws.fx, ws.fy);
  // 3. Tracker corrections.
  trackUpdate(s.hessianTracker, s.hessianTracker, ws.hessian, s.hessianPrev);
  trackUpdate(s.jacobianTracker, s.jacobianTracker, ws.jacobian, s.jacobianPrev);
  s.hessianPrev.set(ws.hessian);
  s.jacobianPrev.set(ws.jacobian);
  // 4. d = ∇_x f − Ĵ Ĥ⁻¹ ∇_y f.
  const v = solveImplicit(s, ctx, ws);
  const m = ws.msg.blocks;
  m.j.set(s.jacobianTracker);
  gemv(ws.jv, ws.jacobianInMessage, v);
  sub(ws.d, ws.fx, ws.jv);
  // 5. One round of (x − η d, Ĥ, Ĵ).
  lincomb(m.x, 1, s.x, -p.eta, ws.d);
  const mixed = await gossip(ctx.link, { x: m.x, h: s.hessianTracker, j: m.j }, ws.msg);
  s.x.set(mixed.x);
  s.hessianTracker.set(mixed.h);
  s.jacobianTracker.set(mixed.j);
  s.t++;
}

export const gossipDsbo: Algorithm<GossipDsboParams, GossipDsboState, Workspace> = {
  name: 'gossip-dsbo',
  problemClass: 'global',
  paper: 'Yang, Zhang, Wang, NeurIPS 2022, arXiv 2206.10870 (stand-in reconstruction, docs/decisions.md §9)',
  summary:
    'Gossip-DSBO (stand-in): per iteration T gossip-(S)GD steps on y, gradient tracking of the global Hessian and Jacobian matrices, a local solve for ∇_x f − Ĵ Ĥ⁻¹ ∇_y f, and one round carrying x − ηd with both trackers. Not the paper\'s exact rule.',
  communicates: 'T + 1 rounds: y (d_y floats) × T, then (x − ηd, Ĥ, Ĵ) (d_x + d_y² + d_x·d_y floats) × 1',
  reconstruction: true,
  formsDenseMatrices: () => true,
  params,
  init: (ctx) => {
    const { dx, dy } = ctx;
    return {
      ...baseState(ctx, 'gossip-dsbo'),
      hessianTracker: new Float64Array(dy * dy),
      jacobianTracker: new Float64Array(dx * dy),
      hessianPrev: new Float64Array(dy * dy),
      jacobianPrev: new Float64Array(dx * dy),
      fallbacks: 0,
    };
  },
  workspace,
  step,
  view: (s) => ({ x: s.x, y: s.y }),
  // After agents left the run (docs/faults.md): the matrix trackers restart from the local matrices they last absorbed, so mean_i Ĥ_i = mean_i H_i again.
  onViewChange: (s) => {
    s.hessianTracker.set(s.hessianPrev);
    s.jacobianTracker.set(s.jacobianPrev);
  },
};
