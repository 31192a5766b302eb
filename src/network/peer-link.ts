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
 *
 * Faults (docs/faults.md). A neighbour whose connection closes, or from
 * which nothing at all arrives for `roundTimeoutMs` while this agent waits for
 * its frame, is declared gone from the first round for which none of its
 * frames arrived. An agent that waits longer than a quarter of the timeout
 * tells its neighbours so (waiting frames), so that a stall spreading from a
 * fault elsewhere does not get its neighbours declared gone too; a silent
 * neighbour is one that is not even waiting (crashed, cut off, or stuck in
 * its own computation);
 * the transport is told (`onGone`, it closes the connection so that the
 * other end declares this agent gone from the same round). Every frame
 * carries its sender's degree when it sent it, and the weights of a round
 * are recomputed locally from those advertised degrees:
 *   w_ij = configured w_ij   while both i and j advertise their original degree,
 *   w_ij = 1/(1 + max(d_i, d_j))   (Metropolis) once either does not,
 *   w_ii = 1 − Σ_j w_ij   over the neighbours that took part in the round.
 * Both ends of an edge see the same two advertised degrees, so the matrix
 * stays symmetric; rows sum to one by construction, so it stays doubly
 * stochastic; and a departed neighbour's weight goes to the agent itself.
 * An agent that declares a neighbour gone also schedules a reset of the
 * algorithm's invariants (gradient trackers) at the end of round
 * r_gone + m and floods that round to every agent in view-change notices
 * (frame type 2): a notice travels at least one hop per round and the
 * survivors' graph has diameter < m, so every survivor knows it before it
 * gets there, and all survivors reset at the same iteration boundary.
 */
import type { Vec } from '../linalg/vector.ts';
import type { CommCounters } from '../runtime/types.ts';
import { performance } from 'node:perf_hooks';
import { decodeDataFrame, encodeDataFrame, encodeNoticeFrame, encodeWaitingFrame, FRAME_NOTICE, FRAME_WAITING, FrameError, readPayload, type DataFrame } from './frame.ts';
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
  /** Every agent's degree in the configured graph (index = agent id); default: no reweighting knowledge, i.e. this agent's own degree for all. */
  readonly degrees?: ReadonlyArray<number>;
  /** A neighbour whose frame for the pending round is this late is declared gone (default: never). */
  readonly roundTimeoutMs?: number;
  /** A neighbour was declared gone from `round` on (the transport should close its connection). */
  readonly onGone?: (neighbour: number, round: number, reason: string) => void;
  /** This agent's mixing row changed from `round` on (the neighbours that took part, their weights, the self weight). */
  readonly onWeights?: (round: number, neighbours: ReadonlyArray<number>, weights: ReadonlyArray<number>, self: number) => void;
  /** A reset of the algorithm's invariants at the end of round `round` became known (from a departure here or a neighbour's notice). */
  readonly onResetScheduled?: (round: number, from: number | null) => void;
}

/** Sends one encoded frame (length prefix included); may resolve later under backpressure. */
export type FrameSender = (frame: Uint8Array) => void | Promise<void>;

const MAX_CANDIDATES_PER_ROUND = 4;

