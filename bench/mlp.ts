/**
 * MLP oracle cases of `npm run bench`: gradient, HVP and JVP of a tanh MLP
 * with softmax cross-entropy and a per-weight decay e^λ ⊙ W (the lower-level
 * loss shape of the meta-learning and hyper-cleaning problems), at
 * 784-20-20-10 and 784-300-10 with batch 100, through dbo's kernel set
 * (src/linalg/kernels.ts). bench/numpy_side.py's `Mlp` is the same
 * computation in NumPy. These stand-in cases predate the neural-network
 * problems; the goal's figures are now the real oracles' cases in
 * bench/mlp-real.ts, and these are kept, labelled as stand-ins, for
 * comparison. The HVP is checked against a finite difference of the
 * gradient before timing.
 */
import { kernels } from '../src/linalg/kernels.ts';
import { Rng } from '../src/random/rng.ts';
import type { Case, Sample } from './run.ts';

/** Row-major r × c transpose into `out`. */
function transposeInto(out: Float64Array, a: Float64Array, r: number, c: number): void {
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = a[i * c + j]!;
}

export class Mlp {
  readonly layers: number;
  readonly ws: Float64Array[];
  readonly bs: Float64Array[];
  readonly lam: Float64Array[];
  readonly vs: Float64Array[];
  readonly vb: Float64Array[];
  readonly x: Float64Array;
  readonly labels: Int32Array;
  /** Activations (B × size_k), their tangents, deltas and scratch. */
  private readonly acts: Float64Array[];
  private readonly racts: Float64Array[];
  private readonly wt: Float64Array[];
  private readonly vt: Float64Array[];
  private readonly tmpA: Float64Array[];
  private readonly tmpB: Float64Array[];
  private readonly deltas: Float64Array[];
  private readonly rdeltas: Float64Array[];
  readonly gw: Float64Array[];
  readonly gb: Float64Array[];

  constructor(
    readonly sizes: readonly number[],
    readonly batch: number,
    seed = 3,
  ) {
    const rng = new Rng(seed, 'bench', 'mlp');
    const n = sizes.length - 1;
    this.layers = n;
    const vec = (len: number, s: number) => Float64Array.from({ length: len }, () => s * rng.normal());
    this.ws = Array.from({ length: n }, (_, k) => vec(sizes[k]! * sizes[k + 1]!, 1 / Math.sqrt(sizes[k]!)));
    this.bs = Array.from({ length: n }, (_, k) => new Float64Array(sizes[k + 1]!));
    this.vs = Array.from({ length: n }, (_, k) => vec(sizes[k]! * sizes[k + 1]!, 1));
    this.vb = Array.from({ length: n }, (_, k) => vec(sizes[k + 1]!, 1));
    this.lam = Array.from({ length: n }, (_, k) => vec(sizes[k]! * sizes[k + 1]!, 0.1));
    this.x = vec(batch * sizes[0]!, 1);
    this.labels = Int32Array.from({ length: batch }, () => rng.int(sizes[n]!));
    this.acts = sizes.map((s) => new Float64Array(batch * s));
    this.racts = sizes.map((s) => new Float64Array(batch * s));
    this.deltas = sizes.map((s) => new Float64Array(batch * s));
    this.rdeltas = sizes.map((s) => new Float64Array(batch * s));
    this.tmpA = sizes.map((s) => new Float64Array(batch * s));
    this.tmpB = sizes.map((s) => new Float64Array(batch * s));
    this.wt = this.ws.map((w) => new Float64Array(w.length));
    this.vt = this.vs.map((w) => new Float64Array(w.length));
    this.gw = this.ws.map((w) => new Float64Array(w.length));
    this.gb = this.bs.map((b) => new Float64Array(b.length));
  }

  /** out (B × cols) ← a (B × inner) · y (inner × cols). */
  private mm(out: Float64Array, a: Float64Array, inner: number, y: Float64Array, cols: number): void {
    kernels().gemm(out, a, inner, null, this.batch, y, cols);
  }

  /** out (inner × cols) ← out + aᵀ (inner × B) · r (B × cols). */
  private mmT(out: Float64Array, a: Float64Array, inner: number, r: Float64Array, cols: number): void {
    kernels().gemmTNAcc(out, a, inner, null, this.batch, r, cols);
  }

