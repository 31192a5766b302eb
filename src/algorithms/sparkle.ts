/**
 * SPARKLE: a unified single-loop primal-dual framework for decentralized
 * bilevel optimization. Zhu, Kong, Lu, Huang, Yuan, NeurIPS 2024,
 * arXiv 2411.14166; docs/decisions.md §9 docs/decisions.md §9.
 *
 * RECONSTRUCTION. The paper's pseudocode was not available (docs/decisions.md §9). Its
 * abstract says: single loop, and each level (x, y, z) may use its own
 * heterogeneity correction, Exact Diffusion (ED), EXTRA or gradient tracking
 * (GT). What is implemented is the docs/decisions.md §9 reconstruction: the D-SOBA
 * directions fed to one of three algebraically equivalent two-step
 * recursions per level.
 *
 * Directions at iteration k, all at the agent's current point (x^k, y^k, z^k)
 * with one upper and one lower batch (the lower one shared by ∇_y g, HVP and
 * JVP, docs/decisions.md §10); sign convention z ≈ +H⁻¹∇_y f (docs/decisions.md §0):
 *   ω^k   = ∇_x f − ∇²_xy g z          (local hypergradient estimate)
 *   h^k   = (1 − θ) h^{k−1} + θ ω^k    (D-SOBA moving average, h^{−1} = 0)
 *   g_x^k = h^k;  g_y^k = ∇_y g;  g_z^k = ∇²_yy g z − ∇_y f
 * Per level s ∈ {x, y, z} with step a ∈ {α, β, γ} and mode ∈ {gt, extra, ed}:
 *   GT     s^{k+1} = W(s^k − a t^k),  t^{k+1} = W t^k + g^{k+1} − g^k,  t^0 = g^0
 *          sends (s^k − a t^k, t^k): 2 vectors.
 *   EXTRA  s^1 = W s^0 − a g^0,
 *          s^{k+2} = (I + W) s^{k+1} − W̃ s^k − a (g^{k+1} − g^k),  W̃ = (I + W)/2
 *          sends s^k: 1 vector (W s^k is kept from the previous round).
 *   ED     ψ^{k+1} = s^k − a g^k,  φ^{k+1} = ψ^{k+1} + s^k − ψ^k,  s^{k+1} = W̄ φ^{k+1},
 *          W̄ = (I + W)/2, ψ^0 = s^0 (so s^1 = W̄(s^0 − a g^0))
 *          sends φ^{k+1}: 1 vector.
 * All three levels share one round per iteration: the message concatenates
 * the levels' blocks in the order x, y, z (GT: iterate block, then tracker).
 *
 * State per level: the iterate and one auxiliary vector whose meaning
 * depends on the mode (fields xAux, yAux, zAux):
 *   GT     the tracker without its newest direction, W t^{k−1} − g^{k−1}
 *          (zero at the start, so t^0 = g^0 is formed in the first step);
 *   EXTRA  the carry c^k = −W̃ s^{k−1} + a g^{k−1}, so that
 *          s^{k+1} = (I + W) s^k + c^k − a g^k; starting from c^0 = −s^0 gives
 *          s^1 = W s^0 − a g^0 with no special first step;
 *   ED     ψ^k (ψ^0 = s^0).
 * Every step evaluates the directions once, so every iteration (the first
 * included) has the same oracle count.
 *
 * Communication: 1 round per iteration; floats per directed message
 * = Σ_levels (1 or 2) × dim: all ED or all EXTRA d_x + 2d_y, all GT
 * 2d_x + 4d_y, e.g. (x ED, y GT, z EXTRA) d_x + 3d_y.
 * Oracles per iteration: 1 ∇F, 1 ∇_y G, 1 HVP, 1 JVP.
 *
 * Decisions:
 * - Default modes ED on all levels (SPARKLE-ED; the paper reports ED and
 *   EXTRA better than GT).
 * - The x direction is h^k, updated with ω^k evaluated at the current iterate
 *   before it is used ('current'), so every level's g^k belongs to iterate k
 *   as the three recursions assume. `hTiming: 'previous'` uses h^{k−1}, one
 *   iteration old, as D-SOBA's Algorithm 1 does (h^{−1} = 0 then gives
 *   g_x^0 = 0).
 * - With all-GT and hTiming 'previous', SPARKLE is D-SOBA (docs/algorithms.md) with each
 *   ATC direction (h, ∇_y g, Hz − ∇_y f) replaced by its gradient tracker: the
 *   same ATC form W(s − a·direction). On a complete graph with W = 11ᵀ/m the
 *   two coincide iterate for iterate (tested), and with one agent every mode
 *   combination is centralized SOBA with a moving average (tested).
 * - EXTRA and ED need λ_min(W) > −1 (W̃, W̄ ≻ 0), which every symmetric
 *   doubly stochastic W with a positive diagonal satisfies.
 */