export class PeerLink implements AgentLink {
  readonly id: number;
  /** The neighbours that took part in the last completed round (all of them before the first). */
  neighbours: ReadonlyArray<number>;
  selfWeight: number;
  neighbourWeights: ReadonlyArray<number>;
  readonly counters: CommCounters = { rounds: 0, messages: 0, floats: 0, bytes: 0, wireBytes: 0 };
  rejected = 0;
  private readonly senders = new Map<number, FrameSender>();
  /** The configured neighbours (indices k below refer to this list). */
  private readonly all: ReadonlyArray<number>;
  /** Per configured neighbour: the first round it no longer takes part in (Infinity while in view). */
  private readonly goneFrom: number[];
  /** Per configured neighbour: the last round it sent a frame for (−1 before any). */
  private readonly lastRound: number[];
  /** Neighbours whose frames are dropped on the way out (an injected partition). */
  private readonly blocked = new Set<number>();
  /** Per configured neighbour: received frames by round, a few candidates each. */
  private readonly inbox: Array<Map<number, DataFrame[]>>;
  /** Per configured neighbour, two receive buffers (round parity). */
  private readonly buffers: Float64Array[][];
  private readonly received: Vec[][];
  private sent = 0;
  private completed = 0;
  private waiting: { round: number; length: number; degree: number; resolve: (v: ReadonlyArray<Vec>) => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  /** Per configured neighbour: when anything (data, notice, waiting frame) last arrived from it. */
  private readonly lastHeard: number[];
  /** Rounds at whose end the algorithm's invariants are reset (scheduled, not yet passed). */
  private readonly resets = new Set<number>();
  private lastRow: string;

  constructor(private readonly o: PeerLinkOptions) {
    this.id = o.id;
    this.all = o.neighbours;
    this.neighbours = o.neighbours;
    this.selfWeight = o.selfWeight;
    this.neighbourWeights = o.neighbourWeights;
    this.goneFrom = o.neighbours.map(() => Infinity);
    this.lastRound = o.neighbours.map(() => -1);
    this.lastHeard = o.neighbours.map(() => -Infinity);
    this.inbox = o.neighbours.map(() => new Map());
    this.buffers = o.neighbours.map(() => [new Float64Array(0), new Float64Array(0)]);
    this.received = [[], []];
    this.lastRow = `${o.neighbours.join(',')}|${o.neighbourWeights.join(',')}`;
  }

  /** Rounds whose exchange completed. */
  get round(): number {
    return this.completed;
  }

  /** Neighbours still in this agent's view, ascending. */
  get live(): number[] {
    return this.all.filter((_, k) => this.goneFrom[k] === Infinity);
  }

  /** The configured neighbours that have left this agent's view. */
  get departed(): number[] {
    return this.all.filter((_, k) => this.goneFrom[k] !== Infinity);
  }

  /** Sets where frames to neighbour `j` go. */
  connect(j: number, send: FrameSender): void {
    if (this.all.indexOf(j) < 0) throw new Error(`agent ${j} is not a neighbour of agent ${this.id}`);
    this.senders.set(j, send);
  }

  /** Stops every pending and later exchange with `error` (a closed transport). */
  fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    this.clearTimer();
    const w = this.waiting;
    this.waiting = null;
    w?.reject(error);
  }

  /** Drops (true) or lets through (false) this agent's frames to neighbour `j`: an injected partition of the link. */
  block(j: number, on: boolean): void {
    if (on) this.blocked.add(j);
    else this.blocked.delete(j);
  }

  /**
   * Declares neighbour `j` gone: from the first round none of its frames
   * arrived for, it takes no part in this agent's rounds. Idempotent.
   */
  gone(j: number, reason: string): void {
    const k = this.all.indexOf(j);
    if (k < 0 || this.goneFrom[k] !== Infinity || this.failure) return;
    const from = Math.max(this.completed, this.lastRound[k]! + 1);
    this.goneFrom[k] = from;
    for (const r of [...this.inbox[k]!.keys()]) if (r >= from) this.inbox[k]!.delete(r);
    // A message counts only for a round both ends took part in. When this
    // agent already sent its frame of a round j no longer takes part in (the
    // departure was noticed after the send), take it back out, so that the
    // counters do not depend on whether the departure was noticed before or
    // after the send: at most one round is open at a time.
    const w = this.waiting;
    if (w && w.round >= from) {
      const c = this.counters;
      c.messages -= 1;
      c.floats -= w.length;
      c.bytes -= w.length * this.o.bytesPerFloat;
    }
    this.o.onGone?.(j, from, reason);
    this.schedule(from + this.o.m, null);
    this.tryComplete();
  }

  /** Reset rounds that are due once `round` rounds have completed (removed from the schedule). */
  takeResets(): number[] {
    const due = [...this.resets].filter((r) => r <= this.completed).sort((a, b) => a - b);
    for (const r of due) this.resets.delete(r);
    return due;
  }

