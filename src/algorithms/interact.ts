/**
 * INTERACT and SVR-INTERACT, with the paper's two baselines GT-DSGD and
 * D-SGD. Liu, Zhang, Khanduri, Lu, Liu, "INTERACT: Achieving Low Sample and
 * Communication Complexities in Decentralized Bilevel Learning over
 * Networks", MobiHoc 2022 (SEED-001), Algorithms 1 and 2 and §6;
 * reference docs/algorithms.md, docs/decisions.md §6, §7, docs/decisions.md §10–§12.
 *
 * Class P (personalized lower level): agent i solves its own
 * y_i*(x) = argmin g_i(x, ·); y_i is never communicated. With the local
 * surrogate (5)
 *   ∇̄f_i(x, y) = ∇_x f_i − ∇²_xy g_i [∇²_yy g_i]⁻¹ ∇_y f_i,
 * every method below runs, per iteration t = 1, 2, …,
 *   x_{i,t} = Σ_j M_ij x_{j,t−1} − α u_{i,t−1}                         (6)
 *   y_{i,t} = y_{i,t−1} − β v_{i,t−1}                                  (7)
 *   p_{i,t} = local hypergradient estimate at (x_{i,t}, y_{i,t})       (8) / (23)
 *   v_{i,t} = d_{i,t} = local ∇_y g_i estimate at (x_{i,t}, y_{i,t})   (9) / (24)
 *   u_{i,t} = Σ_j M_ij u_{j,t−1} + p_{i,t} − p_{i,t−1}                 (10)
 * from u_{i,0} = p_{i,0} and v_{i,0} evaluated at (x⁰, y⁰) ((26); computed,
 * and counted, in the first `step`). One `step` is one iteration t.
 *
 * - `interact` (Algorithm 1): (8) is the exact surrogate (5) on the full local
 *   batches and (9) the full ∇_y g_i. INTERACT is deterministic, so it always
 *   uses full local batches whatever the problem's minibatch setting. The
 *   inverse is applied by CG over counted HVPs (src/hypergrad/exact.ts),
 *   warm started from the previous solve kept in the state (`w`).
 * - `svr-interact` (Algorithm 2): SPIDER estimators with period q. At t ≡ 0
 *   (mod q) (and at t = 0) a checkpoint sets p_t and d_t on the full local
 *   batches; otherwise, with one Neumann sample ξ̄ = (k, ξ⁰, ζ⁰, ζ¹…ζ^k) used
 *   at both points,
 *     p_t = p_{t−1} + ∇̄f(x_t, y_t; ξ̄) − ∇̄f(x_{t−1}, y_{t−1}; ξ̄)       (23), estimator (22)
 *     d_t = d_{t−1} + ∇_y g(x_t, y_t; ζ⁰) − ∇_y g(x_{t−1}, y_{t−1}; ζ⁰)  (24)
 *   and v_t = d_t. Checkpoints (docs/algorithms.md, docs/decisions.md §6), option `checkpoint`:
 *     'exact' (default, as written): the exact surrogate (8) and full ∇_y g (9);
 *     'estimatorAverage' (Prometheus's definition of the full gradient, the
 *       average of the stochastic estimator over all local samples): the
 *       Neumann estimator evaluated with every one of its batches full, and
 *       the full ∇_y g. With `neumann-recursive` at fixed depth it is
 *       deterministic and equals the K-term truncated surrogate
 *       ∇_x f − J (1/L_g) Σ_{j<K} (I − H/L_g)^j ∇_y f, the mean of the
 *       intermediate estimator, so the SPIDER recursion tracks one consistent
 *       (biased by O((1 − μ/L_g)^K)) target. With the conventional `neumann`
 *       estimator its depth k is still random.
 *   With 'exact' and deterministic oracles the recursion telescopes to
 *   p_t = ∇̄f(x_c) + N(x_t) − N(x_c) (c the last checkpoint, N the truncated
 *   surrogate), so the error ∇̄f − N at x_t and at x_c cancel as the iterates
 *   settle: the fixed point is the exact one for any K.
 * - `gt-dsgd` (SEED-001 §6 "GT-SGD", after GNSD): (6), (7), (10) with a fresh
 *   minibatch estimator (22) for p and the minibatch ∇_y g on ζ⁰ for d at
 *   every iteration (t = 0 included).
 * - `d-sgd` (SEED-001 §6): no tracking; the printed update evaluates its gradients at
 *   (x_{i,t}, y_{i,t}) on the right-hand side of the update that defines
 *   them (circular, docs/algorithms.md); per docs/decisions.md §7 they are taken at the previous
 *   iterate:
 *     x_{i,t} = Σ_j M_ij x_{j,t−1} − α ∇̄f_i(x_{i,t−1}, y_{i,t−1}; ξ̄)
 *     y_{i,t} = y_{i,t−1} − β ∇_y g_i(x_{i,t−1}, y_{i,t−1}; ζ⁰).
 *
 * Communication: 1 round per iteration. `interact`, `svr-interact` and
 * `gt-dsgd` send (x_{t−1}, u_{t−1}) = 2d_x floats per message (u_{t−1} exists
 * before the first round, so the first round is no different); `d-sgd` sends
 * x_{t−1} = d_x floats.
 *
 * Oracles per agent per iteration ("full" counts the local sample count per
 * call, 1 for population oracles):
 * - `interact`: full ∇F, ∇_y G, JVP and CG-iterations + 1 HVPs (one solve);
 *   the first step twice that (the initial point too).
 * - `svr-interact`: checkpoints as `interact` ('exact') or full ∇F, ∇_y G,
 *   JVP and k HVPs ('estimatorAverage'); other iterations 2 points × (∇F,
 *   ∇_y G, JVP, k HVPs) on minibatches of |S|.
 * - `gt-dsgd`, `d-sgd`: 1 point × (∇F, ∇_y G, JVP, k HVPs) on minibatches
 *   (`gt-dsgd` 2 points in its first step, for the initialization).
 * k = K − 1 for the fixed-depth recursive estimator, k ~ U{0..K−1} otherwise.
 * Unless `Lg` is given, the methods that use the Neumann estimator spend 30
 * counted full-batch HVPs of their first step on L_g = 1.1 × a power-iteration
 * estimate at the initial point (not `interact`, nor `svr-interact` with
 * q = 1 and exact checkpoints, which never use it).
 *
 * Decisions and deviations:
 * - Minibatches: |S| is the parameter `batch`, default the problem's batch
 *   (as every algorithm of the library); the paper used |S| = q = ⌈√n⌉ = 32.
 *   One estimator evaluation on a minibatch of |S| samples draws one depth k
 *   for the whole minibatch (the library's Neumann sample, as VRDBO), where
 *   (23) averages |S| single-sample estimators with independent depths: the
 *   mean is the same, the variance differs.
 * - K and L_g are not in the paper (docs/algorithms.md): `K` default 10, `L_g` estimated.
 * - The stochastic estimator is selectable (`estimator`, `depth`) as in
 *   src/hypergrad/neumann.ts; (22) is the default `neumann`.
 * - D-SGD's circular indices are fixed as above (docs/decisions.md §7).
 */
