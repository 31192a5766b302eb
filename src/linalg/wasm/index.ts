/**
 * The WebAssembly SIMD kernel set (AssemblyScript source in
 * assembly/kernels.ts, built into ./kernels-wasm.ts). It implements the same
 * `RowKernels` interface as the TypeScript reference and gives the same
 * results up to rounding (test/linalg/wasm.test.ts: 1e-12 relative).
 *
 * Memory: tables pinned with `pinTable` (feature tables and labels of data
 * sets, which are never written again) are copied into WebAssembly memory
 * once, on first use, and found again by identity of the typed array (a
 * WeakMap), so kernels read them with no per-call copy; the region is freed
 * when the array is garbage-collected. Unpinned tables (activations, say) and
 * the small per-call arguments (parameters, row indices, outputs) are copied
 * in on every call through reusable arenas.
 */
import type { PassPoint } from '../fused.ts';
import type { RowKernels } from '../kernels.ts';
import { isPinned } from '../pinned.ts';
import { KERNELS_WASM_BASE64 } from './kernels-wasm.ts';

interface Exports {
  readonly memory: WebAssembly.Memory;
  softmaxForwardRows(probs: number, a: number, d: number, rows: number, useRows: number, count: number, labels: number, y: number, c: number, scratch: number): number;
  softmaxGradientRows(out: number, probs: number, a: number, d: number, rows: number, useRows: number, count: number, labels: number, y: number, c: number, scale: number, scratch: number): number;
  softmaxHvpRows(out: number, probs: number, a: number, d: number, rows: number, useRows: number, count: number, v: number, c: number, scale: number, scratch: number): void;
  softmaxPassRows(
    points: number, hvp: number, a: number, d: number, rows: number, useRows: number, count: number, labels: number, c: number, scale: number, scratch: number,
    y0: number, v0: number, gOut0: number, hOut0: number, probs0: number,
    y1: number, v1: number, gOut1: number, hOut1: number, probs1: number,
  ): void;
  gatherGemm(out: number, a: number, d: number, rows: number, useRows: number, count: number, y: number, c: number, scratch: number): void;
  gatherGemmTAcc(out: number, a: number, d: number, rows: number, useRows: number, count: number, r: number, c: number, s: number, scratch: number): void;
  gemv(out: number, a: number, rows: number, cols: number, x: number): void;
  gemmScratchLength(m: number): number;
  gemm(out: number, a: number, k: number, rows: number, useRows: number, count: number, w: number, n: number, bias: number, relu: number, mask: number, scratch: number): void;
  gemmNT(out: number, d: number, count: number, n: number, w: number, k: number, mask: number, scratch: number): void;
  gemmTNAcc(g: number, a: number, k: number, rows: number, useRows: number, count: number, d: number, n: number, scratch: number): void;
}

const PAGE = 65536;
const ALIGN = 16;

/** First-fit allocator over the module's memory, growing it as needed. */
class Heap {
  /** Free blocks [start, size), sorted by start, coalesced. */
  private readonly free: Array<[number, number]> = [];

  constructor(private readonly memory: WebAssembly.Memory) {
    // The module's static data (if any) lives below the first page boundary it was given.
    const start = memory.buffer.byteLength;
    this.free.push([start, 0]);
  }

  alloc(bytes: number): number {
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    for (let i = 0; i < this.free.length; i++) {
      const block = this.free[i]!;
      if (block[1] >= size) {
        const at = block[0];
        block[0] += size;
        block[1] -= size;
        if (block[1] === 0 && i < this.free.length - 1) this.free.splice(i, 1);
        return at;
      }
    }
    // Grow: extend the last block if it ends at the top of memory.
    const top = this.memory.buffer.byteLength;
    const last = this.free[this.free.length - 1];
    const tail = last && last[0] + last[1] === top ? last[1] : 0;
    // Grow at least by half the current size: growing may copy the memory, so
    // geometric growth keeps the total copying linear in the final size.
    const pages = Math.max(Math.ceil((size - tail) / PAGE), Math.ceil(top / PAGE / 2));
    this.memory.grow(pages);
    if (last && last[0] + last[1] === top) last[1] += pages * PAGE;
    else this.free.push([top, pages * PAGE]);
    return this.alloc(bytes);
  }

