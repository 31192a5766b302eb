/**
 * SLDBO: single-loop decentralized bilevel optimization with gradient
 * tracking and a projection of the auxiliary variable. Dong, Ma, Yang, Yin,
 * arXiv 2311.08945 (Math. of OR 2025); docs/decisions.md §9
 * docs/decisions.md §9.
 *
 * RECONSTRUCTION. No pseudocode of SLDBO was available (docs/decisions.md §9): its abstract
 * says "built on the SOBA framework", fully single loop, two matrix-vector
 * products per iteration (HVP + JVP), gradient tracking and projection, full
 * gradients. What is implemented is the docs/decisions.md §9 reconstruction: a
 * deterministic D-SOBA with gradient tracking on x, y and z and a projection
 * of z on a ball.
 *
 * Local directions at the agent's current point (x, y, z), one upper and one
 * lower batch (the lower one shared by ∇_y g, HVP and JVP, docs/decisions.md §10):
 *   d_x = ∇_x f − ∇²_xy g z    (hypergradient estimate; z ≈ +H⁻¹∇_y f, docs/decisions.md §0)
 *   d_y = ∇_y g
 *   d_z = ∇²_yy g z − ∇_y f
 * Iteration t (W = the mixing matrix, P_R = projection on ‖z‖ ≤ R):
 *   x_{t+1} = Σ_j w_ij x_j^t − α p_t
 *   y_{t+1} = Σ_j w_ij y_j^t − β q_t
 *   z_{t+1} = P_R(Σ_j w_ij z_j^t − γ r_t)
 *   p_{t+1} = Σ_j w_ij p_j^t + d_x(t+1) − d_x(t)   (q with d_y, r with d_z)
 * with the trackers initialized to the local directions at the initial
 * point, p_0 = d_x(0), q_0 = d_y(0), r_0 = d_z(0).
 *
 * Ordering (a decision, not in the sources): each step evaluates the
 * directions once, at its own current point, and completes the tracker
 * update left pending by the previous step. Between steps the state keeps
 * the tracker without its newest direction, p̃ = Σ_j w_ij p_j^{t−1} − d_x(t−1)
 * (zero at the start), and step t first forms p_t = p̃ + d_x(t). So the
 * initialization p_0 = d_x(0) happens in the first step with the same
 * oracle calls as every other step, and every iteration costs exactly one
 * evaluation of the directions. The iterates are those of the recursion above.
 *
 * Communication: 1 round per iteration carrying (x_t, y_t, z_t, p_t, q_t,
 * r_t) = 2d_x + 4d_y floats per directed message.
 * Oracles per iteration: 1 ∇F, 1 ∇_y G, 1 HVP, 1 JVP (none other).
 *
 * Step sizes: the tracking form x ← Wx − αp (not D-SOBA's ATC form
 * W(x − αh)) needs smaller steps; on random quadratics with
 * heterogeneous agents β = γ = 0.04 already diverges on a ring of 8, so the
 * defaults (α = 0.01, β = γ = 0.02) are conservative.
 *
 * Decisions: full batches by default (the paper is deterministic); `batch`
 * may name a size or 'problem' (the configured minibatch), which gives
 * gradient-tracked stochastic SOBA. `zRadius` defaults to none (no
 * projection), as CD-BSVRGD's (docs/decisions.md §1); the initial z is projected too, so
 * every z an agent holds or sends lies in the ball.
 */
import { z } from 'zod';
import { add, lincomb, projectBall, sub, type Vec } from '../linalg/vector.ts';
import { baseState, BatchPair, batchSizes, gossip, messageLayout, param, SobaEstimates } from './blocks.ts';
import type { AgentContext, AgentStateBase, Algorithm } from './types.ts';

const BATCH_ERROR = "batch must be a positive integer, 'full' or 'problem'";

