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
  /** Scheduled dispatch (see `schedule`), when on. */
  private scheduled: Schedule | null = null;
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

  /**
   * Scheduled dispatch, for a host that drives every agent and calls
   * `settle` when an agent's step ends without another starting. Instead of
   * one barrier per round for all agents, agent i's round r completes as
   * soon as i and its neighbours (both ways) have sent their round-r
   * payloads, as on a real network, and the agents whose rounds are complete
   * are resumed one at a time: the next only once the current one hands
   * control back (by its next exchange, or `settle`). The order is chosen
   * for the cache: skewed tiles of TILE_AGENTS agents over blocks of
   * TILE_ROUNDS rounds, so that on a ring an agent is resumed again after
   * about TILE_AGENTS others rather than after all m, its data still in
   * cache. Each agent computes exactly what it computes in lockstep (its own
   * state and its neighbours' payloads of the same round), so only the order
   * of the agents' work changes. Payload slots stay two per agent: an agent
   * overwrites its round-r slot when it sends round r + 2, which needs every
   * neighbour to have sent round r + 1, hence to have read round r.
   */
  schedule(on: boolean): void {
    if (this.pendingAgents !== 0) throw new Error('simulator: dispatch mode changed in the middle of a round');
    if (!on) {
      this.scheduled = null;
      return;
    }
    // Rounds completed so far, the same for every agent here.
    const done = this.round;
    this.scheduled = new Schedule(this.m, this.topology.neighbours, done);
    this.agentRound.fill(done);
  }

  /** Scheduled dispatch: agent i is idle (its step ended and it starts no other now); the next agent is resumed. */
  settle(i: number): void {
    const s = this.scheduled;
    if (s !== null && s.running === i) {
      s.running = -1;
      this.resumeNext(s);
    }
  }

  /** Resumes the ready agent first in the schedule's order, if any and if none is running. */
  private resumeNext(s: Schedule): void {
    if (s.running !== -1) return;
    const i = s.pop();
    if (i < 0) return;
    s.running = i;
    // Round r of agent i completes: count its messages, gather its neighbours' round-r payloads.
    const r = s.done[i]! + 1;
    s.done[i] = r;
    const parity = r & 1;
    const neighbours = this.topology.neighbours[i]!;
    const c = this.counters;
    c.messages += neighbours.length;
    c.floats += neighbours.length * this.slots[i]![parity]!.length;
    c.bytes = c.floats * this.bytesPerFloat;
    if (s.roundCompleted(r)) c.rounds++;
    const inbox = this.received[i]![parity]!;
    inbox.length = neighbours.length;
    for (let k = 0; k < neighbours.length; k++) inbox[k] = this.slots[neighbours[k]!]![parity]!;
    const resolve = this.waiting[i]!;
    this.waiting[i] = null;
    s.waitingCount--;
    resolve(inbox);
  }

  /** Scheduled dispatch: agent i sent its next round (and, if it was running, handed control back). */
  private sentScheduled(s: Schedule, i: number): void {
    s.waitingCount++;
    if (s.running === i) s.running = -1;
    const sym = s.sym[i]!;
    s.offer(i, this.agentRound);
    for (let k = 0; k < sym.length; k++) {
      const j = sym[k]!;
      if (this.waiting[j] !== null) s.offer(j, this.agentRound);
    }
    this.resumeNext(s);
  }

  private exchange(i: number, payload: Vec): Promise<ReadonlyArray<Vec>> {
    const s = this.scheduled;
    if (s === null ? this.agentRound[i] !== this.round : this.agentRound[i] !== s.done[i]) throw new Error(`simulator: agent ${i} sent twice in round ${s === null ? this.round : s.done[i]}`);
    const parity = (s === null ? this.round : this.agentRound[i]! + 1) & 1;
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
    if (s !== null) {
      this.sentScheduled(s, i);
      return done;
    }
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
    return this.scheduled === null ? this.arrived : this.scheduled.waitingCount;
  }
}