  private schedule(resetRound: number, from: number | null): void {
    if (this.resets.has(resetRound)) return;
    this.resets.add(resetRound);
    this.o.onResetScheduled?.(resetRound, from);
    const frame = encodeNoticeFrame(this.id, resetRound, Math.max(1, this.live.length), this.o.bytesPerFloat);
    for (const j of this.live) if (j !== from) void this.sendTo(j, frame);
  }

  /** Never throws: a neighbour without a working connection misses the frame and is declared gone by its silence or closed connection. */
  private sendTo(j: number, frame: Uint8Array): void | Promise<void> {
    if (this.blocked.has(j)) return;
    const send = this.senders.get(j);
    if (!send) return;
    try {
      const r = send(frame);
      // A connection that fails while sending is reported by the transport (onLost); nothing to do here.
      if (r instanceof Promise) return r.catch(() => {});
    } catch {
      // as above
    }
  }

  /**
   * A frame body from neighbour `from`'s connection. Never throws: a bad
   * frame is rejected (counted, reported) and dropped.
   */
  receive(from: number, body: Uint8Array): void {
    const k = this.all.indexOf(from);
    if (k < 0) return this.reject(from, `agent ${from} is not a neighbour`);
    let frame: DataFrame;
    try {
      frame = decodeDataFrame(body, { sender: from, bytesPerFloat: this.o.bytesPerFloat, maxFloats: this.o.maxFloats, maxDegree: this.o.m - 1 });
    } catch (e) {
      return this.reject(from, e instanceof FrameError ? e.message : String(e));
    }
    if (this.goneFrom[k] !== Infinity) return this.reject(from, `agent ${from} has left this agent's view`);
    this.lastHeard[k] = performance.now();
    if (frame.type === FRAME_WAITING) return;
    if (frame.type === FRAME_NOTICE) {
      if (frame.round <= this.completed || frame.round > this.completed + 2 * this.o.m + 2) return this.reject(from, `view-change notice for round ${frame.round} outside ${this.completed + 1}…${this.completed + 2 * this.o.m + 2}`);
      this.schedule(frame.round, from);
      return;
    }
    if (frame.round < this.completed || frame.round > this.sent) return this.reject(from, `frame for round ${frame.round} outside the open rounds ${this.completed}…${this.sent}`);
    const byRound = this.inbox[k]!;
    const list = byRound.get(frame.round) ?? [];
    if (list.length >= MAX_CANDIDATES_PER_ROUND) return this.reject(from, `too many frames for round ${frame.round}`);
    if (this.waiting && frame.round === this.waiting.round && frame.count !== this.waiting.length) return this.reject(from, `payload of ${frame.count} floats in round ${frame.round}, expected ${this.waiting.length}`);
    list.push(frame);
    byRound.set(frame.round, list);
    if (frame.round > this.lastRound[k]!) this.lastRound[k] = frame.round;
    this.tryComplete();
  }

  private reject(from: number, reason: string): void {
    this.rejected++;
    this.o.onReject?.(from, reason);
  }

  /** Whether configured neighbour k takes part in `round`. */
  private inRound(k: number, round: number): boolean {
    return round < this.goneFrom[k]!;
  }

  async exchange(payload: Vec): Promise<ReadonlyArray<Vec>> {
    if (this.failure) throw this.failure;
    if (this.waiting) throw new Error(`agent ${this.id}: exchange called while round ${this.waiting.round} is pending`);
    const round = this.sent;
    const targets = this.all.filter((_, k) => this.inRound(k, round));
    const degree = targets.length;
    const frame = degree > 0 ? encodeDataFrame(this.id, round, degree, payload, this.o.bytesPerFloat) : null;
    this.sent++;
    const c = this.counters;
    c.messages += degree;
    c.floats += degree * payload.length;
    c.bytes += degree * payload.length * this.o.bytesPerFloat;
    const done = new Promise<ReadonlyArray<Vec>>((resolve, reject) => {
      this.waiting = { round, length: payload.length, degree, resolve, reject };
    });
    // Drop earlier candidates of this round with the wrong size, now that it is known.
    this.inbox.forEach((byRound, k) => {
      const list = byRound.get(round);
      if (!list) return;
      const ok = list.filter((f) => f.count === payload.length);
      for (const f of list) if (f.count !== payload.length) this.reject(this.all[k]!, `payload of ${f.count} floats in round ${round}, expected ${payload.length}`);
      if (ok.length > 0) byRound.set(round, ok);
      else byRound.delete(round);
    });
    const sends: Array<void | Promise<void>> = [];
    for (const j of targets) {
      if (!this.senders.has(j)) throw new Error(`agent ${this.id}: no connection to neighbour ${j}`);
      sends.push(this.sendTo(j, frame!));
    }
    this.tryComplete();
    if (this.pendingRound() === round) this.startTimer(round);
    await Promise.all(sends);
    return done;
  }

