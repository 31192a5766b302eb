/**
 * Small building blocks shared by the algorithms: parameter schemas,
 * minibatch pairs and overrides, named-block gossip, the local estimators
 * with named outputs (SOBA directions, Neumann hypergradients), STORM, moving
 * averages and gradient tracking. Each is a few lines over the linalg
 * kernels, so an algorithm file's step reads as its paper's update equations
 * (docs/algorithms.md).
 */
import { z } from 'zod';
import { axpy, lincomb, projectBall, sub, type Vec } from '../linalg/vector.ts';
import { neumannHypergradient, neumannScratch, type NeumannSample, type NeumannScratch } from '../hypergrad/neumann.ts';
import { mixRound, type AgentLink } from '../network/link.ts';
import { BatchSampler } from '../problems/batch.ts';
import type { AgentOracle, Batch, SobaPoint } from '../problems/types.ts';
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
    return new BatchPair(ctx.oracle, batchSizes(ctx, size));
  }
}

/** Minibatch sizes of the two levels. */
export type BatchSizes = AgentContext['batch'];

/** An algorithm's minibatch override: the problem's sizes, or `size` for both levels. */
export function batchSizes(ctx: AgentContext, size?: number | 'full'): BatchSizes {
  return size === undefined ? ctx.batch : { upper: size, lower: size };
}

/** Named vectors: the blocks of a message, or its mixed values. */
export type Blocks<K extends string> = { readonly [k in K]: Vec };

/** A message of named blocks laid out, in the order given, in one preallocated payload. */
export class MessageLayout<K extends string> {
  readonly payload: Vec;
  /** Views of the payload, one per block. */
  readonly blocks: Blocks<K>;
  readonly entries: ReadonlyArray<readonly [K, Vec]>;

  constructor(sizes: Readonly<Record<K, number>>) {
    const names = Object.keys(sizes) as K[];
    this.payload = new Float64Array(names.reduce((n, k) => n + sizes[k], 0));
    const blocks = {} as Record<K, Vec>;
    const entries: Array<readonly [K, Vec]> = [];
    let off = 0;
    for (const k of names) {
      blocks[k] = this.payload.subarray(off, off + sizes[k]);
      entries.push([k, blocks[k]]);
      off += sizes[k];
    }
    this.blocks = blocks;
    this.entries = entries;
  }
}

/** The layout of a message with blocks of these lengths, e.g. `messageLayout({ x: dx, y: dy })`. */
export function messageLayout<K extends string>(sizes: Readonly<Record<K, number>>): MessageLayout<K> {
  return new MessageLayout(sizes);
}

/**
 * One gossip round of named blocks: packs `values` into `out`'s payload (a
 * value may be `out`'s own block, written in place beforehand), sends it,
 * and mixes: on return every block of `out` holds Σ_j w_ij value_j (row i of
 * W over the neighbours' blocks of the same name). Returns `out.blocks`,
 * valid until the layout's next round. Allocates nothing.
 */
export async function gossip<K extends string>(link: AgentLink, values: Blocks<K>, out: MessageLayout<K>): Promise<Blocks<K>> {
  for (const [k, block] of out.entries) if (values[k] !== block) block.set(values[k]);
  await mixRound(link, out.payload, out.payload);
  return out.blocks;
}

/** How the second-order products ∇_y g, ∇²_yy g z and ∇²_xy g z are obtained from the lower batch. */
export type SecondOrderProducts = (o: AgentOracle, x: Vec, y: Vec, z: Vec, lower: Batch, outGy: Vec, outHz: Vec, outJz: Vec) => void;

/** Exact products: one ∇_y G, one HVP and one JVP, all on ζ. */
export const exactProducts: SecondOrderProducts = (o, x, y, z, lower, outGy, outHz, outJz) => {
  o.gradG(x, y, lower, null, outGy);
  o.jvp(x, y, z, lower, outJz);
  o.hvp(x, y, z, lower, outHz);
};

/** ∇_x F, ∇_y F, Jz and Hz: the intermediates of one estimate. */
interface Intermediates {
  readonly fx: Vec;
  readonly fy: Vec;
  readonly jz: Vec;
  readonly hz: Vec;
}

/** SobaEstimates' shared intermediates by (d_x, d_y): one set per point of a joint evaluation. */
const sobaIntermediates = new Map<string, readonly [Intermediates, Intermediates]>();

/**
 * The SOBA local estimators of SEED-000 (3.5) (the directions of SEED-004's
 * Algorithm 1) at (x, y, z) on a batch pair, with named outputs:
 *   hypergrad = ∇_x f(ξ) − ∇²_xy g(ζ) z     (Ĝ_F, ω; length d_x)
 *   zGrad     = ∇²_yy g(ζ) z − ∇_y f(ξ)     (Ĝ_h; the gradient of the z-quadratic)
 *   lowerGrad = ∇_y g(ζ)                    (δ^g, v)
 * One ∇F and, by default, one ∇_y G, one JVP and one HVP, ζ shared by the
 * three g-oracles (docs/decisions.md §10).
 */
export class SobaEstimates {
  readonly hypergrad: Vec;
  readonly zGrad: Vec;
  readonly lowerGrad: Vec;
  /**
   * The oracles' inputs and outputs at this estimate's point, as the first
   * (`points[0]`) or the second (`points[1]`) point of an evaluation. Their
   * ∇_x F, ∇_y F, Jz and Hz are intermediates that `at` and `atWith` fill and
   * consume synchronously, so every instance of the same sizes shares one set
   * per position (a run of many agents touches two sets instead of one per
   * agent); lowerGrad is this instance's own.
   */
  private readonly points: readonly [SobaPoint, SobaPoint];
  /** Reused lists of points for the oracles' fused path. */
  private readonly single: SobaPoint[];
  private readonly pair: SobaPoint[];