import { z } from 'zod';
import { axpy, lincomb, type Vec } from '../linalg/vector.ts';
import { exactHypergradient, exactScratch } from '../hypergrad/exact.ts';
import { estimateLg, NeumannSample, neumannSchema } from '../hypergrad/neumann.ts';
import { fullBatch, type AgentOracle } from '../problems/types.ts';
import type { Rng } from '../random/rng.ts';
import { baseState, batchSizes, gossip, messageLayout, NeumannEstimates, param, stormUpdate, trackUpdate } from './blocks.ts';
import type { AgentContext, AgentStateBase, Algorithm } from './types.ts';

const PAPER = 'Liu, Zhang, Khanduri, Lu, Liu, MobiHoc 2022 (SEED-001)';

const steps = {
  alpha: param.positive('alpha').default(0.5).describe('x step α of (6) (the paper uses 0.5)'),
  beta: param.positive('beta').default(0.5).describe('y step β of (7) (the paper uses 0.5)'),
};
const cgTol = param
  .positive('cgTol')
  .max(1, { error: 'cgTol must be ≤ 1' })
  .default(1e-10)
  .describe('relative residual tolerance of the CG solve of the exact surrogate (5)');
const batch = param.batch('batch').optional().describe('minibatch size |S| of the stochastic estimators (default: the problem batch; the paper uses 32)');

const interactParams = z.strictObject({ ...steps, cgTol });
const svrInteractParams = z.strictObject({
  ...steps,
  q: param.count('q').default(32).describe('SPIDER period q: full-batch checkpoint when t mod q = 0 (the paper uses ⌈√n⌉ = 32)'),
  batch,
  checkpoint: z
    .enum(['exact', 'estimatorAverage'], { error: "checkpoint must be 'exact' or 'estimatorAverage'" })
    .default('exact')
    .describe("checkpoint estimator: 'exact' surrogate (8) as in the paper, or 'estimatorAverage' (the Neumann estimator on full batches, Prometheus)"),
  cgTol,
  ...neumannSchema,
});
const stochasticParams = z.strictObject({ ...steps, batch, ...neumannSchema });

