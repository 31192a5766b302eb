/**
 * VRDBO and MDBO: Gao, Gu, Thai, "Stochastic Bilevel Distributed
 * Optimization over a Network", AISTATS 2023 (arXiv 2206.15025). The
 * homogeneous-setting baselines of SEED-000. No primary pseudocode is at
 * hand: these are the reconstructions of docs/decisions.md §9, i.e.
 * CD-BSVRGD (docs/algorithms.md) without the auxiliary z, each agent estimating its
 * hypergradient locally with a stochastic Neumann series (Ghadimi–Wang):
 *
 *   ∇̃F = ∇_x f(ξ⁰) − (K/L_g) ∇²_xy g(ζ⁰) Π_{j=1}^{k} (I − ∇²_yy g(ζ^j)/L_g) ∇_y f(ξ⁰),  k ~ U{0..K−1}
 *
 * (or the `neumann-recursive` estimator, src/hypergrad/neumann.ts).
 *
 * VRDBO (STORM):    u_t = (1 − α₁η²)(u_{t−1} − ∇̃F(x_{t−1}, y_{t−1}; s_t)) + ∇̃F(x_t, y_t; s_t)
 *                   v_t = (1 − α₂η²)(v_{t−1} − ∇_y g(x_{t−1}, y_{t−1}; ζ_t)) + ∇_y g(x_t, y_t; ζ_t)
 * MDBO (momentum):  u_t = (1 − α₁η) u_{t−1} + α₁η ∇̃F(x_t, y_t; s_t),  v_t likewise with α₂
 * both, t = 0:      u₀ = ∇̃F(x₀, y₀), v₀ = ∇_y g(x₀, y₀); p₀ = u₀, q₀ = v₀
 * both:             p_t = Σ_j w_ij p_{t−1} + u_t − u_{t−1} (q with v);
 *                   x_{t+1} = x_t + η(Σ_j w_ij x_t − β₁ p_t − x_t), y likewise with β₂, q.
 *
 * Communication: 1 round of (x, y, p, q) = 2d_x + 2d_y floats per message
 * ((x, y) only at t = 0). Oracles: VRDBO 2 points × (∇F, JVP, k HVPs, ∇_y G),
 * MDBO 1 point. Because each agent inverts only its own Hessian, the fixed
 * point on heterogeneous agents is biased (the average of local hypergradients
 * is not the hypergradient of the average), whatever the step size.
 * L_g defaults to 1.1 × a power-iteration estimate of the local Hessian at the
 * initial point (30 counted full-batch HVPs in the first step).
 */
import { z } from 'zod';
import type { Vec } from '../linalg/vector.ts';
import { estimateLg, NeumannSample, neumannSchema } from '../hypergrad/neumann.ts';
import { baseState, batchSizes, gossip, interpolatedStep, messageLayout, movingAverage, NeumannEstimates, param, stormCoefficient, stormUpdate, trackUpdate, type Blocks } from './blocks.ts';
import type { AgentContext, AgentStateBase, Algorithm } from './types.ts';

const shared = {
  eta: param.unit('eta').default(0.1).describe('interpolation step η ∈ (0, 1]'),
  beta1: param.positive('beta1').default(1).describe('x step β₁'),
  beta2: param.positive('beta2').default(1).describe('y step β₂'),
  batch0: param.batch('batch0').optional().describe('minibatch of the first iteration (default: the problem batch)'),
  batch1: param.batch('batch1').optional().describe('minibatch of later iterations (default: the problem batch)'),
  ...neumannSchema,
};

const vrdboParams = z
  .strictObject({
    ...shared,
    alpha1: param.positive('alpha1').default(90).describe('STORM weight α₁ (coefficient 1 − α₁η²)'),
    alpha2: param.positive('alpha2').default(90).describe('STORM weight α₂'),
  })
  .superRefine((p, ctx) => {
    for (const i of [1, 2] as const)
      if (p[`alpha${i}`] * p.eta * p.eta > 1 + 1e-12) ctx.addIssue({ code: 'custom', path: [`alpha${i}`], message: `alpha${i}·eta² must be ≤ 1 (STORM coefficient in [0, 1))` });
  });

const mdboParams = z
  .strictObject({
    ...shared,
    alpha1: param.positive('alpha1').default(5).describe('momentum weight α₁ (u ← (1 − α₁η)u + α₁η ∇̃F)'),
    alpha2: param.positive('alpha2').default(5).describe('momentum weight α₂'),
  })
  .superRefine((p, ctx) => {
    for (const i of [1, 2] as const)
      if (p[`alpha${i}`] * p.eta > 1 + 1e-12) ctx.addIssue({ code: 'custom', path: [`alpha${i}`], message: `alpha${i}·eta must be ≤ 1 (momentum weight in (0, 1])` });
  });

type VrdboParams = z.infer<typeof vrdboParams>;
type MdboParams = z.infer<typeof mdboParams>;
type Params = VrdboParams | MdboParams;

export interface VrdboState extends AgentStateBase {
  xPrev: Vec;
  yPrev: Vec;
  u: Vec;
  v: Vec;
  p: Vec;
  q: Vec;
  /** Neumann scale L_g (estimated in the first step unless given). */
  lg: number;
}

function init(ctx: AgentContext, label: string): VrdboState {
  const { dx, dy } = ctx;
  return {
    ...baseState(ctx, label),
    xPrev: Float64Array.from(ctx.init.x),
    yPrev: Float64Array.from(ctx.init.y),
    u: new Float64Array(dx),
    v: new Float64Array(dy),
    p: new Float64Array(dx),
    q: new Float64Array(dy),
    lg: 0,
  };
}