import { z } from 'zod';
import { add, axpy, lincomb, sub, type Vec } from '../linalg/vector.ts';
import { mixRound } from '../network/link.ts';
import { baseState, BatchPair, messageLayout, movingAverage, param, SobaEstimates } from './blocks.ts';
import type { AgentContext, AgentStateBase, Algorithm } from './types.ts';

export const SPARKLE_MODES = ['gt', 'extra', 'ed'] as const;
export type SparkleMode = (typeof SPARKLE_MODES)[number];

const mode = (name: string) => z.enum(SPARKLE_MODES, { error: `${name} must be one of ${SPARKLE_MODES.join(', ')}` });

const params = z.strictObject({
  alpha: param.positive('alpha').default(0.05).describe('upper-level (x) step size α'),
  beta: param.positive('beta').default(0.1).describe('lower-level (y) step size β'),
  gamma: param.positive('gamma').default(0.1).describe('auxiliary (z) step size γ'),
  theta: param.unit('theta').default(0.5).describe('moving-average weight θ ∈ (0, 1] of the hypergradient estimate h'),
  xMode: mode('xMode').default('ed').describe("heterogeneity correction of the x level: 'ed' (Exact Diffusion), 'extra' or 'gt' (gradient tracking)"),
  yMode: mode('yMode').default('ed').describe("heterogeneity correction of the y level: 'ed', 'extra' or 'gt'"),
  zMode: mode('zMode').default('ed').describe("heterogeneity correction of the z level: 'ed', 'extra' or 'gt'"),
  hTiming: z
    .enum(['current', 'previous'], { error: "hTiming must be 'current' or 'previous'" })
    .default('current')
    .describe("x direction h^k including ω at the current iterate ('current') or h^{k−1} ('previous', D-SOBA's delay)"),
});

export type SparkleParams = z.infer<typeof params>;

export interface SparkleState extends AgentStateBase {
  z: Vec;
  /** Moving-average hypergradient estimate h. */
  h: Vec;
  /** Per-level auxiliary vector; its meaning depends on the level's mode (see the file comment). */
  xAux: Vec;
  yAux: Vec;
  zAux: Vec;
}

/** The buffers of one level: its blocks in the sent and the mixed message, and scratch. */
interface Level {
  readonly mode: SparkleMode;
  /** Iterate block (GT: s − a t; EXTRA: s; ED: φ) in the sent message and after mixing. */
  readonly sent: Vec;
  readonly mixed: Vec;
  /** GT tracker block t (empty for EXTRA and ED). */
  readonly sentT: Vec;
  readonly mixedT: Vec;
  /** Direction g^k of this level. */
  readonly g: Vec;
  readonly scratch: Vec;
}

/** Floats per message of a mode combination. */
export function sparkleFloats(dx: number, dy: number, p: Pick<SparkleParams, 'xMode' | 'yMode' | 'zMode'>): number {
  const k = (m: SparkleMode) => (m === 'gt' ? 2 : 1);
  return k(p.xMode) * dx + (k(p.yMode) + k(p.zMode)) * dy;
}

function workspace(ctx: AgentContext, p: SparkleParams) {
  const { dx, dy } = ctx;
  const specs = [
    ['x', dx, p.xMode],
    ['y', dy, p.yMode],
    ['z', dy, p.zMode],
  ] as const;
  const sizes: Record<string, number> = {};
  for (const [name, n, m] of specs) {
    sizes[name] = n;
    if (m === 'gt') sizes[`t${name}`] = n;
  }
  // ED needs the sent φ after the round, so the message is mixed into a second layout.
  const sent = messageLayout(sizes);
  const mixed = messageLayout(sizes);
  const directions = new SobaEstimates(dx, dy);
  const empty = new Float64Array(0);
  const level = (name: string, n: number, m: SparkleMode, g: Vec): Level => ({
    mode: m,
    sent: sent.blocks[name]!,
    mixed: mixed.blocks[name]!,
    sentT: m === 'gt' ? sent.blocks[`t${name}`]! : empty,
    mixedT: m === 'gt' ? mixed.blocks[`t${name}`]! : empty,
    g,
    scratch: new Float64Array(n),
  });
  return {
    batches: new BatchPair(ctx.oracle, ctx.batch),
    /** ω^k = ∇_x f − Jz, g_y^k = ∇_y g, g_z^k = Hz − ∇_y f at iterate k. */
    directions,
    x: level('x', dx, p.xMode, new Float64Array(dx)),
    y: level('y', dy, p.yMode, directions.lowerGrad),
    z: level('z', dy, p.zMode, directions.zGrad),
    sent: sent.payload,
    mixed: mixed.payload,
  };
}