  private addBias(z: Float64Array, b: Float64Array): void {
    const c = b.length;
    for (let i = 0; i < this.batch; i++) for (let j = 0; j < c; j++) z[i * c + j]! += b[j]!;
  }

  /** Forward pass; with `tangent`, also the R-op tangents along (vs, vb). */
  private forward(tangent: boolean): void {
    this.acts[0]!.set(this.x);
    this.racts[0]!.fill(0);
    for (let k = 0; k < this.layers; k++) {
      const [nin, nout] = [this.sizes[k]!, this.sizes[k + 1]!];
      const z = this.acts[k + 1]!;
      this.mm(z, this.acts[k]!, nin, this.ws[k]!, nout);
      this.addBias(z, this.bs[k]!);
      if (tangent) {
        const rz = this.racts[k + 1]!;
        this.mm(rz, this.acts[k]!, nin, this.vs[k]!, nout);
        if (k > 0) {
          this.mm(this.tmpA[k + 1]!, this.racts[k]!, nin, this.ws[k]!, nout);
          for (let i = 0; i < rz.length; i++) rz[i]! += this.tmpA[k + 1]![i]!;
        }
        this.addBias(rz, this.vb[k]!);
      }
      if (k < this.layers - 1)
        for (let i = 0; i < z.length; i++) {
          const h = Math.tanh(z[i]!);
          z[i] = h;
          if (tangent) this.racts[k + 1]![i]! *= 1 - h * h;
        }
    }
  }

  /** δ_L ← (softmax(z_L) − onehot)/B; with `tangent`, rδ_L too. */
  private outputDelta(tangent: boolean): void {
    const c = this.sizes[this.layers]!;
    const z = this.acts[this.layers]!;
    const d = this.deltas[this.layers]!;
    const rz = this.racts[this.layers]!;
    const rd = this.rdeltas[this.layers]!;
    for (let i = 0; i < this.batch; i++) {
      const off = i * c;
      let max = -Infinity;
      for (let j = 0; j < c; j++) max = Math.max(max, z[off + j]!);
      let sum = 0;
      for (let j = 0; j < c; j++) sum += (d[off + j] = Math.exp(z[off + j]! - max));
      let su = 0;
      for (let j = 0; j < c; j++) {
        d[off + j]! /= sum;
        su += d[off + j]! * rz[off + j]!;
      }
      if (tangent) for (let j = 0; j < c; j++) rd[off + j] = (d[off + j]! * (rz[off + j]! - su)) / this.batch;
      d[off + this.labels[i]!]! -= 1;
      for (let j = 0; j < c; j++) d[off + j]! /= this.batch;
    }
  }

  /** Gradient into gw, gb. */
  grad(): void {
    this.forward(false);
    this.outputDelta(false);
    for (let k = this.layers - 1; k >= 0; k--) {
      const [nin, nout] = [this.sizes[k]!, this.sizes[k + 1]!];
      const delta = this.deltas[k + 1]!;
      const gw = this.gw[k]!;
      const w = this.ws[k]!;
      const lam = this.lam[k]!;
      for (let i = 0; i < gw.length; i++) gw[i] = Math.exp(lam[i]!) * w[i]!;
      this.mmT(gw, this.acts[k]!, nin, delta, nout);
      this.columnSums(this.gb[k]!, delta, nout);
      if (k > 0) {
        transposeInto(this.wt[k]!, w, nin, nout);
        const back = this.deltas[k]!;
        this.mm(back, delta, nout, this.wt[k]!, nin);
        const a = this.acts[k]!;
        for (let i = 0; i < back.length; i++) back[i]! *= 1 - a[i]! * a[i]!;
      }
    }
  }

