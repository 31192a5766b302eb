/**
 * View changes seen from outside the agents (docs/faults.md): the rows of a
 * run's events.jsonl, and the optional part of a runtime whose agents can
 * leave the run (the libp2p runtime). The runner writes the events it drains
 * after each advance and evaluates the survivors' problem once agents are gone.
 */
import type { Runtime } from './types.ts';

/**
 * One row of events.jsonl. `event` says what happened:
 * - 'weights': `agent`'s mixing row from communication round `round` on
 *   (`neighbours`, `weights` aligned with them, `self`); every agent logs its
 *   configured row at round 0 and each change after;
 * - 'neighbour-gone': `agent` declared `neighbour` gone from round `round` (`reason`);
 * - 'reset': `agent` reset its algorithm's invariants (`hook`: whether the
 *   algorithm has a reset) at the end of iteration `iteration` (reset round `round`);
 * - 'fault': an injected fault started (`kind`: crash, delay, partition);
 * - 'agent-exited': the coordinator saw `agent`'s process end (`how`);
 * - 'survivors': from this evaluation on, metrics are those of the problem of `agents`.
 * `iteration` is the iteration during which it happened (or after which, for
 * 'reset', 'agent-exited' and 'survivors').
 */
export interface RunEvent {
  readonly event: string;
  readonly iteration: number;
  readonly agent?: number;
  readonly [key: string]: unknown;
}

/** A runtime whose agents can leave the run. */
export interface ViewChangingRuntime extends Runtime {
  /** Ids of the agents whose iterates the last `snapshot()` returned, ascending (the survivors then). */
  survivors(): ReadonlyArray<number>;
  /** Events since the last call, in a deterministic order. */
  drainEvents(): RunEvent[];
}

export function isViewChanging(runtime: Runtime): runtime is ViewChangingRuntime {
  const r = runtime as Partial<ViewChangingRuntime>;
  return typeof r.survivors === 'function' && typeof r.drainEvents === 'function';
}

/** Orders events by iteration, then agent, then round; ties keep arrival order. */
export function sortEvents(events: RunEvent[]): RunEvent[] {
  return events
    .map((e, k) => ({ e, k }))
    .sort((a, b) => a.e.iteration - b.e.iteration || (a.e.agent ?? -1) - (b.e.agent ?? -1) || ((a.e.round as number) ?? 0) - ((b.e.round as number) ?? 0) || a.k - b.k)
    .map((x) => x.e);
}
