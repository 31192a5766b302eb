/**
 * Explicit second-derivative matrices, for the algorithms that form or
 * communicate them (DSBO, Gossip-DSBO, L-PDBO's Hessian count). Built column
 * by column from the matrix-free products, so they are exactly consistent
 * with HVP/JVP (including oracle noise).
 */
import type { Vec } from '../linalg/vector.ts';
import type { Batch } from './types.ts';

interface Products {
  readonly dx: number;
  readonly dy: number;
  hvp(x: Vec, y: Vec, v: Vec, batch: Batch, out: Vec): void;
  jvp(x: Vec, y: Vec, v: Vec, batch: Batch, out: Vec): void;
}

/** out (d_y × d_y, row-major) ← ∇²_yy g. */
export function hessianByColumns(o: Products, x: Vec, y: Vec, batch: Batch, out: Vec): void {
  const n = o.dy;
  const e = new Float64Array(n);
  const col = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    e[j] = 1;
    o.hvp(x, y, e, batch, col);
    e[j] = 0;
    for (let i = 0; i < n; i++) out[i * n + j] = col[i]!;
  }
}

/** out (d_x × d_y, row-major) ← ∇²_xy g. */
export function jacobianByColumns(o: Products, x: Vec, y: Vec, batch: Batch, out: Vec): void {
  const n = o.dy;
  const e = new Float64Array(n);
  const col = new Float64Array(o.dx);
  for (let j = 0; j < n; j++) {
    e[j] = 1;
    o.jvp(x, y, e, batch, col);
    e[j] = 0;
    for (let i = 0; i < o.dx; i++) out[i * n + j] = col[i]!;
  }
}