/** Agents per skewed tile and rounds per block of the scheduled order (see Simulator.schedule). */
const TILE_AGENTS = 16;
const TILE_ROUNDS = 32;

/**
 * The bookkeeping of scheduled dispatch: rounds each agent has completed,
 * the ready agents (own and neighbours' payloads of their next round sent)
 * in a binary heap ordered by skewed tile, round and id, and per-round
 * completion counts for the rounds counter.
 */
class Schedule {
  /** Rounds each agent has completed (received). */
  readonly done: Float64Array;
  /** Neighbours both ways: i's round completes once all of them have sent it. */
  readonly sym: ReadonlyArray<Int32Array>;
  /** The agent resumed and not yet handed back (−1: none). */
  running = -1;
  /** Agents that sent and have not been resumed yet. */
  waitingCount = 0;
  private readonly heap: Int32Array;
  private size = 0;
  private readonly inHeap: Uint8Array;
  /** Agents that have completed round r, for rounds some but not all have completed. */
  private readonly completed = new Map<number, number>();

  constructor(
    private readonly m: number,
    neighbours: ReadonlyArray<ReadonlyArray<number>>,
    done: number,
  ) {
    this.done = new Float64Array(m).fill(done);
    const sets = Array.from({ length: m }, (_, i) => new Set<number>(neighbours[i]));
    for (let i = 0; i < m; i++) for (const j of neighbours[i]!) sets[j]!.add(i);
    this.sym = sets.map((set) => Int32Array.from([...set].filter((j) => j >= 0 && j < m)));
    this.heap = new Int32Array(m);
    this.inHeap = new Uint8Array(m);
  }

  /** Puts agent i in the heap if its next round is complete (it and all its neighbours sent it) and it is not there yet. */
  offer(i: number, sent: ReadonlyArray<number>): void {
    if (this.inHeap[i]) return;
    const r = this.done[i]! + 1;
    if (sent[i]! < r) return;
    const sym = this.sym[i]!;
    for (let k = 0; k < sym.length; k++) if (sent[sym[k]!]! < r) return;
    this.inHeap[i] = 1;
    let at = this.size++;
    while (at > 0) {
      const up = (at - 1) >> 1;
      if (!this.before(i, this.heap[up]!)) break;
      this.heap[at] = this.heap[up]!;
      at = up;
    }
    this.heap[at] = i;
  }

  /** Removes and returns the first ready agent, or −1. */
  pop(): number {
    if (this.size === 0) return -1;
    const top = this.heap[0]!;
    this.inHeap[top] = 0;
    const last = this.heap[--this.size]!;
    let at = 0;
    for (;;) {
      const l = 2 * at + 1;
      if (l >= this.size) break;
      const r = l + 1;
      const child = r < this.size && this.before(this.heap[r]!, this.heap[l]!) ? r : l;
      if (!this.before(this.heap[child]!, last)) break;
      this.heap[at] = this.heap[child]!;
      at = child;
    }
    if (this.size > 0) this.heap[at] = last;
    return top;
  }

  /** Whether agent a's next round comes before agent b's: by block of rounds, skewed tile, round, id. */
  private before(a: number, b: number): boolean {
    const ra = this.done[a]!;
    const rb = this.done[b]!;
    const blockA = Math.floor(ra / TILE_ROUNDS);
    const blockB = Math.floor(rb / TILE_ROUNDS);
    if (blockA !== blockB) return blockA < blockB;
    const tileA = Math.floor((a + (ra % TILE_ROUNDS)) / TILE_AGENTS);
    const tileB = Math.floor((b + (rb % TILE_ROUNDS)) / TILE_AGENTS);
    if (tileA !== tileB) return tileA < tileB;
    if (ra !== rb) return ra < rb;
    return a < b;
  }

  /** Counts one more agent through round r; true when that was the last one. */
  roundCompleted(r: number): boolean {
    const n = (this.completed.get(r) ?? 0) + 1;
    if (n === this.m) {
      this.completed.delete(r);
      return true;
    }
    this.completed.set(r, n);
    return false;
  }
}
