/**
 * D-SOBA-SO and D-SOBA-FO: decentralized stochastic one-loop bilevel
 * optimization. Kong, Zhu, Lu, Huang, Yuan, "Decentralized Bilevel
 * Optimization: A Perspective from Transient Iteration Complexity",
 * arXiv 2402.03167 (SEED-004), Algorithm 1; specification algorithms.md
 * §3.11–3.12 and §7.2–7.3.
 *
 * Per agent i, iteration t, with ξ ~ D_f, ζ ~ D_g (one lower-level minibatch
 * shared by ∇_y g, HVP and JVP, §7.10), all evaluated at (x^t, y^t, z^t):
 *   u_x, u_y = ∇_x F, ∇_y F;  v = ∇_y G;  Hz = ∇²_yy G z;  Jz = ∇²_xy G z
 *   x^{t+1} = Σ_j w_ij (x_j − α h_j^t)
 *   y^{t+1} = Σ_j w_ij (y_j − β v_j)
 *   z^{t+1} = Σ_j w_ij ẑ_j,   ẑ = z − γ (Hz − u_y)
 *   ω^{t+1} = u_x − Jz;       h^{t+1} = (1 − θ) h^t + θ ω^{t+1}
 * Sign convention: z ≈ +[∇²_yy g]⁻¹ ∇_y f, hypergradient ∇_x f − J z (§7).
 * Initialization: x, y, z from the config (zeros by default), h⁰ = 0.
 * The x step uses h^t (one iteration old) as Algorithm 1 writes it;
 * `hTiming: current` uses h^{t+1} instead (discrepancy (b)).
 *
 * Communication: 1 round of the ATC payload (x − αh, y − βv, ẑ), d_x + 2d_y
 * floats per directed message. No trackers.
 * Oracles (SO): 1 ∇F, 1 ∇_y G, 1 HVP, 1 JVP per iteration.
 *
 * D-SOBA-FO replaces HVP and JVP by finite differences of first-order
 * gradients on the same minibatch ζ. The stencil is not verified in the
 * sources ([MEM], §3.12); we use (§7.3) a step of length δ along z/‖z‖:
 *   central: [∇G(x, y + δ ẑ) − ∇G(x, y − δ ẑ)] ‖z‖/(2δ)   (2 extra ∇G)
 *   forward: [∇G(x, y + δ ẑ) − ∇G(x, y)] ‖z‖/δ            (1 extra ∇G)
 * where ∇G = (∇_x G, ∇_y G) gives both J̃z and H̃z; ẑ = z/‖z‖. While z = 0
 * (the first iteration from the default start) J̃z = H̃z = 0 exactly and only
 * ∇_y G is evaluated, so that iteration counts 1 ∇G instead of 3 (or 2).
 * Note: §3.12 writes the step as y ± δz (length δ‖z‖); §7.3 makes δ relative
 * to ‖z‖, which we read as a step of length δ along z/‖z‖.
 */
import { z } from 'zod';
import { axpy, lincomb, norm2Sq, sub, type Vec } from '../linalg/vector.ts';
import { mixRound } from '../network/link.ts';
import { BatchSampler } from '../problems/batch.ts';
import type { Batch } from '../problems/types.ts';
import { baseState, param } from './blocks.ts';
import type { AgentContext, AgentStateBase, Algorithm } from './types.ts';


const soParams = z.strictObject({
  alpha: param.positive('alpha').default(0.05).describe('upper-level step size α'),
  beta: param.positive('beta').default(0.1).describe('lower-level step size β'),
  gamma: param.positive('gamma').default(0.1).describe('auxiliary (z) step size γ'),
  theta: param.positive('theta').max(1, { error: 'theta must be ≤ 1' }).default(0.5).describe('moving-average weight θ ∈ (0, 1]'),
  hTiming: z.enum(['previous', 'current']).default('previous').describe("x step uses h^t ('previous', Algorithm 1) or h^{t+1} ('current')"),
});

