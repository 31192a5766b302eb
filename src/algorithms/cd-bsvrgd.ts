/**
 * CD-BSVRGD: communication-efficient decentralized bilevel stochastic
 * variance-reduced gradient descent. Zhang, Thai, Wu, Gao, arXiv 2311.11342
 * (early version; SEED-000), Algorithm 1; specification algorithms.md §3.1,
 * §6.1–6.3, §7.1.
 *
 * Local estimators (3.5) on ξ̂ = {ξ, ζ}: Ĝ_F = ∇_x f − ∇²_xy g z,
 * Ĝ_h = ∇²_yy g z − ∇_y f, δ^g = ∇_y g.
 * t = 0 (batch B₀): u₀ = Ĝ_F, v₀ = δ^g, w₀ = Ĝ_h (the seed's line 3 writes δ^g
 *   for w₀, a typo fixed per §6.2); p₀ = u₀, q₀ = v₀, r₀ = w₀.
 * t ≥ 1 (batch B₁, the same sample at both points):
 *   u_t = (1 − α₁η²)(u_{t−1} − Ĝ_F(x_{t−1}, y_{t−1}, z_{t−1})) + Ĝ_F(x_t, y_t, z_t)   (STORM)
 *   v_t, w_t likewise with α₂, α₃
 *   p_t = Σ_j e_kj p_{t−1}^{(j)} + u_t − u_{t−1}   (and q with v, r with w)
 * all t (line 8):
 *   x_{t+½} = Σ_j e_kj x_t^{(j)} − β₁ p_t,  x_{t+1} = x_t + η(x_{t+½} − x_t)
 *   y likewise with β₂, q; z_{t+½} = Proj_{‖·‖≤R}(Σ_j e_kj z_t^{(j)} − β₃ r_t).
 *
 * Communication: 1 round per iteration carrying (x_t, y_t, z_t, p_{t−1},
 * q_{t−1}, r_{t−1}) = 2d_x + 4d_y floats. At t = 0 there is no tracker to mix
 * yet (p₀ = u₀), so that round carries (x₀, y₀, z₀) only: d_x + 2d_y floats.
 *
 * Oracles: t = 0 one point at B₀; t ≥ 1 two points (current and previous) of
 * (∇F, ∇_y G, JVP, HVP) at B₁. When every STORM coefficient is 0 (α_iη² = 1,
 * the paper's experimental setting, §6.1) the previous-point estimates are
 * multiplied by 0 and are not computed: the method is then exactly
 * gradient-tracked SGD on the same samples, and the counts say so.
 *
 * Project decisions (§7.1): library default α_iη² = 0.9 (coefficient 0.1);
 * `zRadius` default none; batch sizes default to the problem's.
 */
import { z } from 'zod';
import { projectBall, type Vec } from '../linalg/vector.ts';
import { mixRound } from '../network/link.ts';
import { baseState, BatchPair, estimatorScratch, localEstimators, param, payloadLayout, stormUpdate, trackUpdate, type EstimatorScratch, interpolatedStep } from './blocks.ts';
import type { AgentContext, AgentStateBase, Algorithm } from './types.ts';

const params = z
  .strictObject({
    eta: param.unit('eta').default(0.1).describe('interpolation step η ∈ (0, 1] (the papers\' "learning rate")'),
    alpha1: param.positive('alpha1').default(90).describe('STORM weight α₁ of u (coefficient 1 − α₁η²)'),
    alpha2: param.positive('alpha2').default(90).describe('STORM weight α₂ of v'),
    alpha3: param.positive('alpha3').default(90).describe('STORM weight α₃ of w'),
    beta1: param.positive('beta1').default(1).describe('x step β₁'),
    beta2: param.positive('beta2').default(1).describe('y step β₂'),
    beta3: param.positive('beta3').default(1).describe('z step β₃'),
    batch0: param.batch('batch0').optional().describe('minibatch B₀ of the first iteration (default: the problem batch)'),
    batch1: param.batch('batch1').optional().describe('minibatch B₁ of later iterations (default: the problem batch)'),
    zRadius: param.positive('zRadius').optional().describe('radius R of the projection of z (default: none)'),
  })
  .superRefine((p, ctx) => {
    for (const i of [1, 2, 3] as const) {
      const product = p[`alpha${i}`] * p.eta * p.eta;
      if (product > 1 + 1e-12)
        ctx.addIssue({ code: 'custom', path: [`alpha${i}`], message: `alpha${i}·eta² = ${product} must be ≤ 1 (the STORM coefficient 1 − alpha${i}·eta² must lie in [0, 1))` });
    }
  });

export type CdBsvrgdParams = z.infer<typeof params>;

export interface CdBsvrgdState extends AgentStateBase {
  z: Vec;
  xPrev: Vec;
  yPrev: Vec;
  zPrev: Vec;
  /** STORM estimators of the hypergradient, ∇_y g and the z-gradient. */
  u: Vec;
  v: Vec;
  w: Vec;
  /** Gradient trackers of u, v, w. */
  p: Vec;
  q: Vec;
  r: Vec;
}

function coefficients(p: CdBsvrgdParams): readonly [number, number, number] {
  const e2 = p.eta * p.eta;
  // α_iη² = 1 up to rounding means "no variance reduction": clamp to exactly 0.
  const c = (a: number) => (Math.abs(1 - a * e2) < 1e-12 ? 0 : 1 - a * e2);
  return [c(p.alpha1), c(p.alpha2), c(p.alpha3)];
}