export type InteractParams = z.infer<typeof interactParams>;
export type SvrInteractParams = z.infer<typeof svrInteractParams>;
export type StochasticBaselineParams = z.infer<typeof stochasticParams>;

/** State of `interact` and `svr-interact`. */
export interface InteractState extends AgentStateBase {
  /** Tracker u_t of the network-average hypergradient (10). */
  u: Vec;
  /** Local hypergradient estimate p_t at (x_t, y_t): (8), or the SPIDER estimator (23). */
  p: Vec;
  /** Lower-level direction v_t = d_t: (9), or the SPIDER estimator (24). */
  v: Vec;
  /** [∇²_yy g]⁻¹ ∇_y f of the last exact solve, the warm start of the next. */
  w: Vec;
  /** CG iterations of the exact solves of the last step (each solve costs its iterations + 1 HVPs). */
  cgIterations: number;
  /** Neumann scale L_g (0 while unused). */
  lg: number;
}

/** State of `gt-dsgd`. */
export interface GtDsgdState extends AgentStateBase {
  u: Vec;
  p: Vec;
  v: Vec;
  lg: number;
}

/** State of `d-sgd`. */
export interface DsgdState extends AgentStateBase {
  lg: number;
}

// ------------------------------------------------------------------ INTERACT

function interactWorkspace(ctx: AgentContext) {
  const { dx, dy } = ctx;
  return {
    /** Every local sample of both levels: INTERACT is a full-gradient method. */
    full: fullBatch(),
    exact: exactScratch(dx, dy),
    message: messageLayout({ x: dx, u: dx }),
    pPrev: new Float64Array(dx),
  };
}

type InteractWorkspace = ReturnType<typeof interactWorkspace>;

/** (8), (9): p ← ∇̄f(x, y) (exact surrogate), v ← ∇_y g(x, y), on full batches. */
function exactLocal(o: AgentOracle, s: InteractState, full: InteractWorkspace['full'], ws: InteractWorkspace['exact'], tol: number, outP: Vec, outV: Vec): void {
  s.cgIterations += exactHypergradient(o, s.x, s.y, full, full, s.w, ws, outP, tol);
  o.gradG(s.x, s.y, full, null, outV);
}

/**
 * (6) x_t = Σ_j w_ij x_{t−1}^j − α u_{t−1} and (7) y_t = y_{t−1} − β v_{t−1},
 * after one gossip round of (x_{t−1}, u_{t−1}); returns Σ_j w_ij u_{t−1}^j for (10).
 */
async function consensusStep(s: { x: Vec; y: Vec; u: Vec; v: Vec }, ctx: AgentContext, message: InteractWorkspace['message'], alpha: number, beta: number): Promise<Vec> {
  const mixed = await gossip(ctx.link, { x: s.x, u: s.u }, message);
  lincomb(s.x, 1, mixed.x, -alpha, s.u);
  axpy(-beta, s.v, s.y);
  return mixed.u;
}

async function interactStep(s: InteractState, ctx: AgentContext, ws: InteractWorkspace, p: InteractParams): Promise<void> {
  const o = ctx.oracle;
  s.cgIterations = 0;
  if (s.t === 0) {
    exactLocal(o, s, ws.full, ws.exact, p.cgTol, s.p, s.v);
    s.u.set(s.p);
  }
  const mixedU = await consensusStep(s, ctx, ws.message, p.alpha, p.beta);
  ws.pPrev.set(s.p);
  exactLocal(o, s, ws.full, ws.exact, p.cgTol, s.p, s.v);
  trackUpdate(s.u, mixedU, s.p, ws.pPrev);
  s.t++;
}

function interactInit(ctx: AgentContext, label: string): InteractState {
  const { dx, dy } = ctx;
  return { ...baseState(ctx, label), u: new Float64Array(dx), p: new Float64Array(dx), v: new Float64Array(dy), w: new Float64Array(dy), cgIterations: 0, lg: 0 };
}

const view = (s: AgentStateBase) => ({ x: s.x, y: s.y });

/**
 * After agents left the run (docs/faults.md): the tracker u restarts from the
 * agent's current local hypergradient estimate p, as at t = 0 (u_0 = p_0,
 * (26)), so that Σ_i u_i = Σ_i p_i holds again over the survivors and (10)
 * keeps it from there.
 */
