/**
 * What evaluators, traces and divergence checks read of an agent's state: its
 * iterates. Algorithms provide a view of their state (`Algorithm.view`); this
 * module depends on nothing, so metrics need no algorithm types.
 */
import type { Vec } from '../linalg/vector.ts';

export interface StateView {
  readonly x: Vec;
  readonly y: Vec;
  readonly z?: Vec;
  /** Prometheus's prox point x̃ (SEED-003 (6)), for its metric. */
  readonly xTilde?: Vec;
}