  release(at: number, bytes: number): void {
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    let i = 0;
    while (i < this.free.length && this.free[i]![0] < at) i++;
    this.free.splice(i, 0, [at, size]);
    // Coalesce with the next and the previous block.
    const cur = this.free[i]!;
    const next = this.free[i + 1];
    if (next && cur[0] + cur[1] === next[0]) {
      cur[1] += next[1];
      this.free.splice(i + 1, 1);
    }
    const prev = this.free[i - 1];
    if (prev && prev[0] + prev[1] === cur[0]) {
      prev[1] += cur[1];
      this.free.splice(i, 1);
    }
  }
}

type Resident = Float64Array | Int32Array;

class WasmKernels implements RowKernels {
  readonly name = 'wasm';
  private readonly ex: Exports;
  private readonly heap: Heap;
  private f64 = new Float64Array(0);
  private i32 = new Int32Array(0);
  /** Tables and label arrays resident in WebAssembly memory: array → byte offset. */
  private readonly resident = new WeakMap<Resident, number>();
  private readonly finalizer: FinalizationRegistry<{ at: number; bytes: number }>;
  /** The call arena: offset and size in bytes. */
  private arena = 0;
  private arenaBytes = 0;
  /** Staging areas for unpinned tables (slot 0: features, slot 1: labels). */
  private readonly stageAt = [0, 0];
  private readonly stageBytes = [0, 0];
  /** The call arena's block offsets (layout's result, reused). */
  private readonly offsets = new Int32Array(5);

  constructor(module: WebAssembly.Module) {
    const instance = new WebAssembly.Instance(module, {
      env: {
        abort: () => {
          throw new Error('WebAssembly kernel aborted');
        },
      },
    });
    this.ex = instance.exports as unknown as Exports;
    this.heap = new Heap(this.ex.memory);
    this.finalizer = new FinalizationRegistry(({ at, bytes }) => this.heap.release(at, bytes));
    this.refresh();
  }

  /** Re-creates the memory views after the memory grew (growth detaches the old buffer). */
  private refresh(): void {
    const buf = this.ex.memory.buffer;
    if (this.f64.buffer !== buf) {
      this.f64 = new Float64Array(buf);
      this.i32 = new Int32Array(buf);
    }
  }

  /**
   * Byte offset of `arr` in WebAssembly memory: its resident copy when pinned
   * (copied in on first use), else a fresh copy in staging slot `slot`.
   * Call `place` for every table of a call before `layout`: staging may grow
   * the memory, and `layout` refreshes the views last.
   */
  private place(arr: Resident, slot: 0 | 1 = 0, used: number = arr.length): number {
    // Resident tables first: one WeakMap lookup on the common path.
    const known = this.resident.get(arr);
    if (known !== undefined) return known;
    if (!isPinned(arr)) {
      // Only the first `used` entries of an unpinned table are read by the call.
      const bytes = used * arr.BYTES_PER_ELEMENT;
      if (bytes > this.stageBytes[slot]!) {
        if (this.stageBytes[slot]! > 0) this.heap.release(this.stageAt[slot]!, this.stageBytes[slot]!);
        this.stageBytes[slot] = Math.max(bytes, 2 * this.stageBytes[slot]!, 1 << 16);
        this.stageAt[slot] = this.heap.alloc(this.stageBytes[slot]!);
      }
      this.refresh();
      const at = this.stageAt[slot]!;
      const part = used === arr.length ? arr : arr.subarray(0, used);
      if (part instanceof Float64Array) this.f64.set(part, at >> 3);
      else this.i32.set(part, at >> 2);
      return at;
    }
    const bytes = arr.length * arr.BYTES_PER_ELEMENT;
    const at = this.heap.alloc(bytes);
    this.refresh();
    if (arr instanceof Float64Array) this.f64.set(arr, at >> 3);
    else this.i32.set(arr, at >> 2);
    this.resident.set(arr, at);
    this.finalizer.register(arr, { at, bytes });
    return at;
  }

