/**
 * The wire format of one gossip message between two agents.
 *
 * A frame travels after a 4-byte little-endian length prefix (the frame's
 * own length in bytes) and reads, little-endian:
 *
 *   offset  size  field
 *   0       1     version (1)
 *   1       1     type (1 = data, 2 = view-change notice, 3 = waiting)
 *   2       1     bytesPerFloat (4 → float32, 8 → float64)
 *   3       1     reserved (0)
 *   4       4     sender agent id
 *   8       4     round (the sender's communication round, from 0)
 *   12      4     sender degree (live neighbours when it sent; used to reweight after faults)
 *   16      4     count of payload floats
 *   20      …     payload, count × bytesPerFloat bytes
 *
 * A view-change notice (type 2) has the same header with no payload (count
 * 0); its round field is the communication round at whose end every agent
 * resets its algorithm's invariants after an agent or link left the run
 * (peer-link.ts). A waiting frame (type 3, no payload) says that its sender
 * is blocked in round `round` waiting for its own neighbours: it keeps a
 * sender that is stalled by others from being declared gone. Decoding checks every field against what the receiver
 * expects and throws a FrameError naming the first mismatch; nothing of a
 * rejected frame is used.
 */
import type { Vec } from '../linalg/vector.ts';
import type { BytesPerFloat } from './wire.ts';

export const FRAME_VERSION = 1;
export const FRAME_DATA = 1;
export const FRAME_NOTICE = 2;
export const FRAME_WAITING = 3;
export const FRAME_HEADER_BYTES = 20;
export const LENGTH_PREFIX_BYTES = 4;

export class FrameError extends Error {
  override readonly name = 'FrameError';
}

export interface DataFrame {
  /** FRAME_DATA, or FRAME_NOTICE (no payload; `round` is the reset round). */
  readonly type: number;
  readonly sender: number;
  readonly round: number;
  readonly degree: number;
  readonly bytesPerFloat: BytesPerFloat;
  /** Payload bytes (little-endian floats), a view into the received buffer. */
  readonly payload: Uint8Array;
  readonly count: number;
}

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('dbo frames assume a little-endian machine');

/**
 * Encodes a data frame with its length prefix. Values are written at
 * `bytesPerFloat` (float32 rounds to nearest), so the receiver decodes
 * exactly what the simulator's wire rounding gives.
 */
export function encodeDataFrame(sender: number, round: number, degree: number, payload: Vec, bytesPerFloat: BytesPerFloat, type: number = FRAME_DATA): Uint8Array {
  const bodyBytes = FRAME_HEADER_BYTES + payload.length * bytesPerFloat;
  const buf = new Uint8Array(LENGTH_PREFIX_BYTES + bodyBytes);
  const dv = new DataView(buf.buffer);
  dv.setUint32(0, bodyBytes, true);
  const h = LENGTH_PREFIX_BYTES;
  dv.setUint8(h, FRAME_VERSION);
  dv.setUint8(h + 1, type);
  dv.setUint8(h + 2, bytesPerFloat);
  dv.setUint8(h + 3, 0);
  dv.setUint32(h + 4, sender, true);
  dv.setUint32(h + 8, round, true);
  dv.setUint32(h + 12, degree, true);
  dv.setUint32(h + 16, payload.length, true);
  const start = h + FRAME_HEADER_BYTES; // 24: aligned for both widths
  if (bytesPerFloat === 8) new Float64Array(buf.buffer, start, payload.length).set(payload);
  else new Float32Array(buf.buffer, start, payload.length).set(payload);
  return buf;
}

/** What a receiver accepts from one neighbour. */
export interface FrameExpectation {
  readonly sender: number;
  readonly bytesPerFloat: BytesPerFloat;
  /** Largest payload accepted, in floats. */
  readonly maxFloats: number;
  /** Largest degree a sender can have (m − 1). */
  readonly maxDegree: number;
}

