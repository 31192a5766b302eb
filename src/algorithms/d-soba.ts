/**
 * D-SOBA-SO and D-SOBA-FO: decentralized stochastic one-loop bilevel
 * optimization. Kong, Zhu, Lu, Huang, Yuan, "Decentralized Bilevel
 * Optimization: A Perspective from Transient Iteration Complexity",
 * arXiv 2402.03167 (SEED-004), Algorithm 1; specification algorithms.md
 * docs/algorithms.md and docs/decisions.md §2–§3.
 *
 * Per agent i, iteration t, with ξ ~ D_f, ζ ~ D_g (one lower-level minibatch
 * shared by ∇_y g, HVP and JVP, docs/decisions.md §10), all evaluated at (x^t, y^t, z^t):
 *   u_x, u_y = ∇_x F, ∇_y F;  v = ∇_y G;  Hz = ∇²_yy G z;  Jz = ∇²_xy G z
 *   x^{t+1} = Σ_j w_ij (x_j − α h_j^t)
 *   y^{t+1} = Σ_j w_ij (y_j − β v_j)
 *   z^{t+1} = Σ_j w_ij ẑ_j,   ẑ = z − γ (Hz − u_y)
 *   ω^{t+1} = u_x − Jz;       h^{t+1} = (1 − θ) h^t + θ ω^{t+1}
 * Sign convention: z ≈ +[∇²_yy g]⁻¹ ∇_y f, hypergradient ∇_x f − J z (docs/decisions.md §0).
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
 * sources; we use (docs/decisions.md §3) a step of length δ along z/‖z‖:
 *   central: [∇G(x, y + δ ẑ) − ∇G(x, y − δ ẑ)] ‖z‖/(2δ)   (2 extra ∇G)
 *   forward: [∇G(x, y + δ ẑ) − ∇G(x, y)] ‖z‖/δ            (1 extra ∇G)
 * where ∇G = (∇_x G, ∇_y G) gives both J̃z and H̃z; ẑ = z/‖z‖. While z = 0
 * (the first iteration from the default start) J̃z = H̃z = 0 exactly and only
 * ∇_y G is evaluated, so that iteration counts 1 ∇G instead of 3 (or 2).
 * Note: the source sketch writes the step as y ± δz (length δ‖z‖); docs/decisions.md §3 makes δ relative
 * to ‖z‖, which we read as a step of length δ along z/‖z‖.
 */
import { z } from 'zod';
import { axpy, lincomb, norm2Sq, type Vec } from '../linalg/vector.ts';
import { mixRound } from '../network/link.ts';
import { baseState, BatchPair, exactProducts, movingAverage, param, SobaEstimates, type SecondOrderProducts } from './blocks.ts';
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

/**
 * x, y, z and h of one agent, laid out one after another in one array
 * (x | y | z | h): the ATC message (x − αh, y − βv, ẑ) is formed in place in
 * x | y | z, sent from there, and mixed in place, so that no separate
 * message is written, read and copied back each iteration. Between the
 * exchange and the mixing the state holds the message; a step is the only
 * code that sees the state then. States whose vectors are separate arrays
 * (say, deserialized from a checkpoint) are laid out again by the first step
 * (`payloadOf`): the same values, so the same iterates.
 */
function layout(ctx: AgentContext, x: Vec, y: Vec, z: Vec, h: Vec): { x: Vec; y: Vec; z: Vec; h: Vec } {
  const { dx, dy } = ctx;
  const all = new Float64Array(2 * dx + 2 * dy);
  const v = { x: all.subarray(0, dx), y: all.subarray(dx, dx + dy), z: all.subarray(dx + dy, dx + 2 * dy), h: all.subarray(dx + 2 * dy) };
  v.x.set(x);
  v.y.set(y);
  v.z.set(z);
  v.h.set(h);
  return v;
}

function init(ctx: AgentContext): DSobaState {
  const base = baseState(ctx, 'd-soba');
  return { ...base, ...layout(ctx, base.x, base.y, ctx.init.z, new Float64Array(ctx.dx)) };
}

/** The message payload x | y | z of a state laid out by `layout`, laying it out first when it is not. */
function payloadOf(s: DSobaState, ctx: AgentContext, ws: DSobaWorkspace): Vec {
  if (ws.payload.of === s.x) return ws.payload.view;
  const { dx, dy } = ctx;
  const { x, y, z, h } = s;
  const adjacent = x.buffer === y.buffer && y.buffer === z.buffer && z.buffer === h.buffer && y.byteOffset === x.byteOffset + 8 * dx && z.byteOffset === y.byteOffset + 8 * dy && h.byteOffset === z.byteOffset + 8 * dy;
  if (!adjacent) Object.assign(s, layout(ctx, x, y, z, h));
  ws.payload.of = s.x;
  ws.payload.view = new Float64Array(s.x.buffer as ArrayBuffer, s.x.byteOffset, dx + 2 * dy);
  return ws.payload.view;
}

/**
 * Estimates shared by the agents of this thread, by sizes and products. A
 * step fills its estimates and consumes them before its exchange (nothing
 * reads them across an await), so one set serves every agent and stays in
 * cache, instead of 2d_y + d_x floats per agent streamed through it each
 * iteration. The message, which lives across the exchange, stays per agent.
 */
const sharedEstimates = new WeakMap<SecondOrderProducts, Map<string, SobaEstimates>>();

