/**
 * MA-DSBO: moving-average decentralized stochastic bilevel optimization.
 * Chen, Huang, Ma, Balasubramanian, "Decentralized Stochastic Bilevel
 * Optimization with Improved per-Iteration Complexity", ICML 2023,
 * arXiv 2210.12839; docs/decisions.md §9 (reconstruction:
 * no primary pseudocode was available, docs/decisions.md §9) with the seed-verified profile
 * of SEED-000 (O(log 1/ε) rounds of O(d_x + d_y) floats per iteration; 10
 * lower-level and 10 Hessian-inverse-vector steps and learning rate 0.01 in
 * its experiment).
 *
 * Per agent i, outer iteration k (x is held fixed during steps 1–3):
 *   1. T = innerSteps rounds of decentralized SGD on y, a fresh lower
 *      minibatch ζ_t each step:  y ← Σ_j w_ij y_j − β ∇_y g_i(x, y; ζ_t)
 *   2. one upper minibatch ξ: ∇_x f_i, ∇_y f_i at (x, y^T)  (one ∇F call)
 *   3. N = hivpSteps rounds on the quadratic ½zᵀHz − zᵀ∇_y f, a fresh lower
 *      minibatch each step:  z ← Σ_j w_ij z_j − γ(∇²_yy g_i(x, y^T; ζ_n) z − ∇_y f_i)
 *   4. r = ∇_x f_i − ∇²_xy g_i(x, y^T; ζ) z^N   (one JVP on the lower batch ζ
 *      drawn with ξ)
 *   5. m ← (1 − a) m + a r                       (moving average, `momentum` a)
 *   6. x ← Σ_j w_ij x_j − η m                     (one round)
 * Sign convention (docs/decisions.md §0): z ≈ +[∇²_yy g]⁻¹ ∇_y f, hypergradient ∇_x f − J z.
 * y, z and m are warm-started from the previous outer iteration; m⁰ = 0.
 *
 * MA-DSBO-GT (`tracking: true`; the variant SPARKLE compares against): every
 * level gradient-tracks its local direction d (∇_y g, Hz − ∇_y f, m) with a
 * tracker t that travels with the variable in the same round, in the GT form
 * of docs/decisions.md §9 (SPARKLE: s ← W(s − a t), t ← W t + g⁺ − g):
 *   t ← t + d − d_prev  (local correction, d_prev ← d);  send (v − step·t, t);
 *   v ← Σ_j w_ij (v_j − step·t_j);  t ← Σ_j w_ij t_j
 * so that mean_i t_i = mean_i d_i at all times, and at a fixed point t_i = 0
 * and v_i = v̄ solve the averaged level exactly. Trackers persist across
 * outer iterations (the correction absorbs the change of x and y), start at 0.
 * The variable is combined after the step (adapt-then-combine): the
 * combine-then-adapt form v ← Σ_j w_ij v_j − step·t diverged on the
 * heterogeneous 8-agent ring of the tests for β = γ ≥ 0.06, the ATC form is
 * stable there at the defaults (β = γ = 0.1) and beyond.
 *
 * Communication: T + N + 1 rounds per iteration; each directed message
 * carries d_y floats in the y and z rounds and d_x in the x round, i.e.
 * T·d_y + N·d_y + d_x floats per neighbour per iteration (×2 with tracking).
 * Oracles per iteration: T ∇_y G, N HVP, 1 ∇F (∇_x f and ∇_y f together), 1 JVP.
 *
 * Decisions (reconstruction, to list in the docs):
 * - ∇_y f is sampled once per outer iteration (with ∇_x f, one ∇F call at
 *   (x, y^T)) and held fixed during the N z-steps; only the HVPs are fresh.
 * - Draw order per iteration (determinism): T lower batches (y steps), then
 *   the (upper ξ, lower ζ) pair of the hypergradient, then N lower batches
 *   (z steps); ζ serves the JVP.
 * - `momentum` a defaults to 0.5 (our choice; a = 1 disables the average).
 *   The x step uses the updated m.
 * - Default inner steps β = γ = 0.1 (not given in the sources).
 */
import { z } from 'zod';
import { lincomb, sub, type Vec } from '../linalg/vector.ts';
import type { AgentLink } from '../network/link.ts';
import { BatchSampler } from '../problems/batch.ts';
import { baseState, BatchPair, gossip, messageLayout, movingAverage, param, trackUpdate, type MessageLayout } from './blocks.ts';
import type { AgentContext, AgentStateBase, Algorithm } from './types.ts';

const params = z.strictObject({
  eta: param.positive('eta').default(0.01).describe('upper-level (x) step η (SEED-000 experiment: 0.01)'),
  beta: param.positive('beta').default(0.1).describe('lower-level (y) step β of the inner gossip-SGD loop'),
  gamma: param.positive('gamma').default(0.1).describe('step γ of the Hessian-inverse-vector (z) loop'),
  momentum: param.unit('momentum').default(0.5).describe('moving-average weight a ∈ (0, 1] of the hypergradient (1 = no averaging)'),
  innerSteps: param.count('innerSteps').default(10).describe('T: lower-level gossip-SGD steps (one round each) per iteration'),
  hivpSteps: param.count('hivpSteps').default(10).describe('N: Hessian-inverse-vector (z) steps (one round each) per iteration'),
  tracking: z.boolean({ error: 'tracking must be true or false' }).default(false).describe('MA-DSBO-GT: gradient-track every level (messages carry variable and tracker)'),
});

export type MaDsboParams = z.infer<typeof params>;

