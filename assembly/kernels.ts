// WebAssembly SIMD (f64x2) kernels of dbo's per-row work, in AssemblyScript.
// Built into src/linalg/wasm/kernels-wasm.ts by `npm run build:wasm`
// (scripts/build-wasm.mjs); test/linalg/wasm.test.ts checks that the
// committed build matches this source and that every kernel equals the plain
// TypeScript reference (src/linalg/fused.ts, src/linalg/matrix.ts).
//
// Memory is managed by the JavaScript side (src/linalg/wasm/index.ts): every
// argument named like a buffer is a byte offset into this module's memory.
// Matrices are row-major float64: a feature table (n × d), parameters and
// outputs (d × c), probabilities (count × c). `useRows` 0 means the first
// `count` rows of the table, otherwise rows[b] (int32) is the b-th selected
// row; labels are int32 per table row. `scratch` needs 2·c·d + 4·c float64s
// (gatherGemm: c·d + 2; gatherGemmTAcc: c·d + 2·c + 2).

// Horizontal sum of the two lanes.
// @ts-ignore: decorator
@inline function hsum(v: v128): f64 {
  return f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1);
}

// @ts-ignore: decorator
@inline function rowOf(rows: usize, useRows: i32, b: i32): i32 {
  return useRows ? load<i32>(rows + (<usize>b << 2)) : b;
}

// dst[p] ← Σ_q a[q] · bt[p·d + q] for p < c (bt is c × d): two classes per
// pass so that each load of the row serves both, two lane pairs per class.
function dotsInto(dst: usize, a: usize, bt: usize, d: i32, c: i32): void {
  const rowBytes = <usize>d << 3;
  let p = 0;
  for (; p + 1 < c; p += 2) {
    const b0 = bt + <usize>p * rowBytes;
    const b1 = b0 + rowBytes;
    let s0 = f64x2.splat(0);
    let t0 = f64x2.splat(0);
    let s1 = f64x2.splat(0);
    let t1 = f64x2.splat(0);
    let q = 0;
    for (; q + 3 < d; q += 4) {
      const o = <usize>q << 3;
      const x0 = v128.load(a + o);
      const x1 = v128.load(a + o, 16);
      s0 = f64x2.add(s0, f64x2.mul(x0, v128.load(b0 + o)));
      t0 = f64x2.add(t0, f64x2.mul(x1, v128.load(b0 + o, 16)));
      s1 = f64x2.add(s1, f64x2.mul(x0, v128.load(b1 + o)));
      t1 = f64x2.add(t1, f64x2.mul(x1, v128.load(b1 + o, 16)));
    }
    let r0 = hsum(f64x2.add(s0, t0));
    let r1 = hsum(f64x2.add(s1, t1));
    for (; q < d; q++) {
      const o = <usize>q << 3;
      const x = load<f64>(a + o);
      r0 += x * load<f64>(b0 + o);
      r1 += x * load<f64>(b1 + o);
    }
    store<f64>(dst + (<usize>p << 3), r0);
    store<f64>(dst + (<usize>p << 3), r1, 8);
  }
  if (p < c) {
    const b0 = bt + <usize>p * rowBytes;
    let s0 = f64x2.splat(0);
    let t0 = f64x2.splat(0);
    let q = 0;
    for (; q + 3 < d; q += 4) {
      const o = <usize>q << 3;
      s0 = f64x2.add(s0, f64x2.mul(v128.load(a + o), v128.load(b0 + o)));
      t0 = f64x2.add(t0, f64x2.mul(v128.load(a + o, 16), v128.load(b0 + o, 16)));
    }
    let r0 = hsum(f64x2.add(s0, t0));
    for (; q < d; q++) {
      const o = <usize>q << 3;
      r0 += load<f64>(a + o) * load<f64>(b0 + o);
    }
    store<f64>(dst + (<usize>p << 3), r0);
  }
}

// acc[p·d + q] += f[p] · a[q] for p < c (acc is c × d), two classes per pass.
function axpysInto(acc: usize, a: usize, f: usize, d: i32, c: i32): void {
  const rowBytes = <usize>d << 3;
  let p = 0;
  for (; p + 1 < c; p += 2) {
    const f0 = load<f64>(f + (<usize>p << 3));
    const f1 = load<f64>(f + (<usize>p << 3), 8);
    const v0 = f64x2.splat(f0);
    const v1 = f64x2.splat(f1);
    const a0 = acc + <usize>p * rowBytes;
    const a1 = a0 + rowBytes;
    let q = 0;
    for (; q + 1 < d; q += 2) {
      const o = <usize>q << 3;
      const x = v128.load(a + o);
      v128.store(a0 + o, f64x2.add(v128.load(a0 + o), f64x2.mul(x, v0)));
      v128.store(a1 + o, f64x2.add(v128.load(a1 + o), f64x2.mul(x, v1)));
    }
    if (q < d) {
      const o = <usize>q << 3;
      const x = load<f64>(a + o);
      store<f64>(a0 + o, load<f64>(a0 + o) + f0 * x);
      store<f64>(a1 + o, load<f64>(a1 + o) + f1 * x);
    }
  }
  if (p < c) {
    const f0 = load<f64>(f + (<usize>p << 3));
    const v0 = f64x2.splat(f0);
    const a0 = acc + <usize>p * rowBytes;
    let q = 0;
    for (; q + 1 < d; q += 2) {
      const o = <usize>q << 3;
      v128.store(a0 + o, f64x2.add(v128.load(a0 + o), f64x2.mul(v128.load(a + o), v0)));
    }
    if (q < d) {
      const o = <usize>q << 3;
      store<f64>(a0 + o, load<f64>(a0 + o) + f0 * load<f64>(a + o));
    }
  }
}

