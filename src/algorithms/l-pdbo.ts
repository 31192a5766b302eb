/**
 * L-PDBO: loopless personalized decentralized bilevel optimization. Niu,
 * Sun, Huang, Xu, IEEE CDC 2023 (SEED-002), iteration (6a)–(6d);
 * reference docs/algorithms.md, docs/decisions.md §8.
 *
 * Per agent i, iteration k, with independent minibatches ξ₁, ξ₂, ξ₃ (lower
 * level) and ζ₁, ζ₂ (upper level):
 *   x^{k+1} = Σ_j w_ij x_j^k − α s^k                                        (6a)
 *   θ^{k+1} = θ^k − β ∇_θ g(x^k, θ^k; ξ₁)                                   (6b)
 *   v^{k+1} = v^k − γ_v ∇²_θθ g(x^k, θ^k; ξ₂) v^k + γ_v ∇_θ f(x^k, θ^k; ζ₁)   (6c)
 *   s^{k+1} = ∇_x f(x^{k+1}, θ^{k+1}; ζ₂) − ∇²_xθ g(x^{k+1}, θ^{k+1}; ξ₃) v^{k+1}   (6d)
 * The v step size, λ in the paper, is `gammaV` (it clashes with the
 * experiment's hyperparameter λ, docs/algorithms.md). s is not tracked. Initialization
 * (docs/decisions.md §8): x⁰, θ⁰, v⁰ from the config (v⁰ = the init z, zero by default) and
 * s⁰ by (6d) at the initial point, computed in the first step (counted).
 *
 * Communication: 1 round, x only (d_x floats per message); θ never leaves the agent.
 * Oracles per iteration: 2 ∇F (ζ₁ at the old point, ζ₂ at the new one; each
 * call returns ∇_x f and ∇_θ f), 1 ∇_θ G, 1 HVP (or, with `hessian: matrix`,
 * one explicitly formed Hessian, as the paper's experiment counts them) and
 * 1 JVP. The "Hessians computed" count of SEED-002 Table I is one per agent
 * per iteration either way (HVP or matrix).
 */
import { z } from 'zod';
import { gemv } from '../linalg/matrix.ts';
import { axpy, lincomb, type Vec } from '../linalg/vector.ts';
import { mixRound } from '../network/link.ts';
import { BatchSampler } from '../problems/batch.ts';
import { baseState, param } from './blocks.ts';
import type { AgentContext, AgentStateBase, Algorithm } from './types.ts';

const params = z.strictObject({
  alpha: param.positive('alpha').default(0.01).describe('upper-level step α (paper: 0.01)'),
  beta: param.positive('beta').default(0.016).describe('lower-level step β (paper: 0.016)'),
  gammaV: param.positive('gammaV').default(0.01).describe('step of the Hessian-inverse-vector estimate v (the paper\'s λ = 0.01)'),
  hessian: z.enum(['hvp', 'matrix']).default('hvp').describe("(6c) with a Hessian-vector product or an explicitly formed Hessian matrix"),
});

export type LPdboParams = z.infer<typeof params>;

export interface LPdboState extends AgentStateBase {
  /** Hessian-inverse-vector estimate v ≈ [∇²_θθ g]⁻¹ ∇_θ f. */
  v: Vec;
  /** Hypergradient estimate s (not tracked). */
  s: Vec;
}

function workspace(ctx: AgentContext, p: LPdboParams) {
  const { dx, dy } = ctx;
  const upper = new BatchSampler(ctx.oracle.upperSamples, ctx.batch.upper);
  const lower = new BatchSampler(ctx.oracle.lowerSamples, ctx.batch.lower);
  return {
    upper,
    lower,
    xi1: lower.create(),
    xi2: lower.create(),
    xi3: lower.create(),
    zeta1: upper.create(),
    zeta2: upper.create(),
    fx: new Float64Array(dx),
    fy: new Float64Array(dy),
    gy: new Float64Array(dy),
    hv: new Float64Array(dy),
    jv: new Float64Array(dx),
    xNew: new Float64Array(dx),
    hessian: { rows: dy, cols: dy, data: new Float64Array(p.hessian === 'matrix' ? dy * dy : 0) },
  };
}

type Workspace = ReturnType<typeof workspace>;

/** s ← ∇_x f(x, θ; ζ₂) − ∇²_xθ g(x, θ; ξ₃) v  (6d). */
function hypergradientEstimate(ctx: AgentContext, ws: Workspace, x: Vec, theta: Vec, v: Vec, out: Vec): void {
  ctx.oracle.gradF(x, theta, ws.zeta2, ws.fx, ws.fy);
  ctx.oracle.jvp(x, theta, v, ws.xi3, ws.jv);
  lincomb(out, 1, ws.fx, -1, ws.jv);
}

async function step(s: LPdboState, ctx: AgentContext, ws: Workspace, p: LPdboParams): Promise<void> {
  const o = ctx.oracle;
  const rng = s.rng;
  if (s.t === 0) {
    ws.upper.draw(ws.zeta2, rng);
    ws.lower.draw(ws.xi3, rng);
    hypergradientEstimate(ctx, ws, s.x, s.y, s.v, s.s);
  }
  ws.lower.draw(ws.xi1, rng);
  ws.lower.draw(ws.xi2, rng);
  ws.lower.draw(ws.xi3, rng);
  ws.upper.draw(ws.zeta1, rng);
  ws.upper.draw(ws.zeta2, rng);
  // (6b) and (6c) at the old point (x^k, θ^k).
  o.gradG(s.x, s.y, ws.xi1, null, ws.gy);
  if (p.hessian === 'matrix') {
    o.hessian(s.x, s.y, ws.xi2, ws.hessian.data);
    gemv(ws.hv, ws.hessian, s.v);
  } else o.hvp(s.x, s.y, s.v, ws.xi2, ws.hv);
  o.gradF(s.x, s.y, ws.zeta1, ws.fx, ws.fy);
  axpy(-p.gammaV, ws.hv, s.v);
  axpy(p.gammaV, ws.fy, s.v);
  axpy(-p.beta, ws.gy, s.y);
  // (6a): one gossip round on x.
  ws.xNew.set(s.x);
  await mixRound(ctx.link, ws.xNew, ws.xNew);
  lincomb(s.x, 1, ws.xNew, -p.alpha, s.s);
  // (6d) at the new point.
  hypergradientEstimate(ctx, ws, s.x, s.y, s.v, s.s);
  s.t++;
}

export const lPdbo: Algorithm<LPdboParams, LPdboState, Workspace> = {
  name: 'l-pdbo',
  problemClass: 'personalized',
  paper: 'Niu, Sun, Huang, Xu, IEEE CDC 2023 (SEED-002), (6a)–(6d)',
  summary: 'Loopless personalized bilevel: local θ and Hessian-inverse-vector estimate v updated by single steps, x gossiped with an untracked hypergradient estimate.',
  communicates: '1 round: x, d_x floats per message',
  reconstruction: false,
  formsDenseMatrices: (p) => p.hessian === 'matrix',
  params,
  init: (ctx) => ({
    ...baseState(ctx, 'l-pdbo'),
    v: Float64Array.from(ctx.init.z),
    s: new Float64Array(ctx.dx),
  }),
  workspace,
  step,
  // v is local (never gossiped), so no consensus error is reported for it.
  view: (s) => ({ x: s.x, y: s.y }),
};
