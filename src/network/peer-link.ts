/**
 * An agent's link over real connections: one frame per neighbour per round
 * (frame.ts), received frames checked and kept per round until the agent's
 * exchange for that round collects them. It knows nothing of sockets: a
 * transport hands it one `send` function per neighbour and feeds it the frame
 * bodies that arrive on each neighbour's authenticated connection.
 *
 * Lockstep bounds what can legally arrive: a neighbour can be at most one
 * round ahead (it needs this agent's round r to finish its own round r and
 * send r + 1), so a frame for a round this agent already completed, or for one
 * beyond the round after its pending one, is rejected, as is a second frame
 * for a round, one of the wrong size, type, version, width or sender. Rejected
 * frames are counted and reported through `onReject`; nothing of them is used.
 */
import type { Vec } from '../linalg/vector.ts';
import type { CommCounters } from '../runtime/types.ts';
import { decodeDataFrame, encodeDataFrame, FrameError, readPayload, type DataFrame } from './frame.ts';
import type { AgentLink } from './link.ts';
import type { BytesPerFloat } from './wire.ts';

export interface PeerLinkOptions {
  readonly id: number;
  readonly m: number;
  /** Neighbour ids, ascending. */
  readonly neighbours: ReadonlyArray<number>;
  readonly selfWeight: number;
  readonly neighbourWeights: ReadonlyArray<number>;
  readonly bytesPerFloat: BytesPerFloat;
  /** Largest payload accepted, in floats. */
  readonly maxFloats: number;
  /** Called for every rejected frame (sender's agent id, reason). */
  readonly onReject?: (from: number, reason: string) => void;
}

/** Sends one encoded frame (length prefix included); may resolve later under backpressure. */
export type FrameSender = (frame: Uint8Array) => void | Promise<void>;

const MAX_CANDIDATES_PER_ROUND = 4;

export class PeerLink implements AgentLink {
  readonly id: number;
  readonly neighbours: ReadonlyArray<number>;
  selfWeight: number;
  neighbourWeights: ReadonlyArray<number>;
  readonly counters: CommCounters = { rounds: 0, messages: 0, floats: 0, bytes: 0, wireBytes: 0 };
  rejected = 0;
  private readonly senders = new Map<number, FrameSender>();
  /** Per neighbour (index into `neighbours`): received frames by round, a few candidates each. */
  private readonly inbox: Array<Map<number, DataFrame[]>>;
  /** Per neighbour, two receive buffers (round parity). */
  private readonly buffers: Float64Array[][];
  private readonly received: Vec[][];
  private sent = 0;
  private completed = 0;
  private waiting: { round: number; length: number; resolve: (v: ReadonlyArray<Vec>) => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;

  constructor(private readonly o: PeerLinkOptions) {
    this.id = o.id;
    this.neighbours = o.neighbours;
    this.selfWeight = o.selfWeight;
    this.neighbourWeights = o.neighbourWeights;
    this.inbox = o.neighbours.map(() => new Map());
    this.buffers = o.neighbours.map(() => [new Float64Array(0), new Float64Array(0)]);
    this.received = [[], []];
  }

  /** Rounds whose exchange completed. */
  get round(): number {
    return this.completed;
  }

  /** Sets where frames to neighbour `j` go. */
  connect(j: number, send: FrameSender): void {
    if (this.o.neighbours.indexOf(j) < 0) throw new Error(`agent ${j} is not a neighbour of agent ${this.id}`);
    this.senders.set(j, send);
  }

  /** Stops every pending and later exchange with `error` (a lost connection, a closed transport). */
  fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    const w = this.waiting;
    this.waiting = null;
    w?.reject(error);
  }

  /**
   * A frame body from neighbour `from`'s connection. Never throws: a bad
   * frame is rejected (counted, reported) and dropped.
   */
  receive(from: number, body: Uint8Array): void {
    const k = this.o.neighbours.indexOf(from);
    if (k < 0) return this.reject(from, `agent ${from} is not a neighbour`);
    let frame: DataFrame;
    try {
      frame = decodeDataFrame(body, { sender: from, bytesPerFloat: this.o.bytesPerFloat, maxFloats: this.o.maxFloats, maxDegree: this.o.m - 1 });
    } catch (e) {
      return this.reject(from, e instanceof FrameError ? e.message : String(e));
    }
    if (frame.round < this.completed || frame.round > this.sent) return this.reject(from, `frame for round ${frame.round} outside the open rounds ${this.completed}…${this.sent}`);
    const byRound = this.inbox[k]!;
    const list = byRound.get(frame.round) ?? [];
    if (list.length >= MAX_CANDIDATES_PER_ROUND) return this.reject(from, `too many frames for round ${frame.round}`);
    if (this.waiting && frame.round === this.waiting.round && frame.count !== this.waiting.length) return this.reject(from, `payload of ${frame.count} floats in round ${frame.round}, expected ${this.waiting.length}`);
    list.push(frame);
    byRound.set(frame.round, list);
    this.tryComplete();
  }

  private reject(from: number, reason: string): void {
    this.rejected++;
    this.o.onReject?.(from, reason);
  }

  async exchange(payload: Vec): Promise<ReadonlyArray<Vec>> {
    if (this.failure) throw this.failure;
    if (this.waiting) throw new Error(`agent ${this.id}: exchange called while round ${this.waiting.round} is pending`);
    const round = this.sent;
    const degree = this.neighbours.length;
    const frame = encodeDataFrame(this.id, round, degree, payload, this.o.bytesPerFloat);
    this.sent++;
    const c = this.counters;
    c.messages += degree;
    c.floats += degree * payload.length;
    c.bytes += degree * payload.length * this.o.bytesPerFloat;
    const done = new Promise<ReadonlyArray<Vec>>((resolve, reject) => {
      this.waiting = { round, length: payload.length, resolve, reject };
    });
    // Drop earlier candidates of this round with the wrong size, now that it is known.
    this.inbox.forEach((byRound, k) => {
      const list = byRound.get(round);
      if (!list) return;
      const ok = list.filter((f) => f.count === payload.length);
      for (const f of list) if (f.count !== payload.length) this.reject(this.neighbours[k]!, `payload of ${f.count} floats in round ${round}, expected ${payload.length}`);
      if (ok.length > 0) byRound.set(round, ok);
      else byRound.delete(round);
    });
    const sends: Array<void | Promise<void>> = [];
    for (const j of this.neighbours) {
      const send = this.senders.get(j);
      if (!send) throw new Error(`agent ${this.id}: no connection to neighbour ${j}`);
      sends.push(send(frame));
    }
    this.tryComplete();
    await Promise.all(sends);
    return done;
  }

  private tryComplete(): void {
    const w = this.waiting;
    if (!w) return;
    for (let k = 0; k < this.inbox.length; k++) if (!this.inbox[k]!.has(w.round)) return;
    const parity = w.round & 1;
    const out = this.received[parity]!;
    out.length = this.inbox.length;
    for (let k = 0; k < this.inbox.length; k++) {
      const byRound = this.inbox[k]!;
      const frame = byRound.get(w.round)![0]!;
      byRound.delete(w.round);
      let buf = this.buffers[k]![parity]!;
      if (buf.length !== w.length) {
        buf = new Float64Array(w.length);
        this.buffers[k]![parity] = buf;
      }
      readPayload(frame, buf);
      out[k] = buf;
    }
    this.waiting = null;
    this.completed++;
    this.counters.rounds = this.completed;
    w.resolve(out);
  }
}
