/**
 * CD-BSVRGD: communication-efficient decentralized bilevel stochastic
 * variance-reduced gradient descent. Zhang, Thai, Wu, Gao, arXiv 2311.11342
 * (early version; SEED-000), Algorithm 1; reference docs/algorithms.md,
 * docs/algorithms.md, docs/decisions.md §1.
 *
 * Local estimators (3.5) on ξ̂ = {ξ, ζ}: Ĝ_F = ∇_x f − ∇²_xy g z,
 * Ĝ_h = ∇²_yy g z − ∇_y f, δ^g = ∇_y g.
 * t = 0 (batch B₀): u₀ = Ĝ_F, v₀ = δ^g, w₀ = Ĝ_h (the seed's line 3 writes δ^g
 *   for w₀, a typo fixed per docs/algorithms.md); p₀ = u₀, q₀ = v₀, r₀ = w₀.
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
 * the paper's experimental setting, docs/algorithms.md) the previous-point estimates are
 * multiplied by 0 and are not computed: the method is then exactly
 * gradient-tracked SGD on the same samples, and the counts say so.
 *
 * Project decisions (docs/decisions.md §1): library default α_iη² = 0.9 (coefficient 0.1);
 * `zRadius` default none; batch sizes default to the problem's.
 */
import { z } from 'zod';
import { lincomb, projectBall, type Vec } from '../linalg/vector.ts';
import { baseState, BatchPair, batchSizes, gossip, interpolatedStep, messageLayout, param, SobaEstimates, stormCoefficient } from './blocks.ts';
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

function workspace(ctx: AgentContext, p: CdBsvrgdParams) {
  const { dx, dy } = ctx;
  return {
    /** ξ̂ = {ξ, ζ}: B₀ at t = 0, B₁ later. */
    first: new BatchPair(ctx.oracle, batchSizes(ctx, p.batch0)),
    later: new BatchPair(ctx.oracle, batchSizes(ctx, p.batch1)),
    /** (3.5) at the current and at the previous point, on the same sample. */
    now: new SobaEstimates(dx, dy),
    before: new SobaEstimates(dx, dy),
    /** t = 0 sends (x, y, z) only; later rounds add the trackers. */
    initial: messageLayout({ x: dx, y: dy, z: dy }),
    full: messageLayout({ x: dx, y: dy, z: dy, p: dx, q: dy, r: dy }),
    halfX: new Float64Array(dx),
    halfY: new Float64Array(dy),
    /** STORM coefficients 1 − α_iη². */
    coef: [stormCoefficient(p.alpha1, p.eta), stormCoefficient(p.alpha2, p.eta), stormCoefficient(p.alpha3, p.eta)] as const,
  };
}

type Workspace = ReturnType<typeof workspace>;

/**
 * Lines 6–8 for one block after the gossip round, in one pass: the STORM
 * update est ← coef·(est − atOld) + atNew, the tracker update
 * tracker ← mixedTracker + est − est_old, then prev ← v and the η-interpolated
 * step v ← (1 − η)·v + η·Proj(mixed − β·tracker). Each entry gets exactly the
 * operations of stormUpdate, trackUpdate and interpolatedStep (blocks.ts)
 * one after another, so the results are theirs bit for bit; with a finite
 * radius the projection needs the whole half-step (in `half`) first.
 */
function stormTrackStep(
  est: Vec, coef: number, atOld: Vec, atNew: Vec,
  tracker: Vec, mixedTracker: Vec,
  v: Vec, prev: Vec, mixed: Vec, beta: number, eta: number, half: Vec, radius: number,
): void {
  const keep = 1 - eta;
  const project = Number.isFinite(radius);
  for (let i = 0; i < v.length; i++) {
    const old = est[i]!;
    const e = coef * (old - atOld[i]!) + 1 * atNew[i]!;
    est[i] = e;
    const t = mixedTracker[i]! + 1 * e + -1 * old;
    tracker[i] = t;
    const h = 1 * mixed[i]! + -beta * t;
    if (project) half[i] = h;
    else {
      const vi = v[i]!;
      prev[i] = vi;
      v[i] = keep * vi + eta * h;
    }
  }
  if (!project) return;
  projectBall(half, radius);
  prev.set(v);
  lincomb(v, keep, v, eta, half);
}