type Workspace = ReturnType<typeof workspace>;

/** Before the round: write the level's blocks of the message (ED also advances ψ). */
function prepare(L: Level, s: Vec, aux: Vec, a: number): void {
  switch (L.mode) {
    case 'gt':
      add(L.sentT, aux, L.g); // t^k = (W t^{k−1} − g^{k−1}) + g^k
      lincomb(L.sent, 1, s, -a, L.sentT); // s^k − a t^k
      return;
    case 'extra':
      L.sent.set(s);
      return;
    case 'ed':
      lincomb(L.scratch, 1, s, -a, L.g); // ψ^{k+1} = s^k − a g^k
      sub(L.sent, s, aux); // φ^{k+1} = ψ^{k+1} + s^k − ψ^k
      axpy(1, L.scratch, L.sent);
      aux.set(L.scratch);
      return;
  }
}

/** After the round: the level's new iterate and auxiliary vector. */
function finish(L: Level, s: Vec, aux: Vec, a: number): void {
  switch (L.mode) {
    case 'gt':
      s.set(L.mixed); // W(s^k − a t^k)
      sub(aux, L.mixedT, L.g); // W t^k − g^k
      return;
    case 'extra':
      add(L.scratch, s, L.mixed); // (I + W) s^k
      add(s, L.scratch, aux); // s^{k+1} = (I + W) s^k + c^k − a g^k
      axpy(-a, L.g, s);
      lincomb(aux, -0.5, L.scratch, a, L.g); // c^{k+1} = −W̃ s^k + a g^k
      return;
    case 'ed':
      lincomb(s, 0.5, L.sent, 0.5, L.mixed); // W̄ φ^{k+1}
      return;
  }
}

async function step(s: SparkleState, ctx: AgentContext, ws: Workspace, p: SparkleParams): Promise<void> {
  ws.batches.draw(s.rng);
  const omega = ws.directions.at(ctx.oracle, s.x, s.y, s.z, ws.batches).hypergrad;
  // g_x^k = h^k = (1 − θ)h^{k−1} + θω^k ('current'), or h^{k−1} ('previous').
  if (p.hTiming === 'previous') ws.x.g.set(s.h);
  movingAverage(s.h, p.theta, omega);
  if (p.hTiming === 'current') ws.x.g.set(s.h);
  prepare(ws.x, s.x, s.xAux, p.alpha);
  prepare(ws.y, s.y, s.yAux, p.beta);
  prepare(ws.z, s.z, s.zAux, p.gamma);
  await mixRound(ctx.link, ws.sent, ws.mixed);
  finish(ws.x, s.x, s.xAux, p.alpha);
  finish(ws.y, s.y, s.yAux, p.beta);
  finish(ws.z, s.z, s.zAux, p.gamma);
  s.t++;
}

/** Initial auxiliary vector of a level: GT 0, EXTRA −s^0, ED ψ^0 = s^0. */
function initialAux(m: SparkleMode, s0: Vec): Vec {
  const aux = new Float64Array(s0.length);
  if (m === 'extra') axpy(-1, s0, aux);
  else if (m === 'ed') aux.set(s0);
  return aux;
}

export const sparkle: Algorithm<SparkleParams, SparkleState, Workspace> = {
  name: 'sparkle',
  problemClass: 'global',
  paper: 'Zhu, Kong, Lu, Huang, Yuan, NeurIPS 2024, arXiv 2411.14166; update rule reconstructed (docs/decisions.md §9)',
  summary: 'Single-loop SOBA directions with a per-level heterogeneity correction (Exact Diffusion, EXTRA or gradient tracking) on x, y and z (reconstruction).',
  communicates: '1 round: per level its iterate block, plus its tracker under GT; d_x + 2d_y floats per message (all ED/EXTRA) up to 2d_x + 4d_y (all GT)',
  reconstruction: true,
  params,
  init: (ctx, p) => ({
    ...baseState(ctx, 'sparkle'),
    z: Float64Array.from(ctx.init.z),
    h: new Float64Array(ctx.dx),
    xAux: initialAux(p.xMode, ctx.init.x),
    yAux: initialAux(p.yMode, ctx.init.y),
    zAux: initialAux(p.zMode, ctx.init.z),
  }),
  workspace,
  step,
  view: (s) => ({ x: s.x, y: s.y, z: s.z }),
  // After agents left the run (docs/faults.md): every level restarts its correction from the current iterate, as at k = 0 (GT tracker, EXTRA carry, ED ψ).
  onViewChange: (s, _ctx, _ws, p) => {
    s.xAux.set(initialAux(p.xMode, s.x));
    s.yAux.set(initialAux(p.yMode, s.y));
    s.zAux.set(initialAux(p.zMode, s.z));
  },
};
