/**
 * Prometheus (proximal tracked stochastic recursive estimator) and the three
 * baselines of its experiments: Prometheus-SG, Prometheus-dir and Prox-DSGD.
 * Anonymous ICLR submission, "Prometheus: Endowing Low Sample and
 * Communication Complexities to Constrained Decentralized Stochastic Bilevel
 * Learning" (SEED-003), Algorithm 1, eqs (5)–(10) and §5; specification
 * docs/algorithms.md, docs/decisions.md §4–§5, §10–§12.
 *
 * Class P with a constraint set X and a convex h on x (`prox`: ℓ₁, box, ball,
 * ℓ₁ + box; {} = unconstrained, h = 0). Per agent i, from (x⁰, y⁰) on every
 * agent, with the Hessian-inverse estimator (5) (by default the recursive one,
 * fixed depth K − 1, i.e. K Neumann terms including I, docs/decisions.md §4):
 *   ∇̄f(x, y; ξ̄) = ∇_x f(ξ⁰) − ∇²_xy g(ζ⁰) h_k / L_g,
 *   h₀ = ∇_y f(ξ⁰),  h_j = ∇_y f(ξ⁰) + (I − ∇²_yy g(ζ^j)/L_g) h_{j−1}
 * and the lower-level gradient on the same ζ⁰ (one lower minibatch shared by
 * ∇_y g and the JVP, docs/decisions.md §10).
 *
 * Initialization (Algorithm 1, computed and counted in the first step):
 *   u₀ = p₀ = full-batch ∇̄f(x⁰, y⁰),  v₀ = d₀ = full-batch ∇_y g(x⁰, y⁰).
 * Iteration t = 0, 1, … (the seed's Algorithm 1 loops t = 1..T but updates
 * index t + 1; we start at t = 0, docs/algorithms.md):
 *   (6)  x̃_t = argmin_{x∈X} ⟨u_t, x − x_t⟩ + (τ/2)‖x − x_t‖² + h(x) = prox_{(h+ι_X)/τ}(x_t − u_t/τ)
 *   (7)  x_{t+1} = Σ_j M_ij x_{j,t} + α(x̃_t − x_t),  y_{t+1} = y_t − β v_t
 *   (8)  if (t+1) mod q = 0: p_{t+1} = full-batch ∇̄f(x_{t+1}, y_{t+1}), d_{t+1} = full-batch ∇_y g
 *        else (SPIDER, the same samples S at both points, including the Neumann depth and ζ^j):
 *             p_{t+1} = p_t + ∇̄f(x_{t+1}, y_{t+1}; S) − ∇̄f(x_t, y_t; S), d likewise
 *   (9)  u_{t+1} = Σ_j M_ij u_{j,t} + p_{t+1} − p_t,  v_{t+1} = d_{t+1}
 *
 * Full batches. (8a) writes the checkpoint as (1/n) Σ_j ∇̄f(·; ξ̄_ij), the
 * average of n per-sample estimators. We evaluate the estimator once with
 * every sample slot (ξ⁰, ζ⁰, ζ¹, …, ζ^k) set to the full local batch: for the
 * default fixed depth this is the deterministic K-term truncated Neumann
 * hypergradient ∇_x f − ∇²_xy g [Σ_{j<K} (I − ∇²_yy g/L_g)^j] ∇_y f / L_g,
 * i.e. the expectation of (5) over independent samples, which the n-sample
 * average estimates. With a random depth ('uniform', or the conventional
 * estimator) the depth stays random at checkpoints. The counters record one
 * call per oracle kind with the full local sample count.
 *
 * Variants (same init, prox/consensus step and communication unless noted):
 * - Prometheus-SG (docs/algorithms.md, eq. (10)): p_{t+1} = ∇̄f(x_{t+1}, y_{t+1}; S),
 *   d_{t+1} = ∇_y g(x_{t+1}, y_{t+1}; S) on a fresh minibatch, with tracking (9).
 * - Prometheus-dir (docs/algorithms.md, Remark 3): x̃_t = Π_X(x_t − τ u_t). Here τ
 *   MULTIPLIES u (it divides u in (6)) and h is dropped: `prox.l1` is
 *   accepted, so one config serves all four, but ignored. With h = 0 it
 *   coincides with Prometheus for τ_dir = 1/τ (docs/algorithms.md). It shares Prometheus's
 *   sampling stream, so the two differ only in the x̃ step.
 * - Prox-DSGD (docs/algorithms.md): no tracking; u_t = ∇̄f(x_t, y_t; S), v_t = ∇_y g(x_t, y_t; S)
 *   on a fresh minibatch at every t (t = 0 included), then (6) and (7).
 *
 * Each step ends by computing the estimators at the new point and the new
 * prox point x̃_{t+1}, so the state (and the view, which carries x̃ for the
 * metric (2), docs/decisions.md §12) is always consistent: (x_t, y_t, x̃_t). Before the first
 * step x̃ holds x⁰.
 *
 * Communication: 1 round per iteration. Prometheus, -SG, -dir send (x_t, u_t),
 * 2d_x floats per message (at t = 0 too, u₀ being known); Prox-DSGD sends
 * x_t only, d_x floats. y is never communicated.
 *
 * Oracles per agent, one "evaluation" being 1 ∇F, 1 JVP, k HVPs and 1 ∇_y G
 * (k = K − 1 at fixed depth):
 * - Prometheus, -dir: first step 1 full-batch evaluation (init); then per
 *   step at (t+1) mod q = 0 one full-batch evaluation, else 2 minibatch
 *   evaluations (new and old point).
 * - Prometheus-SG: first step 1 full-batch (init); then 1 minibatch per step.
 * - Prox-DSGD: first step 1 minibatch (u₀); then 1 minibatch per step.
 * L_g defaults to 1.1 × a power-iteration estimate of the agent's local
 * Hessian at the initial point (30 counted full-batch HVPs in the first step).
 *
 * Defaults (α = 0.1, β = 0.1, τ = 1, q = 10, K = 10, batch = the problem's)
 * are our choices: the paper's values are in its appendix, which the seed
 * lacks (docs/algorithms.md [GAP]); Theorem 1 only bounds α and β.
 */