function workspace(ctx: AgentContext, p: Params) {
  const { dx, dy } = ctx;
  return {
    first: new NeumannSample(ctx.oracle, batchSizes(ctx, p.batch0), p),
    later: new NeumannSample(ctx.oracle, batchSizes(ctx, p.batch1), p),
    /** (∇̃F, ∇_y g) at the current and at the previous point, on the same sample. */
    now: new NeumannEstimates(dx, dy),
    before: new NeumannEstimates(dx, dy),
    initial: messageLayout({ x: dx, y: dy }),
    full: messageLayout({ x: dx, y: dy, p: dx, q: dy }),
    uPrev: new Float64Array(dx),
    vPrev: new Float64Array(dy),
    halfX: new Float64Array(dx),
    halfY: new Float64Array(dy),
    /** VRDBO's STORM coefficients 1 − α_iη² (unused by MDBO). */
    coef: [stormCoefficient(p.alpha1, p.eta), stormCoefficient(p.alpha2, p.eta)] as const,
  };
}

type Workspace = ReturnType<typeof workspace>;

async function step(s: VrdboState, ctx: AgentContext, ws: Workspace, p: Params, kind: 'storm' | 'momentum'): Promise<void> {
  const o = ctx.oracle;
  let mixed: Blocks<'x' | 'y'>;
  if (s.t === 0) {
    // u₀ = ∇̃F(x₀, y₀), v₀ = ∇_y g(x₀, y₀); p₀ = u₀, q₀ = v₀.
    s.lg = p.Lg ?? estimateLg(o, s.x, s.y);
    ws.first.draw(s.rng);
    const e = ws.now.at(o, s.x, s.y, ws.first, s.lg);
    s.u.set(e.hypergrad);
    s.v.set(e.lowerGrad);
    s.p.set(s.u);
    s.q.set(s.v);
    mixed = await gossip(ctx.link, { x: s.x, y: s.y }, ws.initial);
  } else {
    ws.later.draw(s.rng);
    const now = ws.now.at(o, s.x, s.y, ws.later, s.lg);
    ws.uPrev.set(s.u);
    ws.vPrev.set(s.v);
    if (kind === 'storm') {
      // u_t = (1 − α₁η²)(u_{t−1} − ∇̃F(x_{t−1}, y_{t−1}; s_t)) + ∇̃F(x_t, y_t; s_t), v likewise.
      const [c1, c2] = ws.coef;
      const before = c1 !== 0 || c2 !== 0 ? ws.before.at(o, s.xPrev, s.yPrev, ws.later, s.lg) : ws.before.zero();
      stormUpdate(s.u, c1, before.hypergrad, now.hypergrad);
      stormUpdate(s.v, c2, before.lowerGrad, now.lowerGrad);
    } else {
      // u_t = (1 − α₁η) u_{t−1} + α₁η ∇̃F(x_t, y_t; s_t), v likewise.
      movingAverage(s.u, p.alpha1 * p.eta, now.hypergrad);
      movingAverage(s.v, p.alpha2 * p.eta, now.lowerGrad);
    }
    // p_t = Σ_j w_ij p_{t−1} + u_t − u_{t−1}, q likewise.
    const m = await gossip(ctx.link, { x: s.x, y: s.y, p: s.p, q: s.q }, ws.full);
    trackUpdate(s.p, m.p, s.u, ws.uPrev);
    trackUpdate(s.q, m.q, s.v, ws.vPrev);
    mixed = m;
  }
  // x_{t+1} = x_t + η(Σ_j w_ij x_t − β₁ p_t − x_t), y likewise.
  s.xPrev.set(s.x);
  s.yPrev.set(s.y);
  interpolatedStep(s.x, mixed.x, p.beta1, s.p, p.eta, ws.halfX);
  interpolatedStep(s.y, mixed.y, p.beta2, s.q, p.eta, ws.halfY);
  s.t++;
}

const common = {
  problemClass: 'global' as const,
  paper: 'Gao, Gu, Thai, AISTATS 2023 (arXiv 2206.15025); reconstruction per docs/decisions.md §9',
  communicates: '1 round: (x, y, p, q), 2d_x + 2d_y floats per message (d_x + d_y at t = 0)',
  reconstruction: true,
  workspace,
  view: (s: VrdboState) => ({ x: s.x, y: s.y }),
  // After agents left the run (docs/faults.md): the trackers restart from the local estimators, as at t = 0 (p₀ = u₀, q₀ = v₀).
  onViewChange: (s: VrdboState) => {
    s.p.set(s.u);
    s.q.set(s.v);
  },
};

export const vrdbo: Algorithm<VrdboParams, VrdboState, Workspace> = {
  ...common,
  name: 'vrdbo',
  summary: 'VRDBO: STORM on a local stochastic Neumann hypergradient and on ∇_y g, gradient tracking of both, no z (homogeneous setting).',
  params: vrdboParams,
  init: (ctx) => init(ctx, 'vrdbo'),
  step: (s, ctx, ws, p) => step(s, ctx, ws, p, 'storm'),
};

export const mdbo: Algorithm<MdboParams, VrdboState, Workspace> = {
  ...common,
  name: 'mdbo',
  summary: 'MDBO: momentum on a local stochastic Neumann hypergradient and on ∇_y g, gradient tracking of both, no z (homogeneous setting).',
  params: mdboParams,
  init: (ctx) => init(ctx, 'mdbo'),
  step: (s, ctx, ws, p) => step(s, ctx, ws, p, 'momentum'),
};