// Two rows at once: dst0[p] ← a0 · bt_p and dst1[p] ← a1 · bt_p for p < c.
// Reading two gathered rows side by side keeps two independent memory
// streams in flight, and each load of bt serves both rows.
function dotsInto2(dst0: usize, dst1: usize, a0: usize, a1: usize, bt: usize, d: i32, c: i32): void {
  const rowBytes = <usize>d << 3;
  let p = 0;
  for (; p + 1 < c; p += 2) {
    const b0 = bt + <usize>p * rowBytes;
    const b1 = b0 + rowBytes;
    let s00 = f64x2.splat(0);
    let s01 = f64x2.splat(0);
    let s10 = f64x2.splat(0);
    let s11 = f64x2.splat(0);
    let q = 0;
    for (; q + 1 < d; q += 2) {
      const o = <usize>q << 3;
      const x0 = v128.load(a0 + o);
      const x1 = v128.load(a1 + o);
      const y0 = v128.load(b0 + o);
      const y1 = v128.load(b1 + o);
      s00 = f64x2.add(s00, f64x2.mul(x0, y0));
      s01 = f64x2.add(s01, f64x2.mul(x0, y1));
      s10 = f64x2.add(s10, f64x2.mul(x1, y0));
      s11 = f64x2.add(s11, f64x2.mul(x1, y1));
    }
    let r00 = hsum(s00);
    let r01 = hsum(s01);
    let r10 = hsum(s10);
    let r11 = hsum(s11);
    if (q < d) {
      const o = <usize>q << 3;
      const x0 = load<f64>(a0 + o);
      const x1 = load<f64>(a1 + o);
      const y0 = load<f64>(b0 + o);
      const y1 = load<f64>(b1 + o);
      r00 += x0 * y0;
      r01 += x0 * y1;
      r10 += x1 * y0;
      r11 += x1 * y1;
    }
    store<f64>(dst0 + (<usize>p << 3), r00);
    store<f64>(dst0 + (<usize>p << 3), r01, 8);
    store<f64>(dst1 + (<usize>p << 3), r10);
    store<f64>(dst1 + (<usize>p << 3), r11, 8);
  }
  if (p < c) {
    const b0 = bt + <usize>p * rowBytes;
    let s0 = f64x2.splat(0);
    let s1 = f64x2.splat(0);
    let q = 0;
    for (; q + 1 < d; q += 2) {
      const o = <usize>q << 3;
      const y0 = v128.load(b0 + o);
      s0 = f64x2.add(s0, f64x2.mul(v128.load(a0 + o), y0));
      s1 = f64x2.add(s1, f64x2.mul(v128.load(a1 + o), y0));
    }
    let r0 = hsum(s0);
    let r1 = hsum(s1);
    if (q < d) {
      const o = <usize>q << 3;
      const y0 = load<f64>(b0 + o);
      r0 += load<f64>(a0 + o) * y0;
      r1 += load<f64>(a1 + o) * y0;
    }
    store<f64>(dst0 + (<usize>p << 3), r0);
    store<f64>(dst1 + (<usize>p << 3), r1);
  }
}

// Two rows at once: acc[p·d + q] += f0[p] · a0[q] + f1[p] · a1[q] for p < c.
function axpysInto2(acc: usize, a0: usize, a1: usize, f0: usize, f1: usize, d: i32, c: i32): void {
  const rowBytes = <usize>d << 3;
  for (let p = 0; p < c; p++) {
    const g0 = load<f64>(f0 + (<usize>p << 3));
    const g1 = load<f64>(f1 + (<usize>p << 3));
    const v0 = f64x2.splat(g0);
    const v1 = f64x2.splat(g1);
    const ap = acc + <usize>p * rowBytes;
    let q = 0;
    for (; q + 1 < d; q += 2) {
      const o = <usize>q << 3;
      v128.store(ap + o, f64x2.add(v128.load(ap + o), f64x2.add(f64x2.mul(v128.load(a0 + o), v0), f64x2.mul(v128.load(a1 + o), v1))));
    }
    if (q < d) {
      const o = <usize>q << 3;
      store<f64>(ap + o, load<f64>(ap + o) + (g0 * load<f64>(a0 + o) + g1 * load<f64>(a1 + o)));
    }
  }
}

// dst (c × d) ← srcᵀ for src d × c.
function transposeInto(dst: usize, src: usize, d: i32, c: i32): void {
  for (let q = 0; q < d; q++)
    for (let p = 0; p < c; p++) store<f64>(dst + ((<usize>p * <usize>d + <usize>q) << 3), load<f64>(src + ((<usize>q * <usize>c + <usize>p) << 3)));
}

// dst (d × c) ← srcᵀ (src c × d) when add is 0, dst += srcᵀ otherwise.
function transposeBack(dst: usize, src: usize, d: i32, c: i32, add: i32): void {
  for (let q = 0; q < d; q++)
    for (let p = 0; p < c; p++) {
      const o = dst + ((<usize>q * <usize>c + <usize>p) << 3);
      const v = load<f64>(src + ((<usize>p * <usize>d + <usize>q) << 3));
      store<f64>(o, add ? load<f64>(o) + v : v);
    }
}

// Reads one float64 of every 64-byte line of the selected rows (rows[0 …
// count), before a kernel's arithmetic: the cache misses of a random gather
// then overlap (many independent loads in flight, measured 61 → 44 µs for a
// cold 100-row gradient pass at d = 200) instead of stalling one row after
// another inside the arithmetic loops. The sum of the values read is stored
// at `sink` (one float64 of the caller's scratch) so that the loads are kept.
function touchRows(a: usize, d: i32, rows: usize, count: i32, sink: usize): void {
  const rowBytes = <usize>d << 3;
  if (rowBytes == 0) return;
  let t = 0.0;
  for (let b = 0; b < count; b++) {
    const r = a + <usize>load<i32>(rows + (<usize>b << 2)) * rowBytes;
    for (let o: usize = 0; o < rowBytes; o += 64) t += load<f64>(r + o);
    t += load<f64>(r + rowBytes - 8);
  }
  store<f64>(sink, t);
}

// Softmax of the c logits at lp in place; returns log Σ e^{z − max} − (z_label − max).
function softmaxInPlace(lp: usize, c: i32, label: i32): f64 {
  let max = -Infinity;
  for (let p = 0; p < c; p++) {
    const z = load<f64>(lp + (<usize>p << 3));
    if (z > max) max = z;
  }
  const gap = load<f64>(lp + (<usize>label << 3)) - max;
  let sum = 0.0;
  for (let p = 0; p < c; p++) {
    const e = Math.exp(load<f64>(lp + (<usize>p << 3)) - max);
    store<f64>(lp + (<usize>p << 3), e);
    sum += e;
  }
  const inv = 1 / sum;
  for (let p = 0; p < c; p++) store<f64>(lp + (<usize>p << 3), load<f64>(lp + (<usize>p << 3)) * inv);
  return Math.log(sum) - gap;
}

/** probs_b ← softmax(a_bᵀ Y); returns Σ_b cross-entropy. */
export function softmaxForwardRows(probs: usize, a: usize, d: i32, rows: usize, useRows: i32, count: i32, labels: usize, y: usize, c: i32, scratch: usize): f64 {
  // Rows are paired exactly as in softmaxGradientRows, so both give bit-identical probabilities.
  transposeInto(scratch, y, d, c);
  if (useRows) touchRows(a, d, rows, count, scratch + ((<usize>c * <usize>d) << 3));
  let loss = 0.0;
  let b = 0;
  for (; b + 1 < count; b += 2) {
    const row0 = rowOf(rows, useRows, b);
    const row1 = rowOf(rows, useRows, b + 1);
    const lp0 = probs + ((<usize>b * <usize>c) << 3);
    const lp1 = lp0 + (<usize>c << 3);
    dotsInto2(lp0, lp1, a + ((<usize>row0 * <usize>d) << 3), a + ((<usize>row1 * <usize>d) << 3), scratch, d, c);
    loss += softmaxInPlace(lp0, c, load<i32>(labels + (<usize>row0 << 2)));
    loss += softmaxInPlace(lp1, c, load<i32>(labels + (<usize>row1 << 2)));
  }
  if (b < count) {
    const row = rowOf(rows, useRows, b);
    const lp = probs + ((<usize>b * <usize>c) << 3);
    dotsInto(lp, a + ((<usize>row * <usize>d) << 3), scratch, d, c);
    loss += softmaxInPlace(lp, c, load<i32>(labels + (<usize>row << 2)));
  }
  return loss;
}