import { z } from 'zod';
import { axpy, lincomb, type Vec } from '../linalg/vector.ts';
import { estimateLg, NeumannSample, neumannSchema } from '../hypergrad/neumann.ts';
import { project, prox, proxSchema } from '../prox/prox.ts';
import { baseState, batchSizes, gossip, messageLayout, NeumannEstimates, param, spiderUpdate, trackUpdate } from './blocks.ts';
import type { AgentContext, AgentStateBase, Algorithm } from './types.ts';

const estimatorParams = {
  ...neumannSchema,
  // docs/decisions.md §4: the recursive estimator (5) at fixed depth is this algorithm's default.
  estimator: neumannSchema.estimator
    .unwrap()
    .default('neumann-recursive')
    .describe("Hessian-inverse estimator: 'neumann-recursive' (Prometheus eq. 5, default) or 'neumann' (conventional eq. 4, random depth)"),
};

const shared = {
  alpha: param.unit('alpha').default(0.1).describe('step α ∈ (0, 1] of the consensus update (7): x ← Σ M x + α(x̃ − x)'),
  beta: param.positive('beta').default(0.1).describe('lower-level step β of (7): y ← y − β v'),
  prox: proxSchema
    .default({})
    .describe('h and X of (6): {l1?: λ₁ (h = λ₁‖x‖₁), box?: [lower, upper], ball?: R}; {} = unconstrained, h = 0'),
  batch: param.batch('batch').optional().describe('minibatch S of the stochastic estimators (default: the problem batch)'),
  ...estimatorParams,
};

const proxTau = param.positive('tau').default(1).describe('prox parameter τ of (6): x̃ = prox_{(h+ι_X)/τ}(x − u/τ) (τ divides u)');
const period = param.count('q').default(10).describe('SPIDER period q: full-batch estimators when (t+1) mod q = 0');

const prometheusParams = z.strictObject({ ...shared, tau: proxTau, q: period });
const dirParams = z.strictObject({
  ...shared,
  tau: param.positive('tau').default(1).describe('step τ of the direct projection x̃ = Π_X(x − τu) (τ multiplies u; prometheus with τ′ = 1/τ when h = 0); prox.l1 is ignored'),
  q: period,
});
const sgParams = z.strictObject({ ...shared, tau: proxTau });

export type PrometheusParams = z.infer<typeof prometheusParams>;
export type PrometheusDirParams = z.infer<typeof dirParams>;
export type PrometheusSgParams = z.infer<typeof sgParams>;
export type ProxDsgdParams = PrometheusSgParams;
type Params = PrometheusParams | PrometheusDirParams | PrometheusSgParams;

type Variant = 'prometheus' | 'dir' | 'sg' | 'dsgd';

export interface PrometheusState extends AgentStateBase {
  /** Prox point x̃_t of (6) (or Π_X(x_t − τu_t) for -dir). */
  xTilde: Vec;
  /** Tracker u of (9) (Prox-DSGD: the fresh estimator itself). */
  u: Vec;
  /** Local hypergradient estimator p of (8)/(10). */
  p: Vec;
  /** v = d, the local lower-level gradient estimator. */
  v: Vec;
  /** Neumann scale L_g (estimated in the first step unless given). */
  lg: number;
}