const params = z.strictObject({
  alpha: param.positive('alpha').default(0.01).describe('upper-level (x) step size α'),
  beta: param.positive('beta').default(0.02).describe('lower-level (y) step size β'),
  gamma: param.positive('gamma').default(0.02).describe('auxiliary (z) step size γ'),
  zRadius: param.positive('zRadius').optional().describe('radius R of the projection of z on ‖z‖ ≤ R (default: none)'),
  batch: z
    .union([z.number().int({ error: BATCH_ERROR }).min(1, { error: BATCH_ERROR }), z.literal('full'), z.literal('problem')], { error: BATCH_ERROR })
    .default('full')
    .describe("minibatch of every oracle call: 'full' (default, the paper's deterministic method), a size, or 'problem' (the configured minibatch)"),
});

export type SldboParams = z.infer<typeof params>;

export interface SldboState extends AgentStateBase {
  z: Vec;
  /** Gradient trackers between steps: Σ_j w_ij p_j^{t−1} − d_x(t−1) (zero at the start); likewise q, r. */
  p: Vec;
  q: Vec;
  r: Vec;
}

function workspace(ctx: AgentContext, p: SldboParams) {
  const { dx, dy } = ctx;
  return {
    batches: new BatchPair(ctx.oracle, p.batch === 'problem' ? ctx.batch : batchSizes(ctx, p.batch)),
    /** Local directions d_x = ∇_x f − Jz, d_y = ∇_y g, d_z = Hz − ∇_y f at the current point. */
    directions: new SobaEstimates(dx, dy),
    message: messageLayout({ x: dx, y: dy, z: dy, p: dx, q: dy, r: dy }),
  };
}

type Workspace = ReturnType<typeof workspace>;

async function step(s: SldboState, ctx: AgentContext, ws: Workspace, p: SldboParams): Promise<void> {
  ws.batches.draw(s.rng);
  const d = ws.directions.at(ctx.oracle, s.x, s.y, s.z, ws.batches);
  // Complete the pending tracker update: p_t = Σ_j w_ij p_j^{t−1} + d_x(t) − d_x(t−1) (p_0 = d_x(0));
  // the state keeps p_t, q_t, r_t for the descent steps.
  add(s.p, s.p, d.hypergrad);
  add(s.q, s.q, d.lowerGrad);
  add(s.r, s.r, d.zGrad);
  // One round of (x, y, z, p, q, r); then x ← Σ_j w_ij x_j − α p_t, y with β q_t, z with γ r_t, z projected.
  const m = await gossip(ctx.link, { x: s.x, y: s.y, z: s.z, p: s.p, q: s.q, r: s.r }, ws.message);
  lincomb(s.x, 1, m.x, -p.alpha, s.p);
  lincomb(s.y, 1, m.y, -p.beta, s.q);
  lincomb(s.z, 1, m.z, -p.gamma, s.r);
  projectBall(s.z, p.zRadius ?? Infinity);
  // Pending form of the trackers: Σ_j w_ij p_j^t − d_x(t); the next step adds d_x(t+1).
  sub(s.p, m.p, d.hypergrad);
  sub(s.q, m.q, d.lowerGrad);
  sub(s.r, m.r, d.zGrad);
  s.t++;
}

export const sldbo: Algorithm<SldboParams, SldboState, Workspace> = {
  name: 'sldbo',
  problemClass: 'global',
  paper: 'Dong, Ma, Yang, Yin, arXiv 2311.08945 (Math. of OR 2025); update rule reconstructed (docs/decisions.md §9)',
  summary: 'Deterministic single-loop SOBA with gradient tracking on x, y and z and a projection of z on a ball (reconstruction).',
  communicates: '1 round: (x, y, z, p, q, r), 2d_x + 4d_y floats per message',
  reconstruction: true,
  params,
  init: (ctx, p) => {
    const { dx, dy } = ctx;
    const z0 = Float64Array.from(ctx.init.z);
    projectBall(z0, p.zRadius ?? Infinity);
    return {
      ...baseState(ctx, 'sldbo'),
      z: z0,
      p: new Float64Array(dx),
      q: new Float64Array(dy),
      r: new Float64Array(dy),
    };
  },
  workspace,
  step,
  view: (s) => ({ x: s.x, y: s.y, z: s.z }),
  // After agents left the run (docs/faults.md): the pending trackers restart from zero, as at the start, so the next step forms p = d_x (q, r likewise).
  onViewChange: (s) => {
    s.p.fill(0);
    s.q.fill(0);
    s.r.fill(0);
  },
};