  private pendingRound(): number | null {
    return this.waiting ? this.waiting.round : null;
  }

  /**
   * While round `round` is pending: every quarter of the timeout, tell the
   * neighbours this agent is waiting, and declare gone each neighbour whose
   * frame is missing and from which nothing arrived for the whole timeout.
   */
  private startTimer(round: number): void {
    const ms = this.o.roundTimeoutMs;
    if (ms === undefined || !Number.isFinite(ms)) return;
    this.clearTimer();
    const since = performance.now();
    this.timer = setInterval(() => {
      const w = this.waiting;
      if (!w || w.round !== round) return this.clearTimer();
      const waiting = encodeWaitingFrame(this.id, round, Math.max(1, w.degree), this.o.bytesPerFloat);
      for (let k = 0; k < this.all.length; k++) if (this.inRound(k, round)) void this.sendTo(this.all[k]!, waiting);
      // Let frames that arrived meanwhile (I/O is read after timers) count first.
      setImmediate(() => {
        if (this.waiting?.round !== round) return;
        const now = performance.now();
        for (let k = 0; k < this.all.length; k++) {
          if (!this.inRound(k, round) || this.inbox[k]!.has(round)) continue;
          if (now - Math.max(since, this.lastHeard[k]!) >= ms) this.gone(this.all[k]!, `silent for roundTimeoutMs = ${ms} ms in round ${round}`);
        }
      });
    }, Math.max(1, ms / 4));
  }

  private clearTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private tryComplete(): void {
    const w = this.waiting;
    if (!w) return;
    for (let k = 0; k < this.inbox.length; k++) if (this.inRound(k, w.round) && !this.inbox[k]!.has(w.round)) return;
    this.clearTimer();
    const parity = w.round & 1;
    const out = this.received[parity]!;
    out.length = 0;
    const ids: number[] = [];
    const weights: number[] = [];
    const degrees = this.o.degrees;
    const myDegree0 = degrees ? degrees[this.id]! : this.all.length;
    let sum = 0;
    for (let k = 0; k < this.inbox.length; k++) {
      if (!this.inRound(k, w.round)) continue;
      const j = this.all[k]!;
      const byRound = this.inbox[k]!;
      const frame = byRound.get(w.round)![0]!;
      byRound.delete(w.round);
      let buf = this.buffers[k]![parity]!;
      if (buf.length !== w.length) {
        buf = new Float64Array(w.length);
        this.buffers[k]![parity] = buf;
      }
      readPayload(frame, buf);
      out.push(buf);
      ids.push(j);
      const original = w.degree === myDegree0 && frame.degree === (degrees ? degrees[j]! : frame.degree);
      const wij = original ? this.o.neighbourWeights[k]! : 1 / (1 + Math.max(w.degree, frame.degree));
      weights.push(wij);
      sum += wij;
    }
    this.neighbours = ids;
    this.neighbourWeights = weights;
    this.selfWeight = ids.length === this.all.length && weights.every((v, k) => v === this.o.neighbourWeights[k]) ? this.o.selfWeight : 1 - sum;
    const row = `${ids.join(',')}|${weights.join(',')}`;
    if (row !== this.lastRow) {
      this.o.onWeights?.(w.round, ids, weights, this.selfWeight);
      this.lastRow = row;
    }
    this.waiting = null;
    this.completed++;
    this.counters.rounds = this.completed;
    w.resolve(out);
  }
}