/** probs_b ← softmax(a_bᵀ Y), out ← scale · Σ_b a_b (probs_b − e_label)ᵀ; returns Σ_b CE. One pass per row. */
export function softmaxGradientRows(out: usize, probs: usize, a: usize, d: i32, rows: usize, useRows: i32, count: i32, labels: usize, y: usize, c: i32, scale: f64, scratch: usize): f64 {
  const cdBytes = (<usize>c * <usize>d) << 3;
  const acc = scratch + cdBytes;
  const f = acc + cdBytes;
  transposeInto(scratch, y, d, c);
  memory.fill(acc, 0, cdBytes);
  const f1 = f + (<usize>c << 3);
  if (useRows) touchRows(a, d, rows, count, f1 + (<usize>c << 3));
  let loss = 0.0;
  let b = 0;
  for (; b + 1 < count; b += 2) {
    const row0 = rowOf(rows, useRows, b);
    const row1 = rowOf(rows, useRows, b + 1);
    const a0 = a + ((<usize>row0 * <usize>d) << 3);
    const a1 = a + ((<usize>row1 * <usize>d) << 3);
    const lp0 = probs + ((<usize>b * <usize>c) << 3);
    const lp1 = lp0 + (<usize>c << 3);
    dotsInto2(lp0, lp1, a0, a1, scratch, d, c);
    const label0 = load<i32>(labels + (<usize>row0 << 2));
    const label1 = load<i32>(labels + (<usize>row1 << 2));
    loss += softmaxInPlace(lp0, c, label0);
    loss += softmaxInPlace(lp1, c, label1);
    for (let p = 0; p < c; p++) {
      const s0 = load<f64>(lp0 + (<usize>p << 3));
      const s1 = load<f64>(lp1 + (<usize>p << 3));
      store<f64>(f + (<usize>p << 3), scale * (p == label0 ? s0 - 1 : s0));
      store<f64>(f1 + (<usize>p << 3), scale * (p == label1 ? s1 - 1 : s1));
    }
    axpysInto2(acc, a0, a1, f, f1, d, c);
  }
  if (b < count) {
    const row = rowOf(rows, useRows, b);
    const aRow = a + ((<usize>row * <usize>d) << 3);
    const lp = probs + ((<usize>b * <usize>c) << 3);
    dotsInto(lp, aRow, scratch, d, c);
    const label = load<i32>(labels + (<usize>row << 2));
    loss += softmaxInPlace(lp, c, label);
    for (let p = 0; p < c; p++) {
      const sp = load<f64>(lp + (<usize>p << 3));
      store<f64>(f + (<usize>p << 3), scale * (p == label ? sp - 1 : sp));
    }
    axpysInto(acc, aRow, f, d, c);
  }
  transposeBack(out, acc, d, c, 0);
  return loss;
}

// f ← scale · S ⊙ (u − ⟨S, u⟩) for one row's c probabilities S and products u.
function jacobianRow(f: usize, sp: usize, u: usize, c: i32, scale: f64): void {
  let su = 0.0;
  for (let p = 0; p < c; p++) su += load<f64>(sp + (<usize>p << 3)) * load<f64>(u + (<usize>p << 3));
  for (let p = 0; p < c; p++) store<f64>(f + (<usize>p << 3), scale * load<f64>(sp + (<usize>p << 3)) * (load<f64>(u + (<usize>p << 3)) - su));
}

/** u_b = a_bᵀ V, r_b = S_b ⊙ (u_b − ⟨S_b, u_b⟩), out ← scale · Σ_b a_b r_bᵀ. One pass per row. */
export function softmaxHvpRows(out: usize, probs: usize, a: usize, d: i32, rows: usize, useRows: i32, count: i32, v: usize, c: i32, scale: f64, scratch: usize): void {
  const cdBytes = (<usize>c * <usize>d) << 3;
  const acc = scratch + cdBytes;
  const u = acc + cdBytes;
  const f = u + (<usize>c << 3);
  transposeInto(scratch, v, d, c);
  memory.fill(acc, 0, cdBytes);
  const u1 = f + (<usize>c << 3);
  const f1 = u1 + (<usize>c << 3);
  let b = 0;
  for (; b + 1 < count; b += 2) {
    const a0 = a + ((<usize>rowOf(rows, useRows, b) * <usize>d) << 3);
    const a1 = a + ((<usize>rowOf(rows, useRows, b + 1) * <usize>d) << 3);
    const sp0 = probs + ((<usize>b * <usize>c) << 3);
    const sp1 = sp0 + (<usize>c << 3);
    dotsInto2(u, u1, a0, a1, scratch, d, c);
    jacobianRow(f, sp0, u, c, scale);
    jacobianRow(f1, sp1, u1, c, scale);
    axpysInto2(acc, a0, a1, f, f1, d, c);
  }
  if (b < count) {
    const aRow = a + ((<usize>rowOf(rows, useRows, b) * <usize>d) << 3);
    const sp = probs + ((<usize>b * <usize>c) << 3);
    dotsInto(u, aRow, scratch, d, c);
    jacobianRow(f, sp, u, c, scale);
    axpysInto(acc, aRow, f, d, c);
  }
  transposeBack(out, acc, d, c, 0);
}