  /** The call arena with at least `bytes` bytes. */
  private arenaOf(bytes: number): number {
    if (bytes > this.arenaBytes) {
      if (this.arenaBytes > 0) this.heap.release(this.arena, this.arenaBytes);
      this.arenaBytes = Math.max(bytes, 2 * this.arenaBytes, 1 << 16);
      this.arena = this.heap.alloc(this.arenaBytes);
    }
    this.refresh();
    return this.arena;
  }

  /**
   * Lays out the call arena: float64 blocks of the given lengths, then `rowCount`
   * int32 row indices; returns their byte offsets (rows last).
   */
  private layout(n0: number, n1: number, n2: number, n3: number, rowCount: number): Int32Array {
    const s0 = Math.ceil((n0 * 8) / ALIGN) * ALIGN;
    const s1 = Math.ceil((n1 * 8) / ALIGN) * ALIGN;
    const s2 = Math.ceil((n2 * 8) / ALIGN) * ALIGN;
    const s3 = Math.ceil((n3 * 8) / ALIGN) * ALIGN;
    const at = this.arenaOf(s0 + s1 + s2 + s3 + rowCount * 4 + ALIGN);
    const out = this.offsets;
    out[0] = at;
    out[1] = at + s0;
    out[2] = out[1]! + s1;
    out[3] = out[2]! + s2;
    out[4] = out[3]! + s3;
    return out;
  }

  /** Copies the first n entries of `src` to byte offset `at` (short copies without a view object). */
  private putF64(src: Float64Array, n: number, at: number): void {
    const f = this.f64;
    const o = at >> 3;
    if (n > 256) f.set(n === src.length ? src : src.subarray(0, n), o);
    else for (let i = 0; i < n; i++) f[o + i] = src[i]!;
  }

  /** Copies n float64 values from byte offset `at` into `dst`. */
  private getF64(dst: Float64Array, n: number, at: number): void {
    const f = this.f64;
    const o = at >> 3;
    if (n > 256) dst.set(f.subarray(o, o + n));
    else for (let i = 0; i < n; i++) dst[i] = f[o + i]!;
  }

  private putRows(at: number, rows: Int32Array | null, count: number): void {
    if (rows === null) return;
    const r = this.i32;
    const o = at >> 2;
    if (count > 256) r.set(rows.subarray(0, count), o);
    else for (let i = 0; i < count; i++) r[o + i] = rows[i]!;
  }

  softmaxForwardRows = (probs: Float64Array, a: Float64Array, d: number, rows: Int32Array | null, count: number, labels: Int32Array, y: Float64Array, c: number): number => {
    const aAt = this.place(a);
    const lAt = this.place(labels, 1);
    const o = this.layout(count * c, d * c, 2 * c * d + 4 * c, 0, rows === null ? 0 : count);
    const pAt = o[0]!, yAt = o[1]!, sAt = o[2]!, rAt = o[4]!;
    this.putF64(y, d * c, yAt);
    this.putRows(rAt, rows, count);
    const loss = this.ex.softmaxForwardRows(pAt, aAt, d, rAt, rows === null ? 0 : 1, count, lAt, yAt, c, sAt);
    this.getF64(probs, count * c, pAt);
    return loss;
  };

  softmaxGradientRows = (out: Float64Array, probs: Float64Array, a: Float64Array, d: number, rows: Int32Array | null, count: number, labels: Int32Array, y: Float64Array, c: number, scale: number): number => {
    const aAt = this.place(a);
    const lAt = this.place(labels, 1);
    const o = this.layout(d * c, count * c, d * c, 2 * c * d + 4 * c, rows === null ? 0 : count);
    const oAt = o[0]!, pAt = o[1]!, yAt = o[2]!, sAt = o[3]!, rAt = o[4]!;
    this.putF64(y, d * c, yAt);
    this.putRows(rAt, rows, count);
    const loss = this.ex.softmaxGradientRows(oAt, pAt, aAt, d, rAt, rows === null ? 0 : 1, count, lAt, yAt, c, scale, sAt);
    this.getF64(out, d * c, oAt);
    this.getF64(probs, count * c, pAt);
    return loss;
  };