export interface MaDsboState extends AgentStateBase {
  z: Vec;
  /** Moving-average hypergradient m. */
  m: Vec;
  /** Trackers of the three levels' directions and the directions they last absorbed (length 0 without tracking). */
  ty: Vec;
  gyPrev: Vec;
  tz: Vec;
  dzPrev: Vec;
  tx: Vec;
  mPrev: Vec;
}

/** A level's message: the variable block v and (with tracking) its tracker t (empty without). */
type LevelMessage = MessageLayout<'v' | 't'>;

function workspace(ctx: AgentContext, p: MaDsboParams) {
  const { dx, dy } = ctx;
  const k = p.tracking ? 1 : 0;
  const lowerSampler = new BatchSampler(ctx.oracle.lowerSamples, ctx.batch.lower);
  return {
    lowerSampler,
    lower: lowerSampler.create(),
    pair: BatchPair.fromContext(ctx),
    gy: new Float64Array(dy),
    fx: new Float64Array(dx),
    fy: new Float64Array(dy),
    hz: new Float64Array(dy),
    dz: new Float64Array(dy),
    jz: new Float64Array(dx),
    r: new Float64Array(dx),
    yMsg: messageLayout({ v: dy, t: k * dy }),
    zMsg: messageLayout({ v: dy, t: k * dy }),
    xMsg: messageLayout({ v: dx, t: k * dx }),
  };
}

type Workspace = ReturnType<typeof workspace>;

/**
 * One round of one level. Without tracking: v ← Σ_j w_ij v_j − step·d. With
 * tracking: the tracker absorbs d, then v ← Σ_j w_ij (v_j − step·t_j) and
 * t ← Σ_j w_ij t_j in the same round.
 */
async function levelRound(link: AgentLink, msg: LevelMessage, v: Vec, d: Vec, step: number, tracking: boolean, tracker: Vec, dPrev: Vec): Promise<void> {
  if (!tracking) {
    const mixed = await gossip(link, { v, t: msg.blocks.t }, msg);
    lincomb(v, 1, mixed.v, -step, d);
    return;
  }
  trackUpdate(tracker, tracker, d, dPrev);
  dPrev.set(d);
  lincomb(msg.blocks.v, 1, v, -step, tracker);
  const mixed = await gossip(link, { v: msg.blocks.v, t: tracker }, msg);
  v.set(mixed.v);
  tracker.set(mixed.t);
}

async function step(s: MaDsboState, ctx: AgentContext, ws: Workspace, p: MaDsboParams): Promise<void> {
  const o = ctx.oracle;
  const link = ctx.link;
  // 1. T rounds of gossip SGD on y at fixed x.
  for (let t = 0; t < p.innerSteps; t++) {
    ws.lowerSampler.draw(ws.lower, s.rng);
    o.gradG(s.x, s.y, ws.lower, null, ws.gy);
    await levelRound(link, ws.yMsg, s.y, ws.gy, p.beta, p.tracking, s.ty, s.gyPrev);
  }
  // 2. ∇_x f, ∇_y f at (x, y^T), sampled once per outer iteration.
  ws.pair.draw(s.rng);
  o.gradF(s.x, s.y, ws.pair.upper, ws.fx, ws.fy);
  // 3. N rounds on z for H z = ∇_y f.
  for (let n = 0; n < p.hivpSteps; n++) {
    ws.lowerSampler.draw(ws.lower, s.rng);
    o.hvp(s.x, s.y, s.z, ws.lower, ws.hz);
    sub(ws.dz, ws.hz, ws.fy);
    await levelRound(link, ws.zMsg, s.z, ws.dz, p.gamma, p.tracking, s.tz, s.dzPrev);
  }
  // 4–5. r = ∇_x f − J z, m ← (1 − a) m + a r.
  o.jvp(s.x, s.y, s.z, ws.pair.lower, ws.jz);
  sub(ws.r, ws.fx, ws.jz);
  movingAverage(s.m, p.momentum, ws.r);
  // 6. One round on x.
  await levelRound(link, ws.xMsg, s.x, s.m, p.eta, p.tracking, s.tx, s.mPrev);
  s.t++;
}

export const maDsbo: Algorithm<MaDsboParams, MaDsboState, Workspace> = {
  name: 'ma-dsbo',
  problemClass: 'global',
  paper: 'Chen, Huang, Ma, Balasubramanian, ICML 2023, arXiv 2210.12839 (reconstruction, docs/decisions.md §9)',
  summary:
    'MA-DSBO: per iteration T gossip-SGD steps on y, N gossip steps on the Hessian-inverse-vector z, a moving-average hypergradient and one gossip step on x; tracking: true gives MA-DSBO-GT. Reconstructed update rule.',
  communicates: 'T + N + 1 rounds: y (d_y floats) × T, z (d_y) × N, x (d_x) × 1; with tracking every message also carries its level tracker (×2)',
  reconstruction: true,
  params,
  init: (ctx, p) => {
    const { dx, dy } = ctx;
    const k = p.tracking ? 1 : 0;
    return {
      ...baseState(ctx, 'ma-dsbo'),
      z: Float64Array.from(ctx.init.z),
      m: new Float64Array(dx),
      ty: new Float64Array(k * dy),
      gyPrev: new Float64Array(k * dy),
      tz: new Float64Array(k * dy),
      dzPrev: new Float64Array(k * dy),
      tx: new Float64Array(k * dx),
      mPrev: new Float64Array(k * dx),
    };
  },
  workspace,
  step,
  view: (s) => ({ x: s.x, y: s.y, z: s.z }),
  // After agents left the run (docs/faults.md): with tracking, each tracker restarts from the direction it last absorbed, so mean_i t_i = mean_i d_i again (empty vectors without tracking).
  onViewChange: (s) => {
    s.ty.set(s.gyPrev);
    s.tz.set(s.dzPrev);
    s.tx.set(s.mPrev);
  },
};