// Two parameter matrices at once over two rows: dA0[p] ← a0 · btA_p,
// dA1[p] ← a1 · btA_p, dB0[p] ← a0 · btB_p, dB1[p] ← a1 · btB_p (btA, btB
// c × d). Each sum runs in exactly dotsInto2's order (lane pairs over q, the
// two lanes added, then the odd q), so the results equal two dotsInto2 calls
// bit for bit; each load of a row serves both matrices.
function dotsInto2x2(dA0: usize, dA1: usize, dB0: usize, dB1: usize, a0: usize, a1: usize, btA: usize, btB: usize, d: i32, c: i32): void {
  const rowBytes = <usize>d << 3;
  let p = 0;
  for (; p + 1 < c; p += 2) {
    const ya = btA + <usize>p * rowBytes;
    const yb = ya + rowBytes;
    const za = btB + <usize>p * rowBytes;
    const zb = za + rowBytes;
    let a00 = f64x2.splat(0);
    let a01 = f64x2.splat(0);
    let a10 = f64x2.splat(0);
    let a11 = f64x2.splat(0);
    let b00 = f64x2.splat(0);
    let b01 = f64x2.splat(0);
    let b10 = f64x2.splat(0);
    let b11 = f64x2.splat(0);
    let q = 0;
    for (; q + 1 < d; q += 2) {
      const o = <usize>q << 3;
      const x0 = v128.load(a0 + o);
      const x1 = v128.load(a1 + o);
      const y0 = v128.load(ya + o);
      const y1 = v128.load(yb + o);
      a00 = f64x2.add(a00, f64x2.mul(x0, y0));
      a01 = f64x2.add(a01, f64x2.mul(x0, y1));
      a10 = f64x2.add(a10, f64x2.mul(x1, y0));
      a11 = f64x2.add(a11, f64x2.mul(x1, y1));
      const z0 = v128.load(za + o);
      const z1 = v128.load(zb + o);
      b00 = f64x2.add(b00, f64x2.mul(x0, z0));
      b01 = f64x2.add(b01, f64x2.mul(x0, z1));
      b10 = f64x2.add(b10, f64x2.mul(x1, z0));
      b11 = f64x2.add(b11, f64x2.mul(x1, z1));
    }
    let r00 = hsum(a00);
    let r01 = hsum(a01);
    let r10 = hsum(a10);
    let r11 = hsum(a11);
    let t00 = hsum(b00);
    let t01 = hsum(b01);
    let t10 = hsum(b10);
    let t11 = hsum(b11);
    if (q < d) {
      const o = <usize>q << 3;
      const x0 = load<f64>(a0 + o);
      const x1 = load<f64>(a1 + o);
      const y0 = load<f64>(ya + o);
      const y1 = load<f64>(yb + o);
      const z0 = load<f64>(za + o);
      const z1 = load<f64>(zb + o);
      r00 += x0 * y0;
      r01 += x0 * y1;
      r10 += x1 * y0;
      r11 += x1 * y1;
      t00 += x0 * z0;
      t01 += x0 * z1;
      t10 += x1 * z0;
      t11 += x1 * z1;
    }
    const po = <usize>p << 3;
    store<f64>(dA0 + po, r00);
    store<f64>(dA0 + po, r01, 8);
    store<f64>(dA1 + po, r10);
    store<f64>(dA1 + po, r11, 8);
    store<f64>(dB0 + po, t00);
    store<f64>(dB0 + po, t01, 8);
    store<f64>(dB1 + po, t10);
    store<f64>(dB1 + po, t11, 8);
  }
  if (p < c) {
    const ya = btA + <usize>p * rowBytes;
    const za = btB + <usize>p * rowBytes;
    let a0s = f64x2.splat(0);
    let a1s = f64x2.splat(0);
    let b0s = f64x2.splat(0);
    let b1s = f64x2.splat(0);
    let q = 0;
    for (; q + 1 < d; q += 2) {
      const o = <usize>q << 3;
      const x0 = v128.load(a0 + o);
      const x1 = v128.load(a1 + o);
      const y0 = v128.load(ya + o);
      const z0 = v128.load(za + o);
      a0s = f64x2.add(a0s, f64x2.mul(x0, y0));
      a1s = f64x2.add(a1s, f64x2.mul(x1, y0));
      b0s = f64x2.add(b0s, f64x2.mul(x0, z0));
      b1s = f64x2.add(b1s, f64x2.mul(x1, z0));
    }
    let r0 = hsum(a0s);
    let r1 = hsum(a1s);
    let t0 = hsum(b0s);
    let t1 = hsum(b1s);
    if (q < d) {
      const o = <usize>q << 3;
      const x0 = load<f64>(a0 + o);
      const x1 = load<f64>(a1 + o);
      const y0 = load<f64>(ya + o);
      const z0 = load<f64>(za + o);
      r0 += x0 * y0;
      r1 += x1 * y0;
      t0 += x0 * z0;
      t1 += x1 * z0;
    }
    const po = <usize>p << 3;
    store<f64>(dA0 + po, r0);
    store<f64>(dA1 + po, r1);
    store<f64>(dB0 + po, t0);
    store<f64>(dB1 + po, t1);
  }
}

// One parameter matrix over four rows (two pairs): dst_r[p] ← a_r · bt_p for
// r < 4, each sum in dotsInto2's order (bit-identical to dotsInto2 on rows
// 0, 1 and on rows 2, 3); eight independent sums per pass for c = 2.
function dotsInto4(d0: usize, d1: usize, d2: usize, d3: usize, a0: usize, a1: usize, a2: usize, a3: usize, bt: usize, d: i32, c: i32): void {
  const rowBytes = <usize>d << 3;
  let p = 0;
  for (; p + 1 < c; p += 2) {
    const y0 = bt + <usize>p * rowBytes;
    const y1 = y0 + rowBytes;
    let s00 = f64x2.splat(0);
    let s01 = f64x2.splat(0);
    let s10 = f64x2.splat(0);
    let s11 = f64x2.splat(0);
    let s20 = f64x2.splat(0);
    let s21 = f64x2.splat(0);
    let s30 = f64x2.splat(0);
    let s31 = f64x2.splat(0);
    let q = 0;
    for (; q + 1 < d; q += 2) {
      const o = <usize>q << 3;
      const u0 = v128.load(y0 + o);
      const u1 = v128.load(y1 + o);
      const x0 = v128.load(a0 + o);
      const x1 = v128.load(a1 + o);
      s00 = f64x2.add(s00, f64x2.mul(x0, u0));
      s01 = f64x2.add(s01, f64x2.mul(x0, u1));
      s10 = f64x2.add(s10, f64x2.mul(x1, u0));
      s11 = f64x2.add(s11, f64x2.mul(x1, u1));
      const x2 = v128.load(a2 + o);
      const x3 = v128.load(a3 + o);
      s20 = f64x2.add(s20, f64x2.mul(x2, u0));
      s21 = f64x2.add(s21, f64x2.mul(x2, u1));
      s30 = f64x2.add(s30, f64x2.mul(x3, u0));
      s31 = f64x2.add(s31, f64x2.mul(x3, u1));
    }
    let r00 = hsum(s00);
    let r01 = hsum(s01);
    let r10 = hsum(s10);
    let r11 = hsum(s11);
    let r20 = hsum(s20);
    let r21 = hsum(s21);
    let r30 = hsum(s30);
    let r31 = hsum(s31);
    if (q < d) {
      const o = <usize>q << 3;
      const u0 = load<f64>(y0 + o);
      const u1 = load<f64>(y1 + o);
      const x0 = load<f64>(a0 + o);
      const x1 = load<f64>(a1 + o);
      const x2 = load<f64>(a2 + o);
      const x3 = load<f64>(a3 + o);
      r00 += x0 * u0;
      r01 += x0 * u1;
      r10 += x1 * u0;
      r11 += x1 * u1;
      r20 += x2 * u0;
      r21 += x2 * u1;
      r30 += x3 * u0;
      r31 += x3 * u1;
    }
    const po = <usize>p << 3;
    store<f64>(d0 + po, r00);
    store<f64>(d0 + po, r01, 8);
    store<f64>(d1 + po, r10);
    store<f64>(d1 + po, r11, 8);
    store<f64>(d2 + po, r20);
    store<f64>(d2 + po, r21, 8);
    store<f64>(d3 + po, r30);
    store<f64>(d3 + po, r31, 8);
  }
  if (p < c) {
    // The odd class: dotsInto2's single-class path on each pair.
    const po = <usize>p << 3;
    const yp = bt + <usize>p * rowBytes;
    dotsInto2(d0 + po, d1 + po, a0, a1, yp, d, 1);
    dotsInto2(d2 + po, d3 + po, a2, a3, yp, d, 1);
  }
}

