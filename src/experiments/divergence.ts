/**
 * Divergence detection. A run has diverged when a monitored quantity is not
 * finite, or when it exceeds a bound derived from its value at the start:
 *
 *   q_t > factor · max(q_0, 1)
 *
 * for q = the largest ‖x_i‖, ‖y_i‖, ‖z_i‖ over agents, the consensus distance
 * √consensusX and the hypergradient norm ‖∇Φ(x̄)‖ (all in norm units, so one
 * factor fits them all; the floor 1 keeps a start at zero from making every
 * move a divergence). The bound is checked at every evaluation point (so a
 * run diverges at the same iteration whether it is traced or not); the
 * runtime itself catches non-finite iterates after every iteration. The check is on by
 * default (`divergence: {enabled: true, factor: 1e6}` in the config).
 */
import type { StateView } from '../algorithms/types.ts';
import type { RowMetrics } from '../metrics/evaluate.ts';

export interface DivergenceConfig {
  readonly enabled: boolean;
  readonly factor: number;
}

/** Where and why a run diverged (summary.json's `divergence`). */
export interface Divergence {
  readonly iteration: number;
  /** The quantity, in words: "‖x_i‖ of agent 3", "‖∇Φ(x̄)‖", "agent 2's x". */
  readonly quantity: string;
  /** Its value, or NaN / ±Infinity when not finite. */
  readonly value: number;
  /** The bound it exceeded (absent for non-finite values). */
  readonly bound?: number;
  /** One line for the user. */
  readonly message: string;
}

/** ‖v‖₂ without overflow: finite entries give a finite norm up to ~1.8e308. */
function norm(v: ArrayLike<number>): number {
  let big = 0;
  for (let i = 0; i < v.length; i++) {
    const a = Math.abs(v[i]!);
    if (!(a <= big)) big = a;
  }
  if (big === 0 || !Number.isFinite(big)) return big;
  let s = 0;
  for (let i = 0; i < v.length; i++) {
    const r = v[i]! / big;
    s += r * r;
  }
  return big * Math.sqrt(s);
}

const fmt = (v: number) => (Number.isFinite(v) ? v.toExponential(2) : String(v));

export class DivergenceMonitor {
  private readonly start = new Map<string, number>();

  constructor(private readonly config: DivergenceConfig) {}

  /** The start values recorded so far, by quantity (checkpoints). */
  startValues(): Record<string, number> {
    return Object.fromEntries(this.start);
  }

  /** Restores start values saved by `startValues`. */
  restoreStartValues(values: Readonly<Record<string, number>>): void {
    this.start.clear();
    for (const [k, v] of Object.entries(values)) this.start.set(k, v);
  }

  /** A divergence for a non-finite iterate the runtime reported (`what` names it). */
  nonFinite(iteration: number, what: string): Divergence {
    return { iteration, quantity: what, value: NaN, message: `diverged at iteration ${iteration}: ${what} (try smaller step sizes)` };
  }

  /** Checks the agents' iterates; the first call (iteration 0) records the start values. */
  checkIterates(iteration: number, views: ReadonlyArray<StateView>): Divergence | null {
    for (const key of ['x', 'y', 'z'] as const) {
      let largest = 0;
      let agent = 0;
      for (let i = 0; i < views.length; i++) {
        const v = views[i]![key];
        if (!v) continue;
        const n = norm(v);
        if (!(n <= largest)) {
          largest = n;
          agent = i;
        }
      }
      const found = this.check(iteration, `‖${key}_i‖`, largest, ` of agent ${agent}`);
      if (found) return found;
    }
    return null;
  }

  /** Checks an evaluation row (consensus distance and hypergradient norm). */
  checkRow(iteration: number, row: RowMetrics): Divergence | null {
    const consensus = this.check(iteration, 'consensus distance √consensusX', Math.sqrt(row.consensusX), '');
    if (consensus) return consensus;
    if (row.hypergradNormSq !== undefined) return this.check(iteration, '‖∇Φ(x̄)‖', Math.sqrt(row.hypergradNormSq), '');
    return null;
  }

  private check(iteration: number, name: string, value: number, where: string): Divergence | null {
    if (!Number.isFinite(value)) return { iteration, quantity: `${name}${where}`, value, message: `diverged at iteration ${iteration}: ${name}${where} is ${value} (try smaller step sizes)` };
    if (!this.start.has(name)) {
      this.start.set(name, value);
      return null;
    }
    if (!this.config.enabled) return null;
    const start = this.start.get(name)!;
    const bound = this.config.factor * Math.max(start, 1);
    if (value <= bound) return null;
    return {
      iteration,
      quantity: `${name}${where}`,
      value,
      bound,
      message: `diverged at iteration ${iteration}: ${name}${where} = ${fmt(value)} exceeds ${fmt(bound)} (divergence.factor ${this.config.factor} × max(start ${fmt(start)}, 1)); try smaller step sizes`,
    };
  }
}
