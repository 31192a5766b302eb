/**
 * The algorithm contract (docs/algorithms.md, "The contract"), written per
 * agent: `init` builds the agent's state; `step` advances that state by one
 * iteration **in place** (it overwrites the state's vectors and increments
 * `t`, and resolves with nothing), communicating only through `ctx.link`.
 * Everything that carries information from one iteration to the next lives in
 * the state (iterates, trackers, estimators, RNG, counter), so a state can be
 * serialized and resumed (`state.ts`). Scratch buffers live in a workspace
 * that `workspace` derives once and that holds nothing between iterations.
 *
 * Parameters are typed end to end: an `Algorithm<P, S, W>` states its
 * parameter type P through its zod schema, and `register` (registry.ts)
 * parses raw config parameters with that schema and closes over the typed
 * result, so the runner never handles untyped parameters.
 */
import type { z } from 'zod';
import type { Vec } from '../linalg/vector.ts';
import type { AgentLink } from '../network/link.ts';
import type { AgentOracle, ProblemClass } from '../problems/types.ts';
import type { Rng } from '../random/rng.ts';
import type { StateView } from '../metrics/state-view.ts';

export type { StateView };

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


export interface AlgorithmInfo {
  readonly name: string;
  readonly problemClass: ProblemClass;
  /** Paper and algorithm number. */
  readonly paper: string;
  readonly summary: string;
  /** What one iteration sends, e.g. "1 round: x − αh, y − βv, ẑ (d_x + 2d_y floats)". */
  readonly communicates: string;
  /** True when the update rule is a reconstruction (docs/decisions.md §9). */
  readonly reconstruction: boolean;
  /** True (for these parameters) when the algorithm forms dense ∇²_yy g or ∇²_xy g matrices; problems with huge d_y refuse it. */
  readonly formsDenseMatrices?: (params: Record<string, unknown>) => boolean;
}

/** Parameters after validation: a plain object of the algorithm's keys, defaults filled in. */
export type AlgorithmParams = Readonly<Record<string, unknown>>;

/**
 * One algorithm with its parameter type P, state type S and workspace type W.
 * Algorithm files export values of this type; the registry wraps them with
 * `register`.
 */
export interface Algorithm<P extends AlgorithmParams, S extends AgentStateBase, W> extends AlgorithmInfo {
  /** Strict schema of the parameters, with defaults. */
  readonly params: z.ZodType<P>;
  init(ctx: AgentContext, params: P): S;
  workspace(ctx: AgentContext, params: P): W;
  /** Advances `state` by one iteration in place; resolves when the iteration's communication is done. */
  step(state: S, ctx: AgentContext, ws: W, params: P): Promise<void>;
  view(state: S): StateView;
  /**
   * Optional: restores the algorithm's network-wide invariants after agents
   * left the run (docs/faults.md). Every surviving agent calls it at the same
   * iteration boundary, after the view changed and the mixing weights were
   * recomputed; gradient-tracking methods re-initialize each tracker to the
   * agent's current local estimate, so that Σ_i tracker_i = Σ_i estimate_i
   * holds again over the survivors.
   */
  onViewChange?(state: S, ctx: AgentContext, ws: W, params: P): void;
}

declare const workspaceBrand: unique symbol;
/** An agent's workspace as seen outside its algorithm: opaque, made by `workspace`, passed back to `step`. */
export interface AgentWorkspace {
  readonly [workspaceBrand]: true;
}

/**
 * An algorithm bound to validated parameters: what the runner drives. States
 * are seen as their common part; only states made by this binding's `init`
 * (or deserialized from them) may be passed back.
 */
export interface ConfiguredAlgorithm extends AlgorithmInfo {
  /** The validated parameters, defaults filled in (what the resolved config records). */
  readonly values: AlgorithmParams;
  init(ctx: AgentContext): AgentStateBase;
  workspace(ctx: AgentContext): AgentWorkspace;
  /** Advances `state` by one iteration in place. */
  step(state: AgentStateBase, ctx: AgentContext, ws: AgentWorkspace): Promise<void>;
  view(state: AgentStateBase): StateView;
  /** Present when the algorithm has invariants to restore after a view change (see Algorithm.onViewChange). */
  onViewChange?(state: AgentStateBase, ctx: AgentContext, ws: AgentWorkspace): void;
}

/** A registered algorithm: its description and parameter schema; `configure` binds parameters. */
export interface RegisteredAlgorithm extends AlgorithmInfo {
  /** Strict schema of the parameters, with defaults (for listings and config resolution). */
  readonly params: z.ZodType<AlgorithmParams>;
  /**
   * Parses `raw` parameters with the algorithm's schema (a ConfigError naming
   * `<field>.<key>` on the first problem) and binds the typed result.
   */
  configure(raw: unknown, field?: string): ConfiguredAlgorithm;
}