function workspace(ctx: AgentContext, p: CdBsvrgdParams) {
  const { dx, dy } = ctx;
  const vec = (n: number) => new Float64Array(n);
  return {
    first: new BatchPair(ctx.oracle, p.batch0 === undefined ? ctx.batch : { upper: p.batch0, lower: p.batch0 }),
    later: new BatchPair(ctx.oracle, p.batch1 === undefined ? ctx.batch : { upper: p.batch1, lower: p.batch1 }),
    scratch: estimatorScratch(dx, dy) as EstimatorScratch,
    initial: payloadLayout([['x', dx], ['y', dy], ['z', dy]] as const),
    full: payloadLayout([['x', dx], ['y', dy], ['z', dy], ['p', dx], ['q', dy], ['r', dy]] as const),
    newF: vec(dx),
    newH: vec(dy),
    newY: vec(dy),
    oldF: vec(dx),
    oldH: vec(dy),
    oldY: vec(dy),
    uPrev: vec(dx),
    vPrev: vec(dy),
    wPrev: vec(dy),
    halfX: vec(dx),
    halfY: vec(dy),
    /** STORM coefficients 1 − α_iη² (derived from the parameters). */
    coef: coefficients(p),
  };
}

type Workspace = ReturnType<typeof workspace>;


async function step(s: CdBsvrgdState, ctx: AgentContext, ws: Workspace, p: CdBsvrgdParams): Promise<void> {
  const o = ctx.oracle;
  let mixed: { x: Vec; y: Vec; z: Vec };
  if (s.t === 0) {
    ws.first.draw(s.rng);
    localEstimators(o, s.x, s.y, s.z, ws.first, ws.scratch, s.u, s.w, s.v);
    s.p.set(s.u);
    s.q.set(s.v);
    s.r.set(s.w);
    const m = ws.initial;
    m.x.set(s.x);
    m.y.set(s.y);
    m.z.set(s.z);
    await mixRound(ctx.link, m.payload, m.payload);
    mixed = m;
  } else {
    ws.later.draw(s.rng);
    localEstimators(o, s.x, s.y, s.z, ws.later, ws.scratch, ws.newF, ws.newH, ws.newY);
    const [c1, c2, c3] = ws.coef;
    if (c1 !== 0 || c2 !== 0 || c3 !== 0) localEstimators(o, s.xPrev, s.yPrev, s.zPrev, ws.later, ws.scratch, ws.oldF, ws.oldH, ws.oldY);
    else {
      ws.oldF.fill(0);
      ws.oldH.fill(0);
      ws.oldY.fill(0);
    }
    ws.uPrev.set(s.u);
    ws.vPrev.set(s.v);
    ws.wPrev.set(s.w);
    stormUpdate(s.u, c1, ws.oldF, ws.newF);
    stormUpdate(s.v, c2, ws.oldY, ws.newY);
    stormUpdate(s.w, c3, ws.oldH, ws.newH);
    const m = ws.full;
    m.x.set(s.x);
    m.y.set(s.y);
    m.z.set(s.z);
    m.p.set(s.p);
    m.q.set(s.q);
    m.r.set(s.r);
    await mixRound(ctx.link, m.payload, m.payload);
    trackUpdate(s.p, m.p, s.u, ws.uPrev);
    trackUpdate(s.q, m.q, s.v, ws.vPrev);
    trackUpdate(s.r, m.r, s.w, ws.wPrev);
    mixed = m;
  }
  s.xPrev.set(s.x);
  s.yPrev.set(s.y);
  s.zPrev.set(s.z);
  interpolatedStep(s.x, mixed.x, p.beta1, s.p, p.eta, ws.halfX);
  interpolatedStep(s.y, mixed.y, p.beta2, s.q, p.eta, ws.halfY);
  interpolatedStep(s.z, mixed.z, p.beta3, s.r, p.eta, ws.halfY, p.zRadius ?? Infinity);
  s.t++;
}

export const cdBsvrgd: Algorithm<CdBsvrgdParams, CdBsvrgdState, Workspace> = {
  name: 'cd-bsvrgd',
  problemClass: 'global',
  paper: 'Zhang, Thai, Wu, Gao, arXiv 2311.11342 (SEED-000), Algorithm 1',
  summary: 'STORM estimators of the hypergradient, ∇_y g and the z-gradient, gradient tracking of all three, η-interpolated gossip updates.',
  communicates: '1 round: (x, y, z, p, q, r), 2d_x + 4d_y floats per message (d_x + 2d_y at t = 0)',
  reconstruction: false,
  params,
  init: (ctx, p) => {
    const { dx, dy } = ctx;
    const z0 = Float64Array.from(ctx.init.z);
    projectBall(z0, p.zRadius ?? Infinity);
    return {
      ...baseState(ctx, 'cd-bsvrgd'),
      z: z0,
      xPrev: Float64Array.from(ctx.init.x),
      yPrev: Float64Array.from(ctx.init.y),
      zPrev: Float64Array.from(z0),
      u: new Float64Array(dx),
      v: new Float64Array(dy),
      w: new Float64Array(dy),
      p: new Float64Array(dx),
      q: new Float64Array(dy),
      r: new Float64Array(dy),
    };
  },
  workspace,
  step,
  view: (s) => ({ x: s.x, y: s.y, z: s.z }),
};
