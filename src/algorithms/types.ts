/**
 * The algorithm contract (design.md §3): a pure pair over explicit state,
 * written per agent. `init` builds the agent's state; `step` advances it by
 * one iteration, communicating only through `ctx.link`. Everything that
 * carries information from one iteration to the next lives in the state
 * (iterates, trackers, estimators, RNG, counter), so a state can be saved and
 * resumed. Scratch buffers live in a workspace that `workspace` derives and
 * that holds nothing between iterations.
 */
import type { z } from 'zod';
import type { Vec } from '../linalg/vector.ts';
import type { AgentLink } from '../network/link.ts';
import type { AgentOracle, ProblemClass } from '../problems/types.ts';
import type { Rng } from '../random/rng.ts';

/** What an agent's algorithm may use: its own oracles, its link, sizes and seeds. */
export interface AgentContext {
  readonly id: number;
  readonly m: number;
  readonly dx: number;
  readonly dy: number;
  /** Counted oracles of this agent. */
  readonly oracle: AgentOracle;
  readonly link: AgentLink;
  /** Minibatch sizes from the problem config (`full` = the whole local set). */
  readonly batch: { readonly upper: number | 'full'; readonly lower: number | 'full' };
  /** Initial point, identical on all agents (config `init`, default zeros). */
  readonly init: { readonly x: Vec; readonly y: Vec; readonly z: Vec };
  /** Seed of this agent's sampling stream. */
  readonly seed: number;
}

/** The common part of every state. */
export interface AgentStateBase {
  /** Iterations completed. */
  t: number;
  rng: Rng;
  x: Vec;
  y: Vec;
}

/** The iterates evaluators and traces look at. */
export interface StateView {
  readonly x: Vec;
  readonly y: Vec;
  readonly z?: Vec;
  /** Prometheus's prox point x̃ (SEED-003 (6)), for its metric. */
  readonly xTilde?: Vec;
}

export interface AlgorithmInfo {
  readonly name: string;
  readonly problemClass: ProblemClass;
  /** Paper and algorithm number. */
  readonly paper: string;
  readonly summary: string;
  /** What one iteration sends, e.g. "1 round: x − αh, y − βv, ẑ (d_x + 2d_y floats)". */
  readonly communicates: string;
  /** True when the update rule is a reconstruction ([MEM] in algorithms.md). */
  readonly reconstruction: boolean;
  /** True (for these parameters) when the algorithm forms dense ∇²_yy g or ∇²_xy g matrices; problems with huge d_y refuse it. */
  readonly formsDenseMatrices?: (params: Record<string, unknown>) => boolean;
}

export interface Algorithm<P, S extends AgentStateBase, W> extends AlgorithmInfo {
  /** Strict schema of the parameters, with defaults. */
  readonly params: z.ZodType<P>;
  init(ctx: AgentContext, params: P): S;
  workspace(ctx: AgentContext, params: P): W;
  step(state: S, ctx: AgentContext, ws: W, params: P): Promise<S>;
  view(state: S): StateView;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyAlgorithm = Algorithm<any, any, any>;