/** Decodes one frame body (without its length prefix), checking it against `expect`. */
export function decodeDataFrame(body: Uint8Array, expect: FrameExpectation): DataFrame {
  if (body.length < FRAME_HEADER_BYTES) throw new FrameError(`frame of ${body.length} bytes is shorter than the ${FRAME_HEADER_BYTES}-byte header`);
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const version = dv.getUint8(0);
  if (version !== FRAME_VERSION) throw new FrameError(`unknown frame version ${version}`);
  const type = dv.getUint8(1);
  if (type !== FRAME_DATA && type !== FRAME_NOTICE && type !== FRAME_WAITING) throw new FrameError(`unknown frame type ${type}`);
  const bpf = dv.getUint8(2);
  if (bpf !== expect.bytesPerFloat) throw new FrameError(`frame at ${bpf} bytes per float, expected ${expect.bytesPerFloat}`);
  if (dv.getUint8(3) !== 0) throw new FrameError('reserved header byte is not 0');
  const sender = dv.getUint32(4, true);
  if (sender !== expect.sender) throw new FrameError(`frame claims sender ${sender} on agent ${expect.sender}'s connection`);
  const round = dv.getUint32(8, true);
  const degree = dv.getUint32(12, true);
  if (degree < 1 || degree > expect.maxDegree) throw new FrameError(`sender degree ${degree} outside 1…${expect.maxDegree}`);
  const count = dv.getUint32(16, true);
  if (count > expect.maxFloats) throw new FrameError(`payload of ${count} floats exceeds the limit of ${expect.maxFloats}`);
  if (type !== FRAME_DATA && count !== 0) throw new FrameError(`${type === FRAME_NOTICE ? 'view-change notice' : 'waiting frame'} with a payload of ${count} floats`);
  if (body.length !== FRAME_HEADER_BYTES + count * bpf) throw new FrameError(`frame of ${body.length} bytes does not hold ${count} floats at ${bpf} bytes`);
  return { type, sender, round, degree, bytesPerFloat: bpf, count, payload: body.subarray(FRAME_HEADER_BYTES) };
}

/** A view-change notice: reset at the end of communication round `resetRound` (no payload). */
export function encodeNoticeFrame(sender: number, resetRound: number, degree: number, bytesPerFloat: BytesPerFloat): Uint8Array {
  return encodeDataFrame(sender, resetRound, degree, new Float64Array(0), bytesPerFloat, FRAME_NOTICE);
}

/** A waiting frame: the sender is blocked in `round` on its other neighbours (no payload). */
export function encodeWaitingFrame(sender: number, round: number, degree: number, bytesPerFloat: BytesPerFloat): Uint8Array {
  return encodeDataFrame(sender, round, degree, new Float64Array(0), bytesPerFloat, FRAME_WAITING);
}

/** out ← the frame's payload as float64 (exact for both widths). */
export function readPayload(frame: DataFrame, out: Vec): void {
  if (out.length !== frame.count) throw new FrameError(`payload of ${frame.count} floats, expected ${out.length}`);
  const bytes = frame.payload;
  if (frame.bytesPerFloat === 8) new Uint8Array(out.buffer, out.byteOffset, frame.count * 8).set(bytes);
  else {
    const f32 = new Float32Array(frame.count);
    new Uint8Array(f32.buffer).set(bytes);
    out.set(f32);
  }
}

/**
 * Splits a byte stream into length-prefixed frame bodies. A prefix larger than
 * `maxBodyBytes` cannot be resynchronized, so it poisons the stream (`push`
 * throws and every later call throws too).
 */
export class FrameSplitter {
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private broken: string | null = null;

  constructor(readonly maxBodyBytes: number) {}

  /** Appends bytes and returns every complete frame body they finish. */
  push(bytes: Uint8Array): Uint8Array[] {
    if (this.broken) throw new FrameError(this.broken);
    if (bytes.length > 0) {
      this.chunks.push(bytes);
      this.buffered += bytes.length;
    }
    const out: Uint8Array[] = [];
    for (;;) {
      if (this.buffered < LENGTH_PREFIX_BYTES) break;
      const head = this.peek(LENGTH_PREFIX_BYTES);
      const len = new DataView(head.buffer, head.byteOffset, 4).getUint32(0, true);
      if (len > this.maxBodyBytes) {
        this.broken = `length prefix of ${len} bytes exceeds the ${this.maxBodyBytes}-byte frame limit`;
        throw new FrameError(this.broken);
      }
      if (this.buffered < LENGTH_PREFIX_BYTES + len) break;
      this.take(LENGTH_PREFIX_BYTES);
      out.push(this.take(len));
    }
    return out;
  }

  private peek(n: number): Uint8Array {
    const first = this.chunks[0]!;
    if (first.length >= n) return first.subarray(0, n);
    return this.gather(n, false);
  }

  private take(n: number): Uint8Array {
    const first = this.chunks[0]!;
    if (first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      // Copy so the body owns an aligned buffer of its own.
      return out.slice();
    }
    return this.gather(n, true);
  }

  private gather(n: number, consume: boolean): Uint8Array {
    const out = new Uint8Array(n);
    let filled = 0;
    let k = 0;
    while (filled < n) {
      const c = this.chunks[k]!;
      const use = Math.min(c.length, n - filled);
      out.set(c.subarray(0, use), filled);
      filled += use;
      if (consume) {
        if (use === c.length) this.chunks.shift();
        else {
          this.chunks[0] = c.subarray(use);
          k = 0;
        }
      } else k++;
    }
    if (consume) this.buffered -= n;
    return out;
  }
}