// One accumulator over four rows: acc[p·d + q] += f0[p]·a0[q] + f1[p]·a1[q],
// then += f2[p]·a2[q] + f3[p]·a3[q]; bit-identical to axpysInto2 on rows 0, 1
// and then on rows 2, 3, with one load and store of acc instead of two.
function axpysInto4(acc: usize, a0: usize, a1: usize, a2: usize, a3: usize, f0: usize, f1: usize, f2: usize, f3: usize, d: i32, c: i32): void {
  const rowBytes = <usize>d << 3;
  for (let p = 0; p < c; p++) {
    const po = <usize>p << 3;
    const g0 = load<f64>(f0 + po);
    const g1 = load<f64>(f1 + po);
    const g2 = load<f64>(f2 + po);
    const g3 = load<f64>(f3 + po);
    const v0 = f64x2.splat(g0);
    const v1 = f64x2.splat(g1);
    const v2 = f64x2.splat(g2);
    const v3 = f64x2.splat(g3);
    const ap = acc + <usize>p * rowBytes;
    let q = 0;
    for (; q + 1 < d; q += 2) {
      const o = <usize>q << 3;
      let t = f64x2.add(v128.load(ap + o), f64x2.add(f64x2.mul(v128.load(a0 + o), v0), f64x2.mul(v128.load(a1 + o), v1)));
      t = f64x2.add(t, f64x2.add(f64x2.mul(v128.load(a2 + o), v2), f64x2.mul(v128.load(a3 + o), v3)));
      v128.store(ap + o, t);
    }
    if (q < d) {
      const o = <usize>q << 3;
      let t = load<f64>(ap + o) + (g0 * load<f64>(a0 + o) + g1 * load<f64>(a1 + o));
      t = t + (g2 * load<f64>(a2 + o) + g3 * load<f64>(a3 + o));
      store<f64>(ap + o, t);
    }
  }
}

// Two accumulators at once over two rows: accA[p·d + q] += fA0[p] · a0[q] +
// fA1[p] · a1[q] and accB[p·d + q] += fB0[p] · a0[q] + fB1[p] · a1[q], each
// element in axpysInto2's order (bit-identical to two axpysInto2 calls).
function axpysInto2x2(accA: usize, accB: usize, a0: usize, a1: usize, fA0: usize, fA1: usize, fB0: usize, fB1: usize, d: i32, c: i32): void {
  const rowBytes = <usize>d << 3;
  for (let p = 0; p < c; p++) {
    const po = <usize>p << 3;
    const gA0 = load<f64>(fA0 + po);
    const gA1 = load<f64>(fA1 + po);
    const gB0 = load<f64>(fB0 + po);
    const gB1 = load<f64>(fB1 + po);
    const vA0 = f64x2.splat(gA0);
    const vA1 = f64x2.splat(gA1);
    const vB0 = f64x2.splat(gB0);
    const vB1 = f64x2.splat(gB1);
    const pa = accA + <usize>p * rowBytes;
    const pb = accB + <usize>p * rowBytes;
    let q = 0;
    for (; q + 1 < d; q += 2) {
      const o = <usize>q << 3;
      const x0 = v128.load(a0 + o);
      const x1 = v128.load(a1 + o);
      v128.store(pa + o, f64x2.add(v128.load(pa + o), f64x2.add(f64x2.mul(x0, vA0), f64x2.mul(x1, vA1))));
      v128.store(pb + o, f64x2.add(v128.load(pb + o), f64x2.add(f64x2.mul(x0, vB0), f64x2.mul(x1, vB1))));
    }
    if (q < d) {
      const o = <usize>q << 3;
      const x0 = load<f64>(a0 + o);
      const x1 = load<f64>(a1 + o);
      store<f64>(pa + o, load<f64>(pa + o) + (gA0 * x0 + gA1 * x1));
      store<f64>(pb + o, load<f64>(pb + o) + (gB0 * x0 + gB1 * x1));
    }
  }
}

// Softmax of the c logits at lp in place (softmaxInPlace without the loss:
// the same operations on the probabilities).
function softmaxOnly(lp: usize, c: i32): void {
  let max = -Infinity;
  for (let p = 0; p < c; p++) {
    const z = load<f64>(lp + (<usize>p << 3));
    if (z > max) max = z;
  }
  let sum = 0.0;
  for (let p = 0; p < c; p++) {
    const e = Math.exp(load<f64>(lp + (<usize>p << 3)) - max);
    store<f64>(lp + (<usize>p << 3), e);
    sum += e;
  }
  const inv = 1 / sum;
  for (let p = 0; p < c; p++) store<f64>(lp + (<usize>p << 3), load<f64>(lp + (<usize>p << 3)) * inv);
}

// f ← scale · (S − e_label) for one row's c probabilities S.
function gradientRow(f: usize, sp: usize, c: i32, label: i32, scale: f64): void {
  for (let p = 0; p < c; p++) {
    const s = load<f64>(sp + (<usize>p << 3));
    store<f64>(f + (<usize>p << 3), scale * (p == label ? s - 1 : s));
  }
}

// The per-row work of softmaxPassRows for one point of one row pair, after the
// forward products: softmax of both rows' logits (lp0, lp1), gradient factors
// (f0, f1) and, when hvp, HVP factors (h0, h1) from the V products (u0, u1).
function pointFactors(lp0: usize, lp1: usize, label0: i32, label1: i32, f0: usize, f1: usize, hvp: i32, u0: usize, u1: usize, h0: usize, h1: usize, c: i32, scale: f64): void {
  softmaxOnly(lp0, c);
  softmaxOnly(lp1, c);
  gradientRow(f0, lp0, c, label0, scale);
  gradientRow(f1, lp1, c, label1, scale);
  if (hvp) {
    jacobianRow(h0, lp0, u0, c, scale);
    jacobianRow(h1, lp1, u1, c, scale);
  }
}

/**
 * The gradient passes, and with `hvp` ≠ 0 the HVP passes, of the summed
 * cross-entropy at `points` (1 or 2) parameter matrices over the same rows,
 * in one pass over each row pair (the rows are read once for all of them):
 * for point k (Y_k at y0/y1, V_k at v0/v1),
 *   probs_k ← softmax(a_bᵀ Y_k),  gOut_k ← scale · Σ_b a_b (probs_k,b − e_label_b)ᵀ,
 *   hOut_k ← scale · Σ_b a_b r_bᵀ, r_b = S_b ⊙ (u_b − ⟨S_b, u_b⟩), u_b = a_bᵀ V_k.
 * Every output is bit-identical to softmaxGradientRows and softmaxHvpRows
 * (with the probabilities of the former) on the same inputs: each sum runs
 * in the same order. `scratch` needs 8·c·d + 16·c float64s.
 */
