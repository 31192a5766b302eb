/**
 * Deterministic in-process transport: all agents run in lockstep, one
 * barrier per communication round. Communication is counted here, where
 * messages are produced (docs/decisions.md §14): every directed message, its
 * payload floats, and payload bytes = floats × bytesPerFloat.
 *
 * Values travel at `bytesPerFloat` (4 = fp32, as in the papers' PyTorch code,
 * by default; 8 = fp64): what a neighbour receives is the sender's payload
 * rounded as a real transport would send it (see wire.ts), so every runtime
 * computes the same iterates. No socket is involved, so `wireBytes` stays 0.
 */
import type { Vec } from '../linalg/vector.ts';
import { emptyCommCounters, type CommCounters } from '../runtime/types.ts';
import type { AgentLink } from './link.ts';
import { checkBytesPerFloat, roundThroughWire, type BytesPerFloat } from './wire.ts';

export type { CommCounters };

export interface SimulatorTopology {
  readonly m: number;
  readonly neighbours: ReadonlyArray<ReadonlyArray<number>>;
  /**
   * The mixing matrix: row-major m × m, or sparse (w_ii in `self`, row i's
   * neighbour weights at values[rowStart[i] …], in `neighbours[i]` order).
   */
  readonly weights: Float64Array | { readonly self: Float64Array; readonly rowStart: Int32Array; readonly values: Float64Array };
}

export class Simulator {
  readonly counters: CommCounters = emptyCommCounters();
  readonly links: ReadonlyArray<AgentLink>;
  private readonly m: number;
  /** Two slots per agent (round parity), so a fast agent never overwrites a payload still being read. */
  private readonly slots: Float64Array[][];
  private readonly agentRound: number[];
  private readonly waiting: Array<((received: ReadonlyArray<Vec>) => void) | null>;
  private readonly received: Vec[][][];
  private arrived = 0;
  private round = 0;
  readonly bytesPerFloat: BytesPerFloat;

  constructor(
    readonly topology: SimulatorTopology,
    bytesPerFloat: number = 4,
  ) {
    this.bytesPerFloat = checkBytesPerFloat(bytesPerFloat);
    const m = topology.m;
    this.m = m;
    this.slots = Array.from({ length: m }, () => [new Float64Array(0), new Float64Array(0)]);
    this.agentRound = new Array<number>(m).fill(0);
    this.waiting = new Array(m).fill(null);
    this.received = Array.from({ length: m }, () => [[], []]);
    const w = topology.weights;
    this.links = Array.from({ length: m }, (_, i) => {
      const neighbours = topology.neighbours[i]!;
      return {
        id: i,
        neighbours,
        selfWeight: w instanceof Float64Array ? w[i * m + i]! : w.self[i]!,
        neighbourWeights: w instanceof Float64Array ? neighbours.map((j) => w[i * m + j]!) : Array.from(w.values.subarray(w.rowStart[i]!, w.rowStart[i + 1]!)),
        exchange: (payload: Vec) => this.exchange(i, payload),
      };
    });
  }

  private exchange(i: number, payload: Vec): Promise<ReadonlyArray<Vec>> {
    if (this.agentRound[i] !== this.round) throw new Error(`simulator: agent ${i} sent twice in round ${this.round}`);
    const parity = this.round & 1;
    let slot = this.slots[i]![parity]!;
    if (slot.length !== payload.length) {
      slot = new Float64Array(payload.length);
      this.slots[i]![parity] = slot;
    }
    roundThroughWire(payload, slot, this.bytesPerFloat);
    this.agentRound[i]!++;
    const done = new Promise<ReadonlyArray<Vec>>((resolve) => {
      this.waiting[i] = resolve;
    });
    this.arrived++;
    if (this.arrived === this.m) this.completeRound();
    return done;
  }

  private completeRound(): void {
    const parity = this.round & 1;
    const c = this.counters;
    c.rounds++;
    for (let i = 0; i < this.m; i++) {
      const neighbours = this.topology.neighbours[i]!;
      const len = this.slots[i]![parity]!.length;
      c.messages += neighbours.length;
      c.floats += neighbours.length * len;
      const inbox = this.received[i]![parity]!;
      inbox.length = neighbours.length;
      for (let k = 0; k < neighbours.length; k++) inbox[k] = this.slots[neighbours[k]!]![parity]!;
    }
    c.bytes = c.floats * this.bytesPerFloat;
    this.arrived = 0;
    this.round++;
    for (let i = 0; i < this.m; i++) {
      const resolve = this.waiting[i]!;
      this.waiting[i] = null;
      resolve(this.received[i]![parity]!);
    }
  }

  /** Rounds some agent has started but not all agents have joined (a protocol error when a step ends). */
  get pendingAgents(): number {
    return this.arrived;
  }
}
