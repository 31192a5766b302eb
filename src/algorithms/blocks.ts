/**
 * Small building blocks shared by the algorithms (design.md §3): minibatch
 * pairs, payload layouts, the local hypergradient estimators, STORM and
 * gradient tracking. Each is a few lines over the linalg kernels, so an
 * algorithm file reads as its paper's update equations.
 */
import { z } from 'zod';
import { axpy, lincomb, projectBall, sub, type Vec } from '../linalg/vector.ts';
import { mixRound } from '../network/link.ts';
import { BatchSampler } from '../problems/batch.ts';
import type { AgentOracle, Batch } from '../problems/types.ts';
import { Rng } from '../random/rng.ts';
import type { AgentContext, AgentStateBase } from './types.ts';

/** Schema helpers with messages that name the parameter. */
export const param = {
  positive: (name: string) => z.number({ error: `${name} must be a number` }).positive({ error: `${name} must be > 0` }),
  nonNegative: (name: string) => z.number({ error: `${name} must be a number` }).min(0, { error: `${name} must be ≥ 0` }),
  unit: (name: string) =>
    z
      .number({ error: `${name} must be a number` })
      .positive({ error: `${name} must be in (0, 1]` })
      .max(1, { error: `${name} must be in (0, 1]` }),
  count: (name: string, min = 1) => z.number({ error: `${name} must be an integer` }).int({ error: `${name} must be an integer` }).min(min, { error: `${name} must be ≥ ${min}` }),
  batch: (name: string) =>
    z.union([z.number({ error: `${name} must be a positive integer or 'full'` }).int({ error: `${name} must be a positive integer or 'full'` }).min(1, { error: `${name} must be a positive integer or 'full'` }), z.literal('full')], {
      error: `${name} must be a positive integer or 'full'`,
    }),
};

/** One upper-level (f) and one lower-level (g) minibatch, redrawn together. */
export class BatchPair {
  private readonly upperSampler: BatchSampler;
  private readonly lowerSampler: BatchSampler;
  readonly upper: Batch;
  readonly lower: Batch;

  constructor(oracle: AgentOracle, sizes: { readonly upper: number | 'full'; readonly lower: number | 'full' }) {
    this.upperSampler = new BatchSampler(oracle.upperSamples, sizes.upper);
    this.lowerSampler = new BatchSampler(oracle.lowerSamples, sizes.lower);
    this.upper = this.upperSampler.create();
    this.lower = this.lowerSampler.create();
  }

  /** Draws the upper batch, then the lower batch (this order is part of determinism). */
  draw(rng: Rng): void {
    this.upperSampler.draw(this.upper, rng);
    this.lowerSampler.draw(this.lower, rng);
  }

  static fromContext(ctx: AgentContext, size?: number | 'full'): BatchPair {
    return new BatchPair(ctx.oracle, size === undefined ? ctx.batch : { upper: size, lower: size });
  }
}

/** A payload buffer and named views of its consecutive blocks. */
export function payloadLayout<K extends string>(blocks: ReadonlyArray<readonly [K, number]>): { payload: Vec } & Record<K, Vec> {
  const total = blocks.reduce((s, [, n]) => s + n, 0);
  const payload = new Float64Array(total);
  const out = { payload } as { payload: Vec } & Record<K, Vec>;
  let off = 0;
  for (const [name, n] of blocks) {
    (out as Record<string, Vec>)[name] = payload.subarray(off, off + n);
    off += n;
  }
  return out;
}

/** Scratch for `localEstimators`. */
export interface EstimatorScratch {
  readonly fx: Vec;
  readonly fy: Vec;
  readonly jz: Vec;
  readonly hz: Vec;
}

export function estimatorScratch(dx: number, dy: number): EstimatorScratch {
  return { fx: new Float64Array(dx), fy: new Float64Array(dy), jz: new Float64Array(dx), hz: new Float64Array(dy) };
}

/**
 * The local estimators of SEED-000 (3.5) at (x, y, z) on the batch pair:
 *   Ĝ_F = ∇_x f(ξ) − ∇²_xy g(ζ) z      (hypergradient, into gF, length d_x)
 *   Ĝ_h = ∇²_yy g(ζ) z − ∇_y f(ξ)      (gradient of the z-quadratic, into gH)
 *   δ^g = ∇_y g(ζ)                     (into gY)
 * One ∇F, one ∇_y G, one JVP, one HVP; ζ is shared by the three g-oracles.
 */
export function localEstimators(o: AgentOracle, x: Vec, y: Vec, zv: Vec, b: BatchPair, s: EstimatorScratch, gF: Vec, gH: Vec, gY: Vec): void {
  o.gradF(x, y, b.upper, s.fx, s.fy);
  o.gradG(x, y, b.lower, null, gY);
  o.jvp(x, y, zv, b.lower, s.jz);
  o.hvp(x, y, zv, b.lower, s.hz);
  sub(gF, s.fx, s.jz);
  sub(gH, s.hz, s.fy);
}

/**
 * STORM (recursive momentum) in place: est ← coef·(est − atOld) + atNew,
 * with atOld and atNew the same-sample estimates at the previous and current
 * points. coef = 1 − αη² in CD-BSVRGD.
 */
export function stormUpdate(est: Vec, coef: number, atOld: Vec, atNew: Vec): void {
  sub(est, est, atOld);
  lincomb(est, coef, est, 1, atNew);
}

/** Gradient tracking: tracker ← mixedTracker + newDirection − oldDirection (tracker may alias mixedTracker). */
export function trackUpdate(tracker: Vec, mixedTracker: Vec, newDirection: Vec, oldDirection: Vec): void {
  if (tracker !== mixedTracker) tracker.set(mixedTracker);
  axpy(1, newDirection, tracker);
  axpy(-1, oldDirection, tracker);
}

/**
 * The η-interpolated gossip step of SEED-000 line 8 (CD-BSVRGD, VRDBO, MDBO):
 * v_{t+½} = Proj(mixed − β·dir), v_{t+1} = v + η(v_{t+½} − v). `half` is
 * scratch of the same length as v; radius Infinity means no projection.
 */
export function interpolatedStep(v: Vec, mixed: Vec, beta: number, dir: Vec, eta: number, half: Vec, radius = Infinity): void {
  lincomb(half, 1, mixed, -beta, dir);
  projectBall(half, radius);
  lincomb(v, 1 - eta, v, eta, half);
}

/**
 * `steps` rounds of decentralized (stochastic) gradient descent on y at fixed
 * x: draw a lower minibatch, g = ∇_y g(x, y), y ← Σ_j w_ij y_j − β g (one
 * communication round of d_y floats each). The inner loops of MA-DSBO, DSBO
 * and Gossip-DSBO.
 */
export async function gossipLowerSteps(ctx: AgentContext, x: Vec, y: Vec, beta: number, steps: number, sampler: BatchSampler, batch: Batch, rng: Rng, gy: Vec): Promise<void> {
  for (let t = 0; t < steps; t++) {
    sampler.draw(batch, rng);
    ctx.oracle.gradG(x, y, batch, null, gy);
    await mixRound(ctx.link, y, y);
    axpy(-beta, gy, y);
  }
}

/** The common start of every state: t = 0, the agent's own RNG stream for `label`, and copies of the initial x and y. */
export function baseState(ctx: AgentContext, label: string): AgentStateBase {
  return { t: 0, rng: new Rng(ctx.seed, label), x: Float64Array.from(ctx.init.x), y: Float64Array.from(ctx.init.y) };
}