const resetTracker = (s: { u: Vec; p: Vec }) => s.u.set(s.p);

export const interact: Algorithm<InteractParams, InteractState, InteractWorkspace> = {
  name: 'interact',
  problemClass: 'personalized',
  paper: `${PAPER}, Algorithm 1`,
  summary: 'INTERACT: local gradient descent on y_i, gradient-tracked consensus descent on x with the exact local hypergradient surrogate on full local batches.',
  communicates: '1 round: (x, u), 2d_x floats per message',
  reconstruction: false,
  params: interactParams,
  init: (ctx) => interactInit(ctx, 'interact'),
  workspace: (ctx) => interactWorkspace(ctx),
  step: interactStep,
  onViewChange: resetTracker,
  view,
};

// -------------------------------------------------------------- SVR-INTERACT

function svrWorkspace(ctx: AgentContext, p: SvrInteractParams) {
  const { dx, dy } = ctx;
  return {
    ...interactWorkspace(ctx),
    /** ξ̄ of the SPIDER differences, shared by both points. */
    sample: new NeumannSample(ctx.oracle, batchSizes(ctx, p.batch), p),
    /** The estimator with every batch full ('estimatorAverage' checkpoints). */
    fullSample: new NeumannSample(ctx.oracle, { upper: 'full', lower: 'full' }, p),
    /** (∇̄f, ∇_y g) at (x_t, y_t) and (x_{t−1}, y_{t−1}) on the same sample. */
    now: new NeumannEstimates(dx, dy),
    before: new NeumannEstimates(dx, dy),
    xPrev: new Float64Array(dx),
    yPrev: new Float64Array(dy),
  };
}

type SvrWorkspace = ReturnType<typeof svrWorkspace>;

/** Whether the run ever evaluates the Neumann estimator (and so needs L_g). */
const svrUsesNeumann = (p: SvrInteractParams) => p.q > 1 || p.checkpoint === 'estimatorAverage';

function checkpoint(o: AgentOracle, s: InteractState, ws: SvrWorkspace, p: SvrInteractParams): void {
  if (p.checkpoint === 'exact') {
    exactLocal(o, s, ws.full, ws.exact, p.cgTol, s.p, s.v);
    return;
  }
  ws.fullSample.draw(s.rng);
  const e = ws.now.at(o, s.x, s.y, ws.fullSample, s.lg, ws.full);
  s.p.set(e.hypergrad);
  s.v.set(e.lowerGrad);
}

async function svrStep(s: InteractState, ctx: AgentContext, ws: SvrWorkspace, p: SvrInteractParams): Promise<void> {
  const o = ctx.oracle;
  s.cgIterations = 0;
  if (s.t === 0) {
    if (svrUsesNeumann(p)) s.lg = p.Lg ?? estimateLg(o, s.x, s.y);
    checkpoint(o, s, ws, p);
    s.u.set(s.p);
  }
  ws.xPrev.set(s.x);
  ws.yPrev.set(s.y);
  const mixedU = await consensusStep(s, ctx, ws.message, p.alpha, p.beta);
  ws.pPrev.set(s.p);
  if ((s.t + 1) % p.q === 0) checkpoint(o, s, ws, p);
  else {
    // (23), (24) SPIDER on one sample at both points: est ← est − old + new (STORM with coefficient 1).
    ws.sample.draw(s.rng);
    const now = ws.now.at(o, s.x, s.y, ws.sample, s.lg);
    const before = ws.before.at(o, ws.xPrev, ws.yPrev, ws.sample, s.lg);
    stormUpdate(s.p, 1, before.hypergrad, now.hypergrad);
    stormUpdate(s.v, 1, before.lowerGrad, now.lowerGrad);
  }
  trackUpdate(s.u, mixedU, s.p, ws.pPrev);
  s.t++;
}

export const svrInteract: Algorithm<SvrInteractParams, InteractState, SvrWorkspace> = {
  name: 'svr-interact',
  problemClass: 'personalized',
  paper: `${PAPER}, Algorithm 2`,
  summary: 'SVR-INTERACT: INTERACT with SPIDER estimators (stochastic Neumann hypergradient, minibatch ∇_y g) and a full-batch checkpoint every q iterations.',
  communicates: '1 round: (x, u), 2d_x floats per message',
  reconstruction: false,
  params: svrInteractParams,
  init: (ctx) => interactInit(ctx, 'svr-interact'),
  workspace: svrWorkspace,
  step: svrStep,
  onViewChange: resetTracker,
  view,
};