  /** HVP along (vs, vb) into gw, gb (Pearlmutter's R-op over the backward pass). */
  hvp(): void {
    this.forward(true);
    this.outputDelta(true);
    for (let k = this.layers - 1; k >= 0; k--) {
      const [nin, nout] = [this.sizes[k]!, this.sizes[k + 1]!];
      const delta = this.deltas[k + 1]!;
      const rdelta = this.rdeltas[k + 1]!;
      const hw = this.gw[k]!;
      const v = this.vs[k]!;
      const lam = this.lam[k]!;
      for (let i = 0; i < hw.length; i++) hw[i] = Math.exp(lam[i]!) * v[i]!;
      this.mmT(hw, this.racts[k]!, nin, delta, nout);
      this.mmT(hw, this.acts[k]!, nin, rdelta, nout);
      this.columnSums(this.gb[k]!, rdelta, nout);
      if (k > 0) {
        transposeInto(this.wt[k]!, this.ws[k]!, nin, nout);
        transposeInto(this.vt[k]!, v, nin, nout);
        const back = this.tmpA[k]!;
        const rback = this.tmpB[k]!;
        this.mm(back, delta, nout, this.wt[k]!, nin);
        this.mm(rback, rdelta, nout, this.wt[k]!, nin);
        this.mm(this.deltas[k]!, delta, nout, this.vt[k]!, nin); // δ·Vᵀ, added into rback below
        const a = this.acts[k]!;
        const ra = this.racts[k]!;
        const nd = this.deltas[k]!;
        const nrd = this.rdeltas[k]!;
        for (let i = 0; i < back.length; i++) {
          const s = 1 - a[i]! * a[i]!;
          nrd[i] = (rback[i]! + nd[i]!) * s - back[i]! * 2 * a[i]! * ra[i]!;
          nd[i] = back[i]! * s;
        }
      }
    }
  }

  /** JVP: ∇²_{λW} of Σ e^λ W²/2 along V: e^λ ⊙ W ⊙ V, into gw. */
  jvp(): void {
    for (let k = 0; k < this.layers; k++) {
      const [out, lam, w, v] = [this.gw[k]!, this.lam[k]!, this.ws[k]!, this.vs[k]!];
      for (let i = 0; i < out.length; i++) out[i] = Math.exp(lam[i]!) * w[i]! * v[i]!;
    }
  }

  private columnSums(out: Float64Array, m: Float64Array, c: number): void {
    out.fill(0);
    for (let i = 0; i < this.batch; i++) for (let j = 0; j < c; j++) out[j]! += m[i * c + j]!;
  }
}

/** Relative error of the HVP against a central difference of the gradient along (vs, vb). */
export function hvpCheck(net: Mlp, h = 1e-5): number {
  const copy = (xs: Float64Array[]) => xs.map((x) => Float64Array.from(x));
  net.hvp();
  const hv = [...copy(net.gw), ...copy(net.gb)];
  const shift = (s: number) => {
    net.ws.forEach((w, k) => w.forEach((_, i) => (w[i]! += s * net.vs[k]![i]!)));
    net.bs.forEach((b, k) => b.forEach((_, i) => (b[i]! += s * net.vb[k]![i]!)));
  };
  shift(h);
  net.grad();
  const plus = [...copy(net.gw), ...copy(net.gb)];
  shift(-2 * h);
  net.grad();
  const minus = [...copy(net.gw), ...copy(net.gb)];
  shift(h);
  let num = 0;
  let den = 0;
  hv.forEach((v, k) =>
    v.forEach((e, i) => {
      const fd = (plus[k]![i]! - minus[k]![i]!) / (2 * h);
      num += (e - fd) ** 2;
      den += fd * fd;
    }),
  );
  return Math.sqrt(num / den);
}

export function mlpCases(clock: () => number, clockName: string): Case[] {
  const cases: Case[] = [];
  for (const sizes of [
    [784, 20, 20, 10],
    [784, 300, 10],
  ]) {
    const shape = sizes.join('x');
    let net: Mlp | null = null;
    const get = (): Mlp => {
      if (!net) {
        net = new Mlp(sizes, 100);
        const err = hvpCheck(net);
        if (!(err < 1e-6)) throw new Error(`MLP ${sizes.join('-')}: HVP differs from a finite difference of the gradient (relative error ${err})`);
      }
      return net;
    };
    for (const oracle of ['grad', 'hvp', 'jvp'] as const) {
      const calls = oracle === 'jvp' ? 200 : sizes[1]! > 100 ? 10 : 40;
      const sample = (): Sample => {
        const n = get();
        const t0 = clock();
        for (let j = 0; j < calls; j++) n[oracle]();
        return { seconds: (clock() - t0) / calls };
      };
      cases.push({
        goal: 'stand-in (not the goal figure)',
        name: `stand-in tanh MLP ${sizes.join('-')}, batch 100: ${oracle === 'grad' ? 'gradient' : oracle.toUpperCase()}`,
        kind: 'time',
        unit: 'µs',
        target: 1,
        warm: () => void sample(),
        dbo: sample,
        numpy: { case: `mlp-${shape}-${oracle}`, batch: 100, calls, clock: clockName },
      });
    }
  }
  return cases;
}