  constructor(
    dx: number,
    dy: number,
    private readonly products: SecondOrderProducts = exactProducts,
  ) {
    this.hypergrad = new Float64Array(dx);
    this.zGrad = new Float64Array(dy);
    this.lowerGrad = new Float64Array(dy);
    const key = `${dx}:${dy}`;
    let shared = sobaIntermediates.get(key);
    const set = (): Intermediates => ({ fx: new Float64Array(dx), fy: new Float64Array(dy), jz: new Float64Array(dx), hz: new Float64Array(dy) });
    if (!shared) sobaIntermediates.set(key, (shared = [set(), set()]));
    const none = new Float64Array(0);
    const point = (i: Intermediates): SobaPoint => ({ x: none, y: none, z: none, ...i, gy: this.lowerGrad });
    this.points = [point(shared[0]), point(shared[1])];
    this.single = [this.points[0]];
    this.pair = [this.points[0], this.points[1]];
  }

  /** Evaluates the three estimators at (x, y, z) on the batches' current draw. */
  at(o: AgentOracle, x: Vec, y: Vec, z: Vec, b: BatchPair): this {
    const p = this.place(0, x, y, z);
    if (this.products === exactProducts && o.sobaPoints) o.sobaPoints(this.single, b.upper, b.lower);
    else {
      o.gradF(x, y, b.upper, p.fx, p.fy);
      this.products(o, x, y, z, b.lower, this.lowerGrad, p.hz, p.jz);
    }
    return this.finish(p);
  }

  /**
   * Evaluates these estimators at (x, y, z) and `other`'s at (x2, y2, z2) on
   * the same draw (the two points of a STORM difference): the same values as
   * `this.at(…)` followed by `other.at(…)`, with the oracles' fused path, when
   * they have one, reading each batch's rows once for both points.
   */
  atWith(o: AgentOracle, x: Vec, y: Vec, z: Vec, other: SobaEstimates, x2: Vec, y2: Vec, z2: Vec, b: BatchPair): void {
    if (this.products !== exactProducts || other.products !== exactProducts || !o.sobaPoints) {
      this.at(o, x, y, z, b);
      other.at(o, x2, y2, z2, b);
      return;
    }
    const p = this.place(0, x, y, z);
    const q = other.place(1, x2, y2, z2);
    const pair = this.pair;
    pair[0] = p;
    pair[1] = q;
    o.sobaPoints(pair, b.upper, b.lower);
    this.finish(p);
    other.finish(q);
  }

  /** All outputs zero: a term whose coefficient is 0 and that is not computed. */
  zero(): this {
    this.hypergrad.fill(0);
    this.zGrad.fill(0);
    this.lowerGrad.fill(0);
    return this;
  }

  /** The point at position i, set to (x, y, z). */
  private place(i: 0 | 1, x: Vec, y: Vec, z: Vec): SobaPoint {
    const p = this.points[i];
    p.x = x;
    p.y = y;
    p.z = z;
    return p;
  }

  /** The estimators from the oracles' outputs at p. */
  private finish(p: SobaPoint): this {
    sub(this.hypergrad, p.fx, p.jz);
    sub(this.zGrad, p.hz, p.fy);
    return this;
  }
}

/**
 * A local stochastic Neumann hypergradient (src/hypergrad/neumann.ts) and
 * ∇_y g on ζ⁰, the JVP's batch (docs/decisions.md §10), with named outputs:
 *   hypergrad = ∇̄f(x, y; ξ̄),  lowerGrad = ∇_y g(x, y; ζ⁰).
 * Evaluating at two points on one drawn sample gives the STORM and SPIDER
 * differences their identical samples.
 */
export class NeumannEstimates {
  readonly hypergrad: Vec;
  readonly lowerGrad: Vec;
  private readonly scratch: NeumannScratch;

  constructor(dx: number, dy: number) {
    this.hypergrad = new Float64Array(dx);
    this.lowerGrad = new Float64Array(dy);
    this.scratch = neumannScratch(dx, dy);
  }

  /** Evaluates both estimators at (x, y) on `sample`'s current draw with Neumann scale `lg` (∇_y g on `lower`, default ζ⁰). */
  at(o: AgentOracle, x: Vec, y: Vec, sample: NeumannSample, lg: number, lower: Batch = sample.lower[0]!): this {
    neumannHypergradient(o, x, y, sample, lg, this.scratch, this.hypergrad);
    o.gradG(x, y, lower, null, this.lowerGrad);
    return this;
  }

  zero(): this {
    this.hypergrad.fill(0);
    this.lowerGrad.fill(0);
    return this;
  }
}

/**
 * The STORM coefficient 1 − α·η² of CD-BSVRGD and VRDBO (SEED-000 Algorithm
 * 1, line 6); α·η² = 1 up to rounding means "no variance reduction" and gives
 * exactly 0, so that the previous-point estimates need not be computed.
 */
export function stormCoefficient(alpha: number, eta: number): number {
  const a = alpha * (eta * eta);
  return Math.abs(1 - a) < 1e-12 ? 0 : 1 - a;
}

/** Moving average in place: avg ← (1 − θ)·avg + θ·value. */
export function movingAverage(avg: Vec, theta: number, value: Vec): void {
  lincomb(avg, 1 - theta, avg, theta, value);
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

/**
 * SPIDER in place: est ← est + (atNew − atOld), with atOld and atNew the
 * same-sample estimates at the previous and current points; atNew is used
 * as scratch (Prometheus (8)).
 */
export function spiderUpdate(est: Vec, atOld: Vec, atNew: Vec): void {
  sub(atNew, atNew, atOld);
  axpy(1, atNew, est);
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