export function softmaxPassRows(
  points: i32, hvp: i32, a: usize, d: i32, rows: usize, useRows: i32, count: i32, labels: usize, c: i32, scale: f64, scratch: usize,
  y0: usize, v0: usize, gOut0: usize, hOut0: usize, probs0: usize,
  y1: usize, v1: usize, gOut1: usize, hOut1: usize, probs1: usize,
): void {
  const cdBytes = (<usize>c * <usize>d) << 3;
  const cBytes = <usize>c << 3;
  const two = points > 1;
  // Transposed parameters, accumulators, then per row pair: V products u,
  // gradient factors f and HVP factors h (point k, row r: u_kr, f_kr, h_kr).
  const tY0 = scratch;
  const tV0 = tY0 + cdBytes;
  const tY1 = tV0 + cdBytes;
  const tV1 = tY1 + cdBytes;
  const accG0 = tV1 + cdBytes;
  const accH0 = accG0 + cdBytes;
  const accG1 = accH0 + cdBytes;
  const accH1 = accG1 + cdBytes;
  const u00 = accH1 + cdBytes;
  const u01 = u00 + cBytes;
  const u10 = u01 + cBytes;
  const u11 = u10 + cBytes;
  const f00 = u11 + cBytes;
  const f01 = f00 + cBytes;
  const f10 = f01 + cBytes;
  const f11 = f10 + cBytes;
  const h00 = f11 + cBytes;
  const h01 = h00 + cBytes;
  const h10 = h01 + cBytes;
  const h11 = h10 + cBytes;
  const sink = h11 + cBytes;
  transposeInto(tY0, y0, d, c);
  memory.fill(accG0, 0, cdBytes);
  if (hvp) {
    transposeInto(tV0, v0, d, c);
    memory.fill(accH0, 0, cdBytes);
  }
  if (two) {
    transposeInto(tY1, y1, d, c);
    memory.fill(accG1, 0, cdBytes);
    if (hvp) {
      transposeInto(tV1, v1, d, c);
      memory.fill(accH1, 0, cdBytes);
    }
  }
  if (useRows) touchRows(a, d, rows, count, sink);
  let b = 0;
  if (!hvp && !two)
    // One matrix, gradient only: four rows (two pairs) per pass, for more independent sums.
    for (; b + 3 < count; b += 4) {
      const row0 = rowOf(rows, useRows, b);
      const row1 = rowOf(rows, useRows, b + 1);
      const row2 = rowOf(rows, useRows, b + 2);
      const row3 = rowOf(rows, useRows, b + 3);
      const a0 = a + ((<usize>row0 * <usize>d) << 3);
      const a1 = a + ((<usize>row1 * <usize>d) << 3);
      const a2 = a + ((<usize>row2 * <usize>d) << 3);
      const a3 = a + ((<usize>row3 * <usize>d) << 3);
      const p0 = probs0 + ((<usize>b * <usize>c) << 3);
      const p1 = p0 + cBytes;
      const p2 = p1 + cBytes;
      const p3 = p2 + cBytes;
      dotsInto4(p0, p1, p2, p3, a0, a1, a2, a3, tY0, d, c);
      softmaxOnly(p0, c);
      softmaxOnly(p1, c);
      softmaxOnly(p2, c);
      softmaxOnly(p3, c);
      gradientRow(f00, p0, c, load<i32>(labels + (<usize>row0 << 2)), scale);
      gradientRow(f01, p1, c, load<i32>(labels + (<usize>row1 << 2)), scale);
      gradientRow(f10, p2, c, load<i32>(labels + (<usize>row2 << 2)), scale);
      gradientRow(f11, p3, c, load<i32>(labels + (<usize>row3 << 2)), scale);
      axpysInto4(accG0, a0, a1, a2, a3, f00, f01, f10, f11, d, c);
    }
  for (; b + 1 < count; b += 2) {
    const row0 = rowOf(rows, useRows, b);
    const row1 = rowOf(rows, useRows, b + 1);
    const a0 = a + ((<usize>row0 * <usize>d) << 3);
    const a1 = a + ((<usize>row1 * <usize>d) << 3);
    const label0 = load<i32>(labels + (<usize>row0 << 2));
    const label1 = load<i32>(labels + (<usize>row1 << 2));
    const off = (<usize>b * <usize>c) << 3;
    const p00 = probs0 + off;
    const p01 = p00 + cBytes;
    const p10 = probs1 + off;
    const p11 = p10 + cBytes;
    if (hvp) {
      dotsInto2x2(p00, p01, u00, u01, a0, a1, tY0, tV0, d, c);
      if (two) dotsInto2x2(p10, p11, u10, u11, a0, a1, tY1, tV1, d, c);
    } else if (two) dotsInto2x2(p00, p01, p10, p11, a0, a1, tY0, tY1, d, c);
    else dotsInto2(p00, p01, a0, a1, tY0, d, c);
    pointFactors(p00, p01, label0, label1, f00, f01, hvp, u00, u01, h00, h01, c, scale);
    if (two) pointFactors(p10, p11, label0, label1, f10, f11, hvp, u10, u11, h10, h11, c, scale);
    if (hvp) {
      axpysInto2x2(accG0, accH0, a0, a1, f00, f01, h00, h01, d, c);
      if (two) axpysInto2x2(accG1, accH1, a0, a1, f10, f11, h10, h11, d, c);
    } else if (two) axpysInto2x2(accG0, accG1, a0, a1, f00, f01, f10, f11, d, c);
    else axpysInto2(accG0, a0, a1, f00, f01, d, c);
  }
  if (b < count) {
    // The odd last row, as the single-row tails of the separate kernels.
    const row = rowOf(rows, useRows, b);
    const aRow = a + ((<usize>row * <usize>d) << 3);
    const label = load<i32>(labels + (<usize>row << 2));
    const off = (<usize>b * <usize>c) << 3;
    for (let k = 0; k < points; k++) {
      const lp = (k ? probs1 : probs0) + off;
      dotsInto(lp, aRow, k ? tY1 : tY0, d, c);
      softmaxOnly(lp, c);
      gradientRow(f00, lp, c, label, scale);
      axpysInto(k ? accG1 : accG0, aRow, f00, d, c);
      if (hvp) {
        dotsInto(u00, aRow, k ? tV1 : tV0, d, c);
        jacobianRow(h00, lp, u00, c, scale);
        axpysInto(k ? accH1 : accH0, aRow, h00, d, c);
      }
    }
  }
  transposeBack(gOut0, accG0, d, c, 0);
  if (hvp) transposeBack(hOut0, accH0, d, c, 0);
  if (two) {
    transposeBack(gOut1, accG1, d, c, 0);
    if (hvp) transposeBack(hOut1, accH1, d, c, 0);
  }
}

/** out (count × c) ← A[rows, :] · Y. */
export function gatherGemm(out: usize, a: usize, d: i32, rows: usize, useRows: i32, count: i32, y: usize, c: i32, scratch: usize): void {
  transposeInto(scratch, y, d, c);
  if (useRows) touchRows(a, d, rows, count, scratch + ((<usize>c * <usize>d) << 3));
  let b = 0;
  for (; b + 1 < count; b += 2) {
    const o = out + ((<usize>b * <usize>c) << 3);
    dotsInto2(o, o + (<usize>c << 3), a + ((<usize>rowOf(rows, useRows, b) * <usize>d) << 3), a + ((<usize>rowOf(rows, useRows, b + 1) * <usize>d) << 3), scratch, d, c);
  }
  if (b < count) dotsInto(out + ((<usize>b * <usize>c) << 3), a + ((<usize>rowOf(rows, useRows, b) * <usize>d) << 3), scratch, d, c);
}