const foParams = soParams.extend({
  delta: param.positive('delta').default(1e-3).describe('finite-difference step δ (length of the step along z/‖z‖)'),
  stencil: z.enum(['central', 'forward']).default('central').describe('finite-difference stencil'),
});

export type DSobaParams = z.infer<typeof soParams>;
export type DSobaFoParams = z.infer<typeof foParams>;

export interface DSobaState extends AgentStateBase {
  z: Vec;
  /** Moving-average hypergradient estimate h^t. */
  h: Vec;
}

interface DSobaWorkspace {
  readonly upperSampler: BatchSampler;
  readonly lowerSampler: BatchSampler;
  readonly upper: Batch;
  readonly lower: Batch;
  readonly ux: Vec;
  readonly uy: Vec;
  readonly v: Vec;
  readonly hz: Vec;
  readonly jz: Vec;
  /** The message (x − αh, y − βv, ẑ) and its three blocks (views into it). */
  readonly payload: Vec;
  readonly px: Vec;
  readonly py: Vec;
  readonly pz: Vec;
  readonly omega: Vec;
  readonly residual: Vec;
  /** FO scratch: perturbed y and the gradients at it. */
  readonly yp: Vec;
  readonly gxPlus: Vec;
  readonly gyPlus: Vec;
  readonly gxMinus: Vec;
  readonly gyMinus: Vec;
}

function init(ctx: AgentContext): DSobaState {
  return {
    ...baseState(ctx, 'd-soba'),
    z: Float64Array.from(ctx.init.z),
    h: new Float64Array(ctx.dx),
  };
}

function workspace(ctx: AgentContext): DSobaWorkspace {
  const upperSampler = new BatchSampler(ctx.oracle.upperSamples, ctx.batch.upper);
  const lowerSampler = new BatchSampler(ctx.oracle.lowerSamples, ctx.batch.lower);
  const { dx, dy } = ctx;
  const payload = new Float64Array(dx + 2 * dy);
  return {
    upperSampler,
    lowerSampler,
    upper: upperSampler.create(),
    lower: lowerSampler.create(),
    ux: new Float64Array(dx),
    uy: new Float64Array(dy),
    v: new Float64Array(dy),
    hz: new Float64Array(dy),
    jz: new Float64Array(dx),
    payload,
    px: payload.subarray(0, dx),
    py: payload.subarray(dx, dx + dy),
    pz: payload.subarray(dx + dy),
    omega: new Float64Array(dx),
    residual: new Float64Array(dy),
    yp: new Float64Array(dy),
    gxPlus: new Float64Array(dx),
    gyPlus: new Float64Array(dy),
    gxMinus: new Float64Array(dx),
    gyMinus: new Float64Array(dy),
  };
}

/** Second-order products Hz, Jz into ws.hz, ws.jz; also fills ws.v = ∇_y G. */
type Products = (s: DSobaState, ctx: AgentContext, ws: DSobaWorkspace, p: DSobaFoParams) => void;

const exactProducts = (s: DSobaState, ctx: AgentContext, ws: DSobaWorkspace): void => {
  ctx.oracle.gradG(s.x, s.y, ws.lower, null, ws.v);
  ctx.oracle.hvp(s.x, s.y, s.z, ws.lower, ws.hz);
  ctx.oracle.jvp(s.x, s.y, s.z, ws.lower, ws.jz);
};