async function step(s: CdBsvrgdState, ctx: AgentContext, ws: Workspace, p: CdBsvrgdParams): Promise<void> {
  const o = ctx.oracle;
  if (s.t === 0) {
    // Lines 2–4: u₀ = Ĝ_F, v₀ = δ^g, w₀ = Ĝ_h on B₀; p₀ = u₀, q₀ = v₀, r₀ = w₀.
    ws.first.draw(s.rng);
    const e = ws.now.at(o, s.x, s.y, s.z, ws.first);
    s.u.set(e.hypergrad);
    s.v.set(e.lowerGrad);
    s.w.set(e.zGrad);
    s.p.set(s.u);
    s.q.set(s.v);
    s.r.set(s.w);
    const mixed = await gossip(ctx.link, { x: s.x, y: s.y, z: s.z }, ws.initial);
    // Line 8: v_{t+½} = Σ_j e_kj v_t^{(j)} − β·tracker, v_{t+1} = v_t + η(v_{t+½} − v_t); z projected.
    s.xPrev.set(s.x);
    s.yPrev.set(s.y);
    s.zPrev.set(s.z);
    interpolatedStep(s.x, mixed.x, p.beta1, s.p, p.eta, ws.halfX);
    interpolatedStep(s.y, mixed.y, p.beta2, s.q, p.eta, ws.halfY);
    interpolatedStep(s.z, mixed.z, p.beta3, s.r, p.eta, ws.halfY, p.zRadius ?? Infinity);
  } else {
    // Line 5: the estimates (3.5) on B₁ at (x_t, y_t, z_t) and (x_{t−1}, y_{t−1}, z_{t−1}).
    ws.later.draw(s.rng);
    const [c1, c2, c3] = ws.coef;
    const now = ws.now;
    const before = ws.before;
    // Both points on the same draw, in one pass over its rows where the oracles have a fused path.
    if (c1 !== 0 || c2 !== 0 || c3 !== 0) now.atWith(o, s.x, s.y, s.z, before, s.xPrev, s.yPrev, s.zPrev, ws.later);
    else {
      now.at(o, s.x, s.y, s.z, ws.later);
      before.zero();
    }
    // One round of (x_t, y_t, z_t, p_{t−1}, q_{t−1}, r_{t−1}); none of them depends on the STORM updates below.
    const m = await gossip(ctx.link, { x: s.x, y: s.y, z: s.z, p: s.p, q: s.q, r: s.r }, ws.full);
    // Lines 6–8 per block: STORM u_t = (1 − α₁η²)(u_{t−1} − Ĝ_F(old)) + Ĝ_F(new); tracking
    // p_t = Σ_j e_kj p_{t−1}^{(j)} + u_t − u_{t−1}; x_{t+1} = x_t + η(Σ_j e_kj x_t^{(j)} − β₁p_t − x_t) (y, z likewise, z projected).
    stormTrackStep(s.u, c1, before.hypergrad, now.hypergrad, s.p, m.p, s.x, s.xPrev, m.x, p.beta1, p.eta, ws.halfX, Infinity);
    stormTrackStep(s.v, c2, before.lowerGrad, now.lowerGrad, s.q, m.q, s.y, s.yPrev, m.y, p.beta2, p.eta, ws.halfY, Infinity);
    stormTrackStep(s.w, c3, before.zGrad, now.zGrad, s.r, m.r, s.z, s.zPrev, m.z, p.beta3, p.eta, ws.halfY, p.zRadius ?? Infinity);
  }
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
  // After agents left the run (docs/faults.md): each tracker restarts from its STORM estimator, as at t = 0 (line 4), so Σ_i p_i = Σ_i u_i (and q, r) holds again over the survivors.
  onViewChange: (s) => {
    s.p.set(s.u);
    s.q.set(s.v);
    s.r.set(s.w);
  },
};
