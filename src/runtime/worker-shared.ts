/**
 * Shared memory of the worker-thread runtime: one payload slot per agent and
 * round parity in a SharedArrayBuffer, the payload lengths, and a control
 * block with the barrier and each worker's per-iteration report. Payloads
 * never travel by message: a sender writes its slot, every worker meets at
 * one barrier per communication round, and receivers read their neighbours'
 * slots in place.
 */

/**
 * Control words: barrier arrivals, barrier generation, abort flag, stop
 * request (set by the parent on Ctrl-C / SIGTERM), then per worker two report
 * words (one per iteration parity).
 */
export const CTRL_COUNT = 0;
export const CTRL_GEN = 1;
export const CTRL_ABORT = 2;
export const CTRL_STOP = 3;
export const CTRL_WORKERS = 4;

/** Report words: −1 nothing to report, −2 stop requested, ≥ 0 the id of an agent whose iterate is non-finite. */
export const REPORT_NONE = -1;
export const REPORT_STOP = -2;

export interface SharedLayout {
  readonly m: number;
  readonly workers: number;
  /** Floats per payload slot. */
  readonly capacity: number;
  readonly payload: SharedArrayBuffer;
  readonly lengths: SharedArrayBuffer;
  readonly control: SharedArrayBuffer;
}

/**
 * Slot capacity for a run: room for eight blocks of the largest of d_x and
 * d_y (every registered algorithm sends at most six), plus a margin. A larger
 * payload is an error naming the sizes, never a silent truncation.
 */
export function slotCapacity(dx: number, dy: number): number {
  return 8 * Math.max(dx, dy) + 64;
}

export function allocateShared(m: number, workers: number, capacity: number): SharedLayout {
  return {
    m,
    workers,
    capacity,
    payload: new SharedArrayBuffer(m * 2 * capacity * 8),
    lengths: new SharedArrayBuffer(m * 2 * 4),
    control: new SharedArrayBuffer((CTRL_WORKERS + 2 * workers) * 4),
  };
}

/**
 * Sense-counting barrier over `parties` threads: the last to arrive resets
 * the count, advances the generation and wakes the others. Atomics give the
 * happens-before edge, so slot writes before the barrier are visible after it.
 */
export function barrier(ctrl: Int32Array, parties: number): void {
  const gen = Atomics.load(ctrl, CTRL_GEN);
  if (Atomics.add(ctrl, CTRL_COUNT, 1) === parties - 1) {
    Atomics.store(ctrl, CTRL_COUNT, 0);
    Atomics.add(ctrl, CTRL_GEN, 1);
    Atomics.notify(ctrl, CTRL_GEN);
    return;
  }
  // A short spin catches partners that are microseconds behind without a futex round trip.
  for (let spin = 0; spin < 2000; spin++) if (Atomics.load(ctrl, CTRL_GEN) !== gen) return;
  while (Atomics.load(ctrl, CTRL_GEN) === gen) {
    if (Atomics.load(ctrl, CTRL_ABORT) !== 0) throw new Error('worker runtime: another worker failed');
    Atomics.wait(ctrl, CTRL_GEN, gen, 1000);
  }
}