  softmaxHvpRows = (out: Float64Array, probs: Float64Array, a: Float64Array, d: number, rows: Int32Array | null, count: number, v: Float64Array, c: number, scale: number): void => {
    const aAt = this.place(a);
    const o = this.layout(d * c, count * c, d * c, 2 * c * d + 4 * c, rows === null ? 0 : count);
    const oAt = o[0]!, pAt = o[1]!, vAt = o[2]!, sAt = o[3]!, rAt = o[4]!;
    this.putF64(v, d * c, vAt);
    this.putF64(probs, count * c, pAt);
    this.putRows(rAt, rows, count);
    this.ex.softmaxHvpRows(oAt, pAt, aAt, d, rAt, rows === null ? 0 : 1, count, vAt, c, scale, sAt);
    this.getF64(out, d * c, oAt);
  };

  /**
   * Arena per point: Y, V, gradient, HVP (d·c each) and probabilities
   * (count·c); then the kernel's scratch (8·c·d + 16·c) and the row indices.
   */
  softmaxPassRows = (points: ReadonlyArray<PassPoint>, a: Float64Array, d: number, rows: Int32Array | null, count: number, labels: Int32Array, c: number, scale: number): void => {
    const k = points.length;
    if (k < 1 || k > 2) throw new Error(`softmaxPassRows takes 1 or 2 points, got ${k}`);
    const p0 = points[0]!;
    const p1 = points[k - 1]!;
    const hvp = p0.v !== null;
    const aAt = this.place(a);
    const lAt = this.place(labels, 1);
    const cd = c * d;
    const block = Math.ceil((cd * 8) / ALIGN) * ALIGN;
    const probsBlock = Math.ceil((count * c * 8) / ALIGN) * ALIGN;
    const perPoint = 4 * block + probsBlock;
    const scratchBytes = Math.ceil(((8 * cd + 16 * c) * 8) / ALIGN) * ALIGN;
    const at0 = this.arenaOf(2 * perPoint + scratchBytes + count * 4 + ALIGN);
    const at1 = at0 + perPoint;
    const sAt = at1 + perPoint;
    const rAt = sAt + scratchBytes;
    this.putF64(p0.y, cd, at0);
    if (hvp) this.putF64(p0.v!, cd, at0 + block);
    if (k > 1) {
      this.putF64(p1.y, cd, at1);
      if (hvp) this.putF64(p1.v!, cd, at1 + block);
    }
    this.putRows(rAt, rows, count);
    this.ex.softmaxPassRows(k, hvp ? 1 : 0, aAt, d, rAt, rows === null ? 0 : 1, count, lAt, c, scale, sAt,
      at0, at0 + block, at0 + 2 * block, at0 + 3 * block, at0 + 4 * block,
      at1, at1 + block, at1 + 2 * block, at1 + 3 * block, at1 + 4 * block);
    for (let j = 0; j < k; j++) {
      const pt = points[j]!;
      const at = j === 0 ? at0 : at1;
      this.getF64(pt.grad, cd, at + 2 * block);
      if (hvp) this.getF64(pt.hvp!, cd, at + 3 * block);
      if (pt.probs) this.getF64(pt.probs, count * c, at + 4 * block);
    }
  };

  gatherGemm = (out: Float64Array, a: Float64Array, d: number, rows: Int32Array | null, count: number, y: Float64Array, c: number): void => {
    const aAt = this.place(a);
    const o = this.layout(count * c, d * c, c * d + 2, 0, rows === null ? 0 : count);
    const oAt = o[0]!, yAt = o[1]!, sAt = o[2]!, rAt = o[4]!;
    this.putF64(y, d * c, yAt);
    this.putRows(rAt, rows, count);
    this.ex.gatherGemm(oAt, aAt, d, rAt, rows === null ? 0 : 1, count, yAt, c, sAt);
    this.getF64(out, count * c, oAt);
  };