/** out (d × c) ← out + s · A[rows, :]ᵀ · R (R count × c). */
export function gatherGemmTAcc(out: usize, a: usize, d: i32, rows: usize, useRows: i32, count: i32, r: usize, c: i32, s: f64, scratch: usize): void {
  const cdBytes = (<usize>c * <usize>d) << 3;
  const f = scratch + cdBytes;
  memory.fill(scratch, 0, cdBytes);
  const f1 = f + (<usize>c << 3);
  if (useRows) touchRows(a, d, rows, count, f1 + (<usize>c << 3));
  let b = 0;
  for (; b + 1 < count; b += 2) {
    const rb = r + ((<usize>b * <usize>c) << 3);
    for (let p = 0; p < c; p++) {
      store<f64>(f + (<usize>p << 3), s * load<f64>(rb + (<usize>p << 3)));
      store<f64>(f1 + (<usize>p << 3), s * load<f64>(rb + ((<usize>(c + p)) << 3)));
    }
    axpysInto2(scratch, a + ((<usize>rowOf(rows, useRows, b) * <usize>d) << 3), a + ((<usize>rowOf(rows, useRows, b + 1) * <usize>d) << 3), f, f1, d, c);
  }
  if (b < count) {
    const rb = r + ((<usize>b * <usize>c) << 3);
    for (let p = 0; p < c; p++) store<f64>(f + (<usize>p << 3), s * load<f64>(rb + (<usize>p << 3)));
    axpysInto(scratch, a + ((<usize>rowOf(rows, useRows, b) * <usize>d) << 3), f, d, c);
  }
  transposeBack(out, scratch, d, c, 1);
}

/** out (rows) ← A x for a row-major rows × cols matrix A. */
export function gemv(out: usize, a: usize, rows: i32, cols: i32, x: usize): void {
  for (let i = 0; i < rows; i++) dotsInto(out + (<usize>i << 3), a + ((<usize>i * <usize>cols) << 3), x, cols, 1);
}

// ---------------------------------------------------------------------------
// Register-blocked, cache-blocked GEMM for the MLP layers (src/problems/mlp.ts).
// Every product is C (M × N, row-major) (+)= Σ_p a_p ⊗ w_p over p < K, with
// the vectors a_p (length M) and w_p (length N) read from row-major operands
// either along a row or down a column. Per block of KC values of p, all of
// the a_p are packed MR at a time into contiguous panels (apack[p·MR + i]),
// then for each group of NR columns the w_p are packed (wpack[p·NR + j]) and
// an MR × NR micro-kernel keeps its tile of C in eight f64x2 registers
// (one splat of a_p[i] times two loads of w_p per row: 8 mul + 8 add per p).
// Panels are zero-padded beyond M and N, and only the valid part of a tile is
// written back. Each entry of C is summed in the order p = 0, 1, …, K − 1
// within a block and block after block: deterministic, independent of the
// shapes' remainders. 4 × 4 with KC = 256 was the fastest of the shapes
// measured on x86-64 (V8 keeps 8 accumulators plus operands in the 16 xmm
// registers; 12 accumulators spill). No FMA: f64x2.relaxed_madd is not
// enabled by default in Node 20.
// Scratch: gemmScratchLength(M) float64s = ⌈M/MR⌉·MR·KC + KC·NR + MR·NR.

const MR: i32 = 4;
const NR: i32 = 4;
const KC: i32 = 256;

// panel[p·4 + r] ← X[row(i0 + r), p0 + p] for r < 4 (0 for i0 + r ≥ n), p < kc.
// Full blocks go two values of p at a time: 2 × 2 transposes of row pairs.
function packAlongRows(panel: usize, x: usize, ld: i32, rows: usize, useRows: i32, i0: i32, n: i32, p0: i32, kc: i32): void {
  const ldBytes = <usize>ld << 3;
  const col = <usize>p0 << 3;
  if (i0 + 4 <= n) {
    const s0 = x + <usize>rowOf(rows, useRows, i0) * ldBytes + col;
    const s1 = x + <usize>rowOf(rows, useRows, i0 + 1) * ldBytes + col;
    const s2 = x + <usize>rowOf(rows, useRows, i0 + 2) * ldBytes + col;
    const s3 = x + <usize>rowOf(rows, useRows, i0 + 3) * ldBytes + col;
    let dst = panel;
    let o: usize = 0;
    const end2 = <usize>(kc & ~1) << 3;
    for (; o < end2; o += 16) {
      const a0 = v128.load(s0 + o);
      const a1 = v128.load(s1 + o);
      const a2 = v128.load(s2 + o);
      const a3 = v128.load(s3 + o);
      v128.store(dst, v128.shuffle<f64>(a0, a1, 0, 2));
      v128.store(dst, v128.shuffle<f64>(a2, a3, 0, 2), 16);
      v128.store(dst, v128.shuffle<f64>(a0, a1, 1, 3), 32);
      v128.store(dst, v128.shuffle<f64>(a2, a3, 1, 3), 48);
      dst += 64;
    }
    if (kc & 1) {
      store<f64>(dst, load<f64>(s0 + o));
      store<f64>(dst, load<f64>(s1 + o), 8);
      store<f64>(dst, load<f64>(s2 + o), 16);
      store<f64>(dst, load<f64>(s3 + o), 24);
    }
    return;
  }
  for (let r = 0; r < 4; r++) {
    const i = i0 + r;
    let dst = panel + (<usize>r << 3);
    if (i < n) {
      let src = x + <usize>rowOf(rows, useRows, i) * ldBytes + col;
      for (let p = 0; p < kc; p++) {
        store<f64>(dst, load<f64>(src));
        dst += 32;
        src += 8;
      }
    } else {
      for (let p = 0; p < kc; p++) {
        store<f64>(dst, 0);
        dst += 32;
      }
    }
  }
}

// panel[p·4 + r] ← X[row(p0 + p), i0 + r] for r < 4 (0 for i0 + r ≥ n), p < kc.
function packDownColumns(panel: usize, x: usize, ld: i32, rows: usize, useRows: i32, i0: i32, n: i32, p0: i32, kc: i32): void {
  const w = min(4, n - i0);
  for (let p = 0; p < kc; p++) {
    const src = x + ((<usize>rowOf(rows, useRows, p0 + p) * <usize>ld + <usize>i0) << 3);
    const dst = panel + (<usize>p << 5);
    if (w == 4) {
      v128.store(dst, v128.load(src));
      v128.store(dst, v128.load(src, 16), 16);
    } else {
      let r = 0;
      for (; r < w; r++) store<f64>(dst + (<usize>r << 3), load<f64>(src + (<usize>r << 3)));
      for (; r < 4; r++) store<f64>(dst + (<usize>r << 3), 0);
    }
  }
}

// tile (4 × 4, row-major) ← Σ_{p < kc} ap[p·4 + i] · wp[p·4 + j].
function microKernel4x4(tile: usize, ap: usize, wp: usize, kc: i32): void {
  let c00 = f64x2.splat(0);
  let c01 = f64x2.splat(0);
  let c10 = f64x2.splat(0);
  let c11 = f64x2.splat(0);
  let c20 = f64x2.splat(0);
  let c21 = f64x2.splat(0);
  let c30 = f64x2.splat(0);
  let c31 = f64x2.splat(0);
  for (let p = 0; p < kc; p++) {
    const w0 = v128.load(wp);
    const w1 = v128.load(wp, 16);
    let a = v128.load64_splat(ap);
    c00 = f64x2.add(c00, f64x2.mul(a, w0));
    c01 = f64x2.add(c01, f64x2.mul(a, w1));
    a = v128.load64_splat(ap, 8);
    c10 = f64x2.add(c10, f64x2.mul(a, w0));
    c11 = f64x2.add(c11, f64x2.mul(a, w1));
    a = v128.load64_splat(ap, 16);
    c20 = f64x2.add(c20, f64x2.mul(a, w0));
    c21 = f64x2.add(c21, f64x2.mul(a, w1));
    a = v128.load64_splat(ap, 24);
    c30 = f64x2.add(c30, f64x2.mul(a, w0));
    c31 = f64x2.add(c31, f64x2.mul(a, w1));
    ap += 32;
    wp += 32;
  }
  v128.store(tile, c00);
  v128.store(tile, c01, 16);
  v128.store(tile, c10, 32);
  v128.store(tile, c11, 48);
  v128.store(tile, c20, 64);
  v128.store(tile, c21, 80);
  v128.store(tile, c30, 96);
  v128.store(tile, c31, 112);
}