const finiteDifferenceProducts: Products = (s, ctx, ws, p) => {
    const o = ctx.oracle;
    const zNorm = Math.sqrt(norm2Sq(s.z));
    if (zNorm === 0) {
      o.gradG(s.x, s.y, ws.lower, null, ws.v);
      ws.hz.fill(0);
      ws.jz.fill(0);
      return;
    }
    const step = p.delta / zNorm;
    ws.yp.set(s.y);
    axpy(step, s.z, ws.yp);
    if (p.stencil === 'central') {
      o.gradG(s.x, s.y, ws.lower, null, ws.v);
      o.gradG(s.x, ws.yp, ws.lower, ws.gxPlus, ws.gyPlus);
      ws.yp.set(s.y);
      axpy(-step, s.z, ws.yp);
      o.gradG(s.x, ws.yp, ws.lower, ws.gxMinus, ws.gyMinus);
      const c = 1 / (2 * step);
      lincomb(ws.hz, c, ws.gyPlus, -c, ws.gyMinus);
      lincomb(ws.jz, c, ws.gxPlus, -c, ws.gxMinus);
    } else {
      o.gradG(s.x, s.y, ws.lower, ws.gxMinus, ws.v);
      o.gradG(s.x, ws.yp, ws.lower, ws.gxPlus, ws.gyPlus);
      const c = 1 / step;
      lincomb(ws.hz, c, ws.gyPlus, -c, ws.v);
      lincomb(ws.jz, c, ws.gxPlus, -c, ws.gxMinus);
    }
};

async function dSobaStep<P extends DSobaParams>(s: DSobaState, ctx: AgentContext, ws: DSobaWorkspace, p: P, products: (s: DSobaState, ctx: AgentContext, ws: DSobaWorkspace, p: P) => void): Promise<void> {
  ws.upperSampler.draw(ws.upper, s.rng);
  ws.lowerSampler.draw(ws.lower, s.rng);
  ctx.oracle.gradF(s.x, s.y, ws.upper, ws.ux, ws.uy);
  products(s, ctx, ws, p);

  // ω^{t+1} = u_x − Jz and h^{t+1} = (1 − θ) h^t + θ ω^{t+1}; the x block uses
  // h^t (Algorithm 1) or h^{t+1} (hTiming 'current').
  sub(ws.omega, ws.ux, ws.jz);
  if (p.hTiming === 'previous') lincomb(ws.px, 1, s.x, -p.alpha, s.h);
  lincomb(s.h, 1 - p.theta, s.h, p.theta, ws.omega);
  if (p.hTiming === 'current') lincomb(ws.px, 1, s.x, -p.alpha, s.h);
  lincomb(ws.py, 1, s.y, -p.beta, ws.v);
  sub(ws.residual, ws.hz, ws.uy);
  lincomb(ws.pz, 1, s.z, -p.gamma, ws.residual);
  // One gossip round of the ATC payload (x − αh, y − βv, ẑ).
  await mixRound(ctx.link, ws.payload, ws.payload);
  s.x.set(ws.px);
  s.y.set(ws.py);
  s.z.set(ws.pz);
  s.t++;
}

const common = {
  problemClass: 'global' as const,
  paper: 'Kong et al., arXiv 2402.03167 (SEED-004), Algorithm 1',
  communicates: '1 round: (x − αh, y − βv, ẑ), d_x + 2d_y floats per message',
  init,
  workspace,
  view: (s: DSobaState) => ({ x: s.x, y: s.y, z: s.z }),
};

export const dSoba: Algorithm<DSobaParams, DSobaState, DSobaWorkspace> = {
  ...common,
  name: 'd-soba',
  summary: 'D-SOBA-SO: single-loop SOBA with gossip on x, y, z and a moving-average hypergradient (HVP + JVP).',
  reconstruction: false,
  params: soParams,
  step: (s, ctx, ws, p) => dSobaStep(s, ctx, ws, p, exactProducts),
};

export const dSobaFo: Algorithm<DSobaFoParams, DSobaState, DSobaWorkspace> = {
  ...common,
  name: 'd-soba-fo',
  summary: 'D-SOBA-FO: D-SOBA with HVP/JVP replaced by finite differences of first-order gradients (stencil unverified, §3.12).',
  reconstruction: true,
  params: foParams,
  step: (s, ctx, ws, p) => dSobaStep(s, ctx, ws, p, finiteDifferenceProducts),
};