  gatherGemmTAcc = (out: Float64Array, a: Float64Array, d: number, rows: Int32Array | null, count: number, r: Float64Array, c: number, s: number): void => {
    const aAt = this.place(a);
    const o = this.layout(d * c, count * c, c * d + 2 * c + 2, 0, rows === null ? 0 : count);
    const oAt = o[0]!, rrAt = o[1]!, sAt = o[2]!, rAt = o[4]!;
    this.putF64(out, d * c, oAt);
    this.putF64(r, count * c, rrAt);
    this.putRows(rAt, rows, count);
    this.ex.gatherGemmTAcc(oAt, aAt, d, rAt, rows === null ? 0 : 1, count, rrAt, c, s, sAt);
    this.getF64(out, d * c, oAt);
  };

  /** out ← A x for a row-major rows × cols matrix held in `a` (resident). */
  gemv = (out: Float64Array, a: Float64Array, rowCount: number, cols: number, x: Float64Array): void => {
    const aAt = this.place(a);
    const o = this.layout(rowCount, cols, 0, 0, 0);
    const oAt = o[0]!, xAt = o[1]!;
    this.putF64(x, cols, xAt);
    this.ex.gemv(oAt, aAt, rowCount, cols, xAt);
    this.getF64(out, rowCount, oAt);
  };

  gemm = (out: Float64Array, a: Float64Array, k: number, rows: Int32Array | null, count: number, w: Float64Array, n: number, bias: Float64Array | null = null, relu = false, mask: Float64Array | null = null): void => {
    const aAt = this.place(a, 0, rows === null ? count * k : a.length);
    // Blocks: out; W then the bias; scratch; the mask.
    const o = this.layout(count * n, k * n + (bias ? n : 0), this.ex.gemmScratchLength(count), mask ? count * n : 0, rows === null ? 0 : count);
    const oAt = o[0]!, wAt = o[1]!, sAt = o[2]!, mAt = o[3]!, rAt = o[4]!;
    const bAt = wAt + k * n * 8;
    this.putF64(w, k * n, wAt);
    if (bias) this.putF64(bias, n, bAt);
    if (mask) this.putF64(mask, count * n, mAt);
    this.putRows(rAt, rows, count);
    this.ex.gemm(oAt, aAt, k, rAt, rows === null ? 0 : 1, count, wAt, n, bias ? bAt : 0, relu ? 1 : 0, mask ? mAt : 0, sAt);
    this.getF64(out, count * n, oAt);
  };

  gemmNT = (out: Float64Array, d: Float64Array, count: number, n: number, w: Float64Array, k: number, mask: Float64Array | null = null): void => {
    // Blocks: out; D then W; scratch; the mask.
    const o = this.layout(count * k, count * n + k * n, this.ex.gemmScratchLength(count), mask ? count * k : 0, 0);
    const oAt = o[0]!, dAt = o[1]!, sAt = o[2]!, mAt = o[3]!;
    const wAt = dAt + count * n * 8;
    this.putF64(d, count * n, dAt);
    this.putF64(w, k * n, wAt);
    if (mask) this.putF64(mask, count * k, mAt);
    this.ex.gemmNT(oAt, dAt, count, n, wAt, k, mask ? mAt : 0, sAt);
    this.getF64(out, count * k, oAt);
  };

  gemmTNAcc = (g: Float64Array, a: Float64Array, k: number, rows: Int32Array | null, count: number, d: Float64Array, n: number): void => {
    const aAt = this.place(a, 0, rows === null ? count * k : a.length);
    const o = this.layout(k * n, count * n, this.ex.gemmScratchLength(k), 0, rows === null ? 0 : count);
    const gAt = o[0]!, dAt = o[1]!, sAt = o[2]!, rAt = o[4]!;
    this.putF64(g, k * n, gAt);
    this.putF64(d, count * n, dAt);
    this.putRows(rAt, rows, count);
    this.ex.gemmTNAcc(gAt, aAt, k, rAt, rows === null ? 0 : 1, count, dAt, n, sAt);
    this.getF64(g, k * n, gAt);
  };
}

let instance: WasmKernels | null | undefined;

/** The WebAssembly kernel set, or null when this runtime cannot compile it (no WebAssembly SIMD). */
export function wasmKernels(): RowKernels | null {
  if (instance === undefined) {
    try {
      instance = new WasmKernels(new WebAssembly.Module(Buffer.from(KERNELS_WASM_BASE64, 'base64')));
    } catch {
      instance = null;
    }
  }
  return instance;
}