// ------------------------------------------------------ GT-DSGD and D-SGD

function stochasticWorkspace(ctx: AgentContext, p: StochasticBaselineParams) {
  const { dx, dy } = ctx;
  return {
    sample: new NeumannSample(ctx.oracle, batchSizes(ctx, p.batch), p),
    estimates: new NeumannEstimates(dx, dy),
    message: messageLayout({ x: dx, u: dx }),
    xMessage: messageLayout({ x: dx }),
    pPrev: new Float64Array(dx),
  };
}

type StochasticWorkspace = ReturnType<typeof stochasticWorkspace>;

/** On a fresh sample ξ̄: hypergrad = ∇̄f(x, y; ξ̄) (22), lowerGrad = ∇_y g(x, y; ζ⁰). */
function freshEstimates(o: AgentOracle, s: { x: Vec; y: Vec; rng: Rng; lg: number }, ws: StochasticWorkspace): NeumannEstimates {
  ws.sample.draw(s.rng);
  return ws.estimates.at(o, s.x, s.y, ws.sample, s.lg);
}

async function gtDsgdStep(s: GtDsgdState, ctx: AgentContext, ws: StochasticWorkspace, p: StochasticBaselineParams): Promise<void> {
  const o = ctx.oracle;
  if (s.t === 0) {
    s.lg = p.Lg ?? estimateLg(o, s.x, s.y);
    const e = freshEstimates(o, s, ws);
    s.p.set(e.hypergrad);
    s.v.set(e.lowerGrad);
    s.u.set(s.p);
  }
  const mixedU = await consensusStep(s, ctx, ws.message, p.alpha, p.beta);
  ws.pPrev.set(s.p);
  const e = freshEstimates(o, s, ws);
  s.p.set(e.hypergrad);
  s.v.set(e.lowerGrad);
  trackUpdate(s.u, mixedU, s.p, ws.pPrev);
  s.t++;
}

async function dsgdStep(s: DsgdState, ctx: AgentContext, ws: StochasticWorkspace, p: StochasticBaselineParams): Promise<void> {
  const o = ctx.oracle;
  if (s.t === 0) s.lg = p.Lg ?? estimateLg(o, s.x, s.y);
  // Gradients at (x_{t−1}, y_{t−1}) (docs/decisions.md §7), then one gossip round of x_{t−1}:
  // x_t = Σ_j w_ij x_{t−1}^j − α ∇̄f, y_t = y_{t−1} − β ∇_y g.
  const e = freshEstimates(o, s, ws);
  const mixed = await gossip(ctx.link, { x: s.x }, ws.xMessage);
  lincomb(s.x, 1, mixed.x, -p.alpha, e.hypergrad);
  axpy(-p.beta, e.lowerGrad, s.y);
  s.t++;
}

export const gtDsgd: Algorithm<StochasticBaselineParams, GtDsgdState, StochasticWorkspace> = {
  name: 'gt-dsgd',
  problemClass: 'personalized',
  paper: `${PAPER}, §6 baseline "GT-SGD" (after GNSD, Lu et al. 2019)`,
  summary: 'GT-DSGD: INTERACT with a fresh minibatch stochastic Neumann hypergradient and minibatch ∇_y g each iteration, gradient tracking of the hypergradient.',
  communicates: '1 round: (x, u), 2d_x floats per message',
  reconstruction: false,
  params: stochasticParams,
  init: (ctx) => {
    const { dx, dy } = ctx;
    return { ...baseState(ctx, 'gt-dsgd'), u: new Float64Array(dx), p: new Float64Array(dx), v: new Float64Array(dy), lg: 0 };
  },
  workspace: stochasticWorkspace,
  step: gtDsgdStep,
  onViewChange: resetTracker,
  view,
};

export const dSgd: Algorithm<StochasticBaselineParams, DsgdState, StochasticWorkspace> = {
  name: 'd-sgd',
  problemClass: 'personalized',
  paper: `${PAPER}, §6 baseline "D-SGD" (gradients at the previous iterate, docs/decisions.md §7)`,
  summary: 'D-SGD: consensus step on x with a minibatch stochastic Neumann hypergradient, local SGD on y_i, no tracking.',
  communicates: '1 round: x, d_x floats per message',
  reconstruction: false,
  params: stochasticParams,
  init: (ctx) => ({ ...baseState(ctx, 'd-sgd'), lg: 0 }),
  workspace: stochasticWorkspace,
  step: dsgdStep,
  view,
};