function estimatesFor(dx: number, dy: number, products: SecondOrderProducts): SobaEstimates {
  let bySize = sharedEstimates.get(products);
  if (!bySize) sharedEstimates.set(products, (bySize = new Map()));
  const key = `${dx}:${dy}`;
  let e = bySize.get(key);
  if (!e) bySize.set(key, (e = new SobaEstimates(dx, dy, products)));
  return e;
}

function workspace(ctx: AgentContext, products: SecondOrderProducts) {
  const { dx, dy } = ctx;
  return {
    batches: new BatchPair(ctx.oracle, ctx.batch),
    /** u_x − Jz, Hz − u_y and v = ∇_y G at (x^t, y^t, z^t) (shared, see estimatesFor). */
    estimates: estimatesFor(dx, dy, products),
    /** The state's x | y | z as one vector (see `layout`), and the x it was made for. */
    payload: { of: null as Vec | null, view: new Float64Array(0) },
  };
}

type DSobaWorkspace = ReturnType<typeof workspace>;

/**
 * D-SOBA-FO's products from first-order gradients on ζ (see the file
 * comment): a step of length δ along z/‖z‖, central or forward; at z = 0 only
 * ∇_y G is evaluated and Hz = Jz = 0.
 */
function finiteDifferenceProducts(ctx: AgentContext, p: DSobaFoParams): SecondOrderProducts {
  const { dx, dy } = ctx;
  const yp = new Float64Array(dy);
  const gxPlus = new Float64Array(dx);
  const gyPlus = new Float64Array(dy);
  const gxMinus = new Float64Array(dx);
  const gyMinus = new Float64Array(dy);
  return (o, x, y, z, lower, v, hz, jz) => {
    const zNorm = Math.sqrt(norm2Sq(z));
    if (zNorm === 0) {
      o.gradG(x, y, lower, null, v);
      hz.fill(0);
      jz.fill(0);
      return;
    }
    const step = p.delta / zNorm;
    yp.set(y);
    axpy(step, z, yp);
    if (p.stencil === 'central') {
      o.gradG(x, y, lower, null, v);
      o.gradG(x, yp, lower, gxPlus, gyPlus);
      yp.set(y);
      axpy(-step, z, yp);
      o.gradG(x, yp, lower, gxMinus, gyMinus);
      const c = 1 / (2 * step);
      lincomb(hz, c, gyPlus, -c, gyMinus);
      lincomb(jz, c, gxPlus, -c, gxMinus);
    } else {
      o.gradG(x, y, lower, gxMinus, v);
      o.gradG(x, yp, lower, gxPlus, gyPlus);
      const c = 1 / step;
      lincomb(hz, c, gyPlus, -c, v);
      lincomb(jz, c, gxPlus, -c, gxMinus);
    }
  };
}

/** Algorithm 1, one iteration. */
async function step(s: DSobaState, ctx: AgentContext, ws: DSobaWorkspace, p: DSobaParams): Promise<void> {
  const payload = payloadOf(s, ctx, ws);
  ws.batches.draw(s.rng);
  // ω^{t+1} = u_x − Jz, the z-gradient Hz − u_y and v = ∇_y G, all at (x^t, y^t, z^t).
  const e = ws.estimates.at(ctx.oracle, s.x, s.y, s.z, ws.batches);
  // The message, in place: x − αh with h^t (Algorithm 1) or h^{t+1} ('current'); h^{t+1} = (1 − θ)h^t + θω^{t+1}.
  if (p.hTiming === 'previous') lincomb(s.x, 1, s.x, -p.alpha, s.h);
  movingAverage(s.h, p.theta, e.hypergrad);
  if (p.hTiming === 'current') lincomb(s.x, 1, s.x, -p.alpha, s.h);
  lincomb(s.y, 1, s.y, -p.beta, e.lowerGrad);
  lincomb(s.z, 1, s.z, -p.gamma, e.zGrad);
  // x^{t+1} = Σ_j w_ij (x_j − αh_j), y^{t+1} = Σ_j w_ij (y_j − βv_j), z^{t+1} = Σ_j w_ij ẑ_j, mixed in place.
  await mixRound(ctx.link, payload, payload);
  s.t++;
}

const common = {
  problemClass: 'global' as const,
  paper: 'Kong et al., arXiv 2402.03167 (SEED-004), Algorithm 1',
  communicates: '1 round: (x − αh, y − βv, ẑ), d_x + 2d_y floats per message',
  init,
  step,
  view: (s: DSobaState) => ({ x: s.x, y: s.y, z: s.z }),
};

export const dSoba: Algorithm<DSobaParams, DSobaState, DSobaWorkspace> = {
  ...common,
  name: 'd-soba',
  summary: 'D-SOBA-SO: single-loop SOBA with gossip on x, y, z and a moving-average hypergradient (HVP + JVP).',
  reconstruction: false,
  params: soParams,
  workspace: (ctx) => workspace(ctx, exactProducts),
};

export const dSobaFo: Algorithm<DSobaFoParams, DSobaState, DSobaWorkspace> = {
  ...common,
  name: 'd-soba-fo',
  summary: 'D-SOBA-FO: D-SOBA with HVP/JVP replaced by finite differences of first-order gradients (stencil unverified, docs/algorithms.md).',
  reconstruction: true,
  params: foParams,
  workspace: (ctx, p) => workspace(ctx, finiteDifferenceProducts(ctx, p)),
};
