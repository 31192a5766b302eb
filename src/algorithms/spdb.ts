/**
 * SPDB: stochastic primal-dual personalized bilevel baseline. Lu, Cui,
 * Squillante, Kingsbury, Horesh, ICASSP 2022. No primary pseudocode is at
 * hand: this is the reconstruction of docs/decisions.md §9, a stochastic
 * primal-dual (augmented-Lagrangian) treatment of the consensus constraint
 * with a BSA-style Neumann estimate of the local hypergradient:
 *
 *   (L x)_i = x_i − Σ_j w_ij x_j                 (L = I − W, one round of d_x floats)
 *   x_i ← x_i − α (∇̂Φ_i + q_i + ρ (L x)_i)
 *   q_i ← q_i + β_d (L x)_i                      (dual ascent; Σ_i q_i stays 0)
 *   θ_i ← θ_i − β ∇_θ g_i(x_i, θ_i; ξ)            (local SGD, θ never sent)
 *
 * ∇̂Φ_i = ∇_x f − ∇²_xθ g · h / L_g with the fixed-depth Neumann recursion
 * h = Σ_{j=0}^{n} Π (I − ∇²_θθ g(ζ^j)/L_g) ∇_θ f of depth n = n_k HVPs: by
 * default n_k = ⌈½ ln √(k+1)⌉ at iteration k (the sampling scheme L-PDBO's
 * experiment uses for SPDB, citing TTSA; docs/reproductions.md), or a fixed `depth`. The
 * Hessians-computed count of SEED-002 Table I is n_k per agent per iteration.
 * At a fixed point, L x = 0 (consensus) and Σ_i ∇̂Φ_i = 0, so with exact
 * oracles SPDB converges on heterogeneous agents up to the Neumann bias.
 */
import { z } from 'zod';
import { axpy, sub, type Vec } from '../linalg/vector.ts';
import { mixRound } from '../network/link.ts';
import { BatchSampler } from '../problems/batch.ts';
import { estimateLg, NeumannSample, neumannHypergradient, neumannScratch } from '../hypergrad/neumann.ts';
import { baseState, param } from './blocks.ts';
import type { AgentContext, AgentStateBase, Algorithm } from './types.ts';

const params = z.strictObject({
  alpha: param.positive('alpha').default(0.01).describe('primal step α'),
  beta: param.positive('beta').default(0.016).describe('lower-level step β'),
  rho: param.nonNegative('rho').default(1).describe('augmented-Lagrangian penalty ρ'),
  dualStep: param.positive('dualStep').default(0.01).describe('dual ascent step β_d'),
  depth: z
    .union([z.enum(['log', 'ln', 'log10']), param.count('depth', 0)], { error: "depth must be 'log' or an integer ≥ 0 (or 'ln' = 'log', 'log10': the base of the logarithm)" })
    .default('log')
    .describe("Neumann depth: 'ln' (alias 'log') = ⌈½ ln √(k+1)⌉ at iteration k, 'log10' = ⌈½ log₁₀ √(k+1)⌉ (SEED-002 does not state the base), or a fixed number of HVPs"),
  maxDepth: param.count('maxDepth').default(64).describe("cap on the 'log' depth"),
  Lg: param.positive('Lg').optional().describe('Neumann scale L_g (default: 1.1 × a power-iteration estimate at the initial point)'),
});

export type SpdbParams = z.infer<typeof params>;

export interface SpdbState extends AgentStateBase {
  /** Dual variable of the consensus constraint. */
  q: Vec;
  lg: number;
}

/**
 * n_k = ⌈½ log √(k+1)⌉ = ⌈¼ log(k+1)⌉ Neumann terms at iteration k (docs/reproductions.md), with
 * the natural log (default) or log₁₀: SEED-002 does not give the base, and
 * with log₁₀ n_k = 1 for every 1 ≤ k ≤ 9,999.
 */
export function logDepth(k: number): number {
  return logDepthIn(k, 'ln');
}

/** n_k with an explicit base of the logarithm. */
export function logDepthIn(k: number, base: 'ln' | 'log10'): number {
  const log = base === 'log10' ? Math.log10(k + 1) : Math.log(k + 1);
  return Math.max(0, Math.ceil(0.25 * log - 1e-12));
}

function workspace(ctx: AgentContext, p: SpdbParams) {
  const { dx, dy } = ctx;
  const K = (typeof p.depth === 'string' ? p.maxDepth : p.depth) + 1;
  const lower = new BatchSampler(ctx.oracle.lowerSamples, ctx.batch.lower);
  return {
    sample: new NeumannSample(ctx.oracle, ctx.batch, { estimator: 'neumann-recursive', depth: 'fixed', K }),
    lower,
    xi: lower.create(),
    scratch: neumannScratch(dx, dy),
    grad: new Float64Array(dx),
    gy: new Float64Array(dy),
    mixed: new Float64Array(dx),
    lx: new Float64Array(dx),
  };
}

type Workspace = ReturnType<typeof workspace>;

async function step(s: SpdbState, ctx: AgentContext, ws: Workspace, p: SpdbParams): Promise<void> {
  if (s.t === 0) s.lg = p.Lg ?? estimateLg(ctx.oracle, s.x, s.y);
  const depth = typeof p.depth === 'string' ? Math.min(logDepthIn(s.t, p.depth === 'log10' ? 'log10' : 'ln'), p.maxDepth) : p.depth;
  ws.sample.drawWithDepth(s.rng, depth);
  ws.lower.draw(ws.xi, s.rng);
  neumannHypergradient(ctx.oracle, s.x, s.y, ws.sample, s.lg, ws.scratch, ws.grad);
  ctx.oracle.gradG(s.x, s.y, ws.xi, null, ws.gy);
  ws.mixed.set(s.x);
  await mixRound(ctx.link, ws.mixed, ws.mixed);
  sub(ws.lx, s.x, ws.mixed);
  // x ← x − α(∇̂Φ + q + ρ L x); q ← q + β_d L x; θ ← θ − β ∇_θ g.
  axpy(1, s.q, ws.grad);
  axpy(p.rho, ws.lx, ws.grad);
  axpy(-p.alpha, ws.grad, s.x);
  axpy(p.dualStep, ws.lx, s.q);
  axpy(-p.beta, ws.gy, s.y);
  s.t++;
}

export const spdb: Algorithm<SpdbParams, SpdbState, Workspace> = {
  name: 'spdb',
  problemClass: 'personalized',
  paper: 'Lu, Cui, Squillante, Kingsbury, Horesh, ICASSP 2022; reconstruction per docs/decisions.md §9',
  summary: 'Stochastic primal-dual consensus on x with a dual variable, Neumann hypergradient of growing depth, local SGD on θ.',
  communicates: '1 round: x, d_x floats per message',
  reconstruction: true,
  params,
  init: (ctx) => ({
    ...baseState(ctx, 'spdb'),
    q: new Float64Array(ctx.dx),
    lg: 0,
  }),
  workspace,
  step,
  view: (s) => ({ x: s.x, y: s.y }),
  // After agents left the run (docs/faults.md): the duals restart from zero, as at the start, so Σ_i q_i = 0 holds again over the survivors.
  onViewChange: (s) => s.q.fill(0),
};