function init(ctx: AgentContext, label: string): PrometheusState {
  const { dx, dy } = ctx;
  return {
    ...baseState(ctx, label),
    xTilde: Float64Array.from(ctx.init.x),
    u: new Float64Array(dx),
    p: new Float64Array(dx),
    v: new Float64Array(dy),
    lg: 0,
  };
}

function workspace(ctx: AgentContext, p: Params, variant: Variant) {
  const { dx, dy } = ctx;
  return {
    sample: new NeumannSample(ctx.oracle, batchSizes(ctx, p.batch), p),
    full: new NeumannSample(ctx.oracle, { upper: 'full', lower: 'full' }, p),
    /** (∇̄f, ∇_y g) at (x_{t+1}, y_{t+1}) and (x_t, y_t) on the same sample. */
    now: new NeumannEstimates(dx, dy),
    before: new NeumannEstimates(dx, dy),
    /** (x, u) for the tracked variants, x alone for Prox-DSGD. */
    tracked: variant === 'dsgd' ? null : messageLayout({ x: dx, u: dx }),
    xOnly: messageLayout({ x: dx }),
    xOld: new Float64Array(dx),
    yOld: new Float64Array(dy),
    pOld: new Float64Array(dx),
    shifted: new Float64Array(dx),
  };
}

type Workspace = ReturnType<typeof workspace>;

/** x̃ ← prox_{(h+ι_X)/τ}(x − u/τ) (6), or Π_X(x − τu) for -dir. */
function proxPoint(s: PrometheusState, ws: Workspace, p: Params, variant: Variant): void {
  if (variant === 'dir') {
    lincomb(ws.shifted, 1, s.x, -p.tau, s.u);
    project(p.prox, ws.shifted, s.xTilde);
  } else {
    lincomb(ws.shifted, 1, s.x, -1 / p.tau, s.u);
    prox(p.prox, p.tau, ws.shifted, s.xTilde);
  }
}

async function step(s: PrometheusState, ctx: AgentContext, ws: Workspace, p: Params, variant: Variant): Promise<void> {
  const o = ctx.oracle;
  if (s.t === 0) {
    s.lg = p.Lg ?? estimateLg(o, s.x, s.y);
    // Algorithm 1: u₀ = p₀ = full ∇̄f, v₀ = d₀ = full ∇_y g; Prox-DSGD: a fresh minibatch.
    const first = variant === 'dsgd' ? ws.sample : ws.full;
    first.draw(s.rng);
    const e = ws.now.at(o, s.x, s.y, first, s.lg);
    s.p.set(e.hypergrad);
    s.v.set(e.lowerGrad);
    s.u.set(s.p);
    proxPoint(s, ws, p, variant);
  }

  // (7): x_{t+1} = Σ_j w_ij x_t^j + α(x̃_t − x_t), y_{t+1} = y_t − β v_t, after one round of (x_t, u_t) (x_t alone for Prox-DSGD).
  const mixed = ws.tracked ? await gossip(ctx.link, { x: s.x, u: s.u }, ws.tracked) : await gossip(ctx.link, { x: s.x }, ws.xOnly);
  ws.xOld.set(s.x);
  ws.yOld.set(s.y);
  lincomb(s.x, -p.alpha, s.x, p.alpha, s.xTilde);
  axpy(1, mixed.x, s.x);
  axpy(-p.beta, s.v, s.y);

  // (8) / (10): estimators at (x_{t+1}, y_{t+1}).
  ws.pOld.set(s.p);
  const spider = variant === 'prometheus' || variant === 'dir';
  if (spider && (s.t + 1) % (p as PrometheusParams).q === 0) {
    // Full-batch checkpoint: p = ∇̄f, v = ∇_y g on every local sample.
    ws.full.draw(s.rng);
    const e = ws.now.at(o, s.x, s.y, ws.full, s.lg);
    s.p.set(e.hypergrad);
    s.v.set(e.lowerGrad);
  } else if (spider) {
    // (8) SPIDER: p ← p + ∇̄f(x_{t+1}; S) − ∇̄f(x_t; S), v likewise, on one sample S.
    ws.sample.draw(s.rng);
    const now = ws.now.at(o, s.x, s.y, ws.sample, s.lg);
    const before = ws.before.at(o, ws.xOld, ws.yOld, ws.sample, s.lg);
    spiderUpdate(s.p, before.hypergrad, now.hypergrad);
    spiderUpdate(s.v, before.lowerGrad, now.lowerGrad);
  } else {
    // (10): a fresh stochastic estimate.
    ws.sample.draw(s.rng);
    const e = ws.now.at(o, s.x, s.y, ws.sample, s.lg);
    s.p.set(e.hypergrad);
    s.v.set(e.lowerGrad);
  }

  // (9): u_{t+1} = Σ_j w_ij u_t^j + p_{t+1} − p_t (Prox-DSGD: u = p); v = d is s.v already.
  if (ws.tracked) trackUpdate(s.u, ws.tracked.blocks.u, s.p, ws.pOld);
  else s.u.set(s.p);
  proxPoint(s, ws, p, variant);
  s.t++;
}

