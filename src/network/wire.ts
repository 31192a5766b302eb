/**
 * Wire rounding. Payloads travel at `bytesPerFloat`: 8 → float64 (exact),
 * 4 → float32 (round to nearest, as the papers' PyTorch code sent them). Every
 * transport applies the same rounding — the simulator included — so that a
 * config gives the same iterates whatever carries its messages. An agent's own
 * term in a mixing step uses its unrounded value: only received values went
 * through the wire.
 */
import type { Vec } from '../linalg/vector.ts';

export type BytesPerFloat = 4 | 8;

export function checkBytesPerFloat(b: number): BytesPerFloat {
  if (b !== 4 && b !== 8) throw new RangeError(`bytesPerFloat must be 4 or 8, got ${b}`);
  return b;
}

/**
 * out ← payload as it arrives after the wire: a float64 copy for 8 bytes per
 * float, each value rounded to float32 for 4 (Math.fround, in one pass).
 */
export function roundThroughWire(payload: Vec, out: Vec, bytesPerFloat: BytesPerFloat): void {
  if (bytesPerFloat === 8) {
    out.set(payload);
    return;
  }
  // Math.fround rounds to the nearest float32 exactly as a Float32Array store does.
  for (let i = 0; i < payload.length; i++) out[i] = Math.fround(payload[i]!);
}