// C (M × N, row-major) ← (acc: C +) Σ_{p<K} a_p ⊗ w_p, with
//   aDown 0: a_p[i] = A[aRow(i), p];   aDown 1: a_p[i] = A[aRow(p), i];
//   wDown 0: w_p[j] = W[j, p];         wDown 1: w_p[j] = W[p, j];
// aRow(i) = rows[i] when useRows, else i; W is never gathered.
function gemmBlocked(c: usize, M: i32, N: i32, K: i32, acc: i32, a: usize, lda: i32, rows: usize, useRows: i32, aDown: i32, w: usize, ldw: i32, wDown: i32, scratch: usize): void {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!acc) memory.fill(c, 0, (<usize>M * <usize>N) << 3);
    return;
  }
  const mBlocks = (M + MR - 1) / MR;
  const apack = scratch;
  const wpack = apack + ((<usize>mBlocks * <usize>MR * <usize>KC) << 3);
  const tile = wpack + ((<usize>KC * <usize>NR) << 3);
  const ldc = <usize>N << 3;
  for (let p0 = 0; p0 < K; p0 += KC) {
    const kc = min(KC, K - p0);
    const panelBytes = (<usize>MR * <usize>kc) << 3;
    for (let ib = 0; ib < mBlocks; ib++) {
      const panel = apack + <usize>ib * panelBytes;
      if (aDown) packDownColumns(panel, a, lda, rows, useRows, ib * MR, M, p0, kc);
      else packAlongRows(panel, a, lda, rows, useRows, ib * MR, M, p0, kc);
    }
    const add = acc || p0 > 0;
    for (let j0 = 0; j0 < N; j0 += NR) {
      if (wDown) packDownColumns(wpack, w, ldw, 0, 0, j0, N, p0, kc);
      else packAlongRows(wpack, w, ldw, 0, 0, j0, N, p0, kc);
      const nj = min(NR, N - j0);
      for (let ib = 0; ib < mBlocks; ib++) {
        const i0 = ib * MR;
        microKernel4x4(tile, apack + <usize>ib * panelBytes, wpack, kc);
        const mi = min(MR, M - i0);
        for (let i = 0; i < mi; i++) {
          const cr = c + <usize>(i0 + i) * ldc + (<usize>j0 << 3);
          const tr = tile + ((<usize>(i * NR)) << 3);
          if (nj == 4) {
            if (add) {
              v128.store(cr, f64x2.add(v128.load(cr), v128.load(tr)));
              v128.store(cr, f64x2.add(v128.load(cr, 16), v128.load(tr, 16)), 16);
            } else {
              v128.store(cr, v128.load(tr));
              v128.store(cr, v128.load(tr, 16), 16);
            }
          } else if (add) {
            for (let j = 0; j < nj; j++) store<f64>(cr + (<usize>j << 3), load<f64>(cr + (<usize>j << 3)) + load<f64>(tr + (<usize>j << 3)));
          } else {
            for (let j = 0; j < nj; j++) store<f64>(cr + (<usize>j << 3), load<f64>(tr + (<usize>j << 3)));
          }
        }
      }
    }
  }
}

/** Scratch (float64s) the GEMM kernels need for an output of `m` rows (m = count for gemm/gemmNT, k for gemmTNAcc). */
export function gemmScratchLength(m: i32): i32 {
  return ((m + MR - 1) / MR) * MR * KC + KC * NR + MR * NR;
}

// Epilogue over C (M × N, row-major), in this order: C + 1·biasᵀ (bias ≠ 0,
// N entries); then ReLU, v > 0 ? v : 0 (relu ≠ 0; NaN and −0 become +0);
// then v where mask > 0, else +0 (mask ≠ 0, M × N) — the same values as the
// scalar passes of the TypeScript reference.
function epilogue(c: usize, M: i32, N: i32, bias: usize, relu: i32, mask: usize): void {
  const zero = f64x2.splat(0);
  const rowBytes = <usize>N << 3;
  for (let i = 0; i < M; i++) {
    const row = c + <usize>i * rowBytes;
    const mrow = mask + <usize>i * rowBytes;
    let j = 0;
    for (; j + 1 < N; j += 2) {
      const o = <usize>j << 3;
      let v = v128.load(row + o);
      if (bias) v = f64x2.add(v, v128.load(bias + o));
      if (relu) v = v128.and(v, f64x2.gt(v, zero));
      if (mask) v = v128.and(v, f64x2.gt(v128.load(mrow + o), zero));
      v128.store(row + o, v);
    }
    if (j < N) {
      const o = <usize>j << 3;
      let v = load<f64>(row + o);
      if (bias) v += load<f64>(bias + o);
      if (relu) v = v > 0 ? v : 0;
      if (mask && !(load<f64>(mrow + o) > 0)) v = 0;
      store<f64>(row + o, v);
    }
  }
}

/**
 * out (count × n) ← A[rows] · W: A row-major with k columns, W k × n; then
 * the epilogue: + bias (bias ≠ 0), ReLU (relu ≠ 0), ⊙ 1[mask > 0] (mask ≠ 0, count × n).
 */
export function gemm(out: usize, a: usize, k: i32, rows: usize, useRows: i32, count: i32, w: usize, n: i32, bias: usize, relu: i32, mask: usize, scratch: usize): void {
  gemmBlocked(out, count, n, k, 0, a, k, rows, useRows, 0, w, n, 1, scratch);
  if (bias || relu || mask) epilogue(out, count, n, bias, relu, mask);
}

/** out (count × k) ← D · Wᵀ: D count × n, W k × n (never transposed in memory); then ⊙ 1[mask > 0] (mask ≠ 0, count × k). */
export function gemmNT(out: usize, d: usize, count: i32, n: i32, w: usize, k: i32, mask: usize, scratch: usize): void {
  gemmBlocked(out, count, k, n, 0, d, n, 0, 0, 0, w, n, 0, scratch);
  if (mask) epilogue(out, count, k, 0, 0, mask);
}

/** G (k × n) += A[rows]ᵀ · D: A row-major with k columns, D count × n. */
export function gemmTNAcc(g: usize, a: usize, k: i32, rows: usize, useRows: i32, count: i32, d: usize, n: i32, scratch: usize): void {
  gemmBlocked(g, k, n, count, 1, a, k, rows, useRows, 1, d, n, 1, scratch);
}