/**
 * After agents left the run (docs/faults.md): the tracker u restarts from the
 * local estimator p, as at t = 0 (u₀ = p₀), and the prox point follows it.
 */
function resetTracker(s: PrometheusState, ws: Workspace, p: Params, variant: Variant): void {
  s.u.set(s.p);
  proxPoint(s, ws, p, variant);
}

const view = (s: PrometheusState) => ({ x: s.x, y: s.y, xTilde: s.xTilde });

const common = {
  problemClass: 'personalized' as const,
  reconstruction: false,
  view,
};

const PAPER = 'Anonymous ICLR submission, "Prometheus" (SEED-003)';

export const prometheus: Algorithm<PrometheusParams, PrometheusState, Workspace> = {
  ...common,
  name: 'prometheus',
  paper: `${PAPER}, Algorithm 1, eqs (5)–(9)`,
  summary: 'Prox step (6) on the tracked hypergradient, consensus + α(x̃ − x), SPIDER estimators with the recursive Neumann estimator (5), gradient tracking of the upper-level estimator; personalized lower levels, y never sent.',
  communicates: '1 round: (x, u), 2d_x floats per message',
  params: prometheusParams,
  init: (ctx) => init(ctx, 'prometheus'),
  workspace: (ctx, p) => workspace(ctx, p, 'prometheus'),
  step: (s, ctx, ws, p) => step(s, ctx, ws, p, 'prometheus'),
  onViewChange: (s, _ctx, ws, p) => resetTracker(s, ws, p, 'prometheus'),
};

export const prometheusSg: Algorithm<PrometheusSgParams, PrometheusState, Workspace> = {
  ...common,
  name: 'prometheus-sg',
  paper: `${PAPER}, §4.4 eq. (10) and §5`,
  summary: 'Prometheus with plain stochastic estimators (10) instead of SPIDER, keeping the prox step, consensus and gradient tracking (converges only to an error ball under noise, Proposition 3).',
  communicates: '1 round: (x, u), 2d_x floats per message',
  params: sgParams,
  init: (ctx) => init(ctx, 'prometheus-sg'),
  workspace: (ctx, p) => workspace(ctx, p, 'sg'),
  step: (s, ctx, ws, p) => step(s, ctx, ws, p, 'sg'),
  onViewChange: (s, _ctx, ws, p) => resetTracker(s, ws, p, 'sg'),
};

export const prometheusDir: Algorithm<PrometheusDirParams, PrometheusState, Workspace> = {
  ...common,
  name: 'prometheus-dir',
  paper: `${PAPER}, §5 and Remark 3`,
  summary: 'Prometheus with the direct projection x̃ = Π_X(x − τu) instead of the prox step (6) (τ multiplies u; h dropped): INTERACT extended to constraints.',
  communicates: '1 round: (x, u), 2d_x floats per message',
  params: dirParams,
  // The same sampling stream as Prometheus: the two differ only in the x̃ step.
  init: (ctx) => init(ctx, 'prometheus'),
  workspace: (ctx, p) => workspace(ctx, p, 'dir'),
  step: (s, ctx, ws, p) => step(s, ctx, ws, p, 'dir'),
  onViewChange: (s, _ctx, ws, p) => resetTracker(s, ws, p, 'dir'),
};

export const proxDsgd: Algorithm<ProxDsgdParams, PrometheusState, Workspace> = {
  ...common,
  name: 'prox-dsgd',
  paper: `${PAPER}, §5`,
  summary: 'Proximal decentralized SGD: a fresh stochastic estimator (10) at every step, the prox step (6) and consensus (7), no gradient tracking.',
  communicates: '1 round: x, d_x floats per message',
  params: sgParams,
  init: (ctx) => init(ctx, 'prox-dsgd'),
  workspace: (ctx, p) => workspace(ctx, p, 'dsgd'),
  step: (s, ctx, ws, p) => step(s, ctx, ws, p, 'dsgd'),
};
