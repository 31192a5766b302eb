/**
 * Seeded pseudo-random numbers: xoshiro128** with a splitmix32 seeder.
 *
 * Every component derives its own stream from (seed, label...) so that adding
 * a consumer never shifts another component's numbers. The state is four
 * uint32 words (held internally as int32, see Rng) and can be saved and
 * restored, so algorithm states that hold an RNG stay serializable.
 */

/** Mixes a 32-bit value (splitmix32 finalizer). */
function mix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x21f0aaad);
  h = Math.imul(h ^ (h >>> 15), 0x735a2d97);
  return (h ^ (h >>> 15)) >>> 0;
}

/** Derives a 32-bit seed from a base seed and labels (strings or integers). */
export function deriveSeed(seed: number, ...labels: ReadonlyArray<string | number>): number {
  let h = mix32((seed >>> 0) ^ 0x9e3779b9) ^ mix32(Math.floor(seed / 4294967296) >>> 0);
  for (const label of labels) {
    const text = typeof label === 'number' ? `#${label}` : label;
    for (let i = 0; i < text.length; i++) h = mix32(h ^ (text.charCodeAt(i) + 0x7f4a7c15));
    h = mix32(h ^ 0x2545f491);
  }
  return h >>> 0;
}

export type RngState = readonly [number, number, number, number];

/** 2π, as `2 * Math.PI` (the same double). */
const TWO_PI = 2 * Math.PI;

export class Rng {
  // The four xoshiro128** state words, kept as int32 values (`| 0`): V8 stores
  // small integers unboxed, while uint32 values above 2^31 would be heap
  // numbers and make every draw allocate (about 35 ns instead of a few ns per
  // uniform). They are the same 32 bits as the uint32 words of getState().
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;

  constructor(seed: number, ...labels: ReadonlyArray<string | number>) {
    this.reset(seed, ...labels);
  }

  /** Re-seeds this generator in place, exactly as `new Rng(seed, ...labels)` would. */
  reset(seed: number, ...labels: ReadonlyArray<string | number>): void {
    let x = deriveSeed(seed, ...labels);
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      return mix32(x) | 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  static fromState(state: RngState): Rng {
    const r = new Rng(0);
    r.setState(state);
    return r;
  }

  /** The state as four uint32 words. */
  getState(): RngState {
    return [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0];
  }

  /** Restores a state from getState() (each word is taken modulo 2^32, as the generator always did). */
  setState(state: RngState): void {
    const [a, b, c, d] = state;
    this.s0 = a | 0;
    this.s1 = b | 0;
    this.s2 = c | 0;
    this.s3 = d | 0;
  }

  /** Next uint32. */
  nextUint32(): number {
    const s0 = this.s0;
    const s1 = this.s1;
    const x = Math.imul(s1, 5);
    const result = Math.imul((x << 7) | (x >>> 25), 9);
    const s2 = this.s2 ^ s0;
    const s3 = this.s3 ^ s1;
    this.s0 = s0 ^ s3;
    this.s1 = s1 ^ s2;
    this.s2 = s2 ^ (s1 << 9);
    this.s3 = (s3 << 11) | (s3 >>> 21);
    return result >>> 0;
  }

  /** Uniform double in [0, 1) with 53 random bits (two nextUint32 steps, inlined). */
  uniform(): number {
    let s0 = this.s0;
    let s1 = this.s1;
    let s2 = this.s2;
    let s3 = this.s3;
    // First step: the top 27 bits.
    let x = Math.imul(s1, 5);
    const hi = Math.imul((x << 7) | (x >>> 25), 9) >>> 5;
    let t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = (s3 << 11) | (s3 >>> 21);
    // Second step: the top 26 bits.
    x = Math.imul(s1, 5);
    const lo = Math.imul((x << 7) | (x >>> 25), 9) >>> 6;
    t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    this.s1 = s1 ^ s2;
    this.s0 = s0 ^ s3;
    this.s2 = s2 ^ t;
    this.s3 = (s3 << 11) | (s3 >>> 21);
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** Standard normal (Box–Muller, one value per two uniforms). */
  normal(): number {
    let u = this.uniform();
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(TWO_PI * v);
  }

  /** Gamma(shape, 1) by Marsaglia–Tsang (with the boost for shape < 1). */
  gamma(shape: number): number {
    if (!(shape > 0)) throw new RangeError(`gamma shape must be > 0, got ${shape}`);
    if (shape < 1) return this.gamma(shape + 1) * Math.pow(this.uniform() || Number.MIN_VALUE, 1 / shape);
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let xn: number;
      let v: number;
      do {
        xn = this.normal();
        v = 1 + c * xn;
      } while (v <= 0);
      v = v * v * v;
      const u = this.uniform();
      if (u < 1 - 0.0331 * xn * xn * xn * xn) return d * v;
      if (Math.log(u) < 0.5 * xn * xn + d * (1 - v + Math.log(v))) return d * v;
    }
  }

  /** Chi-square with k degrees of freedom. */
  chiSquare(k: number): number {
    return 2 * this.gamma(k / 2);
  }

  /** A Dirichlet(alpha, ..., alpha) draw of length k. */
  dirichlet(k: number, alpha: number): Float64Array {
    const out = new Float64Array(k);
    let sum = 0;
    for (let i = 0; i < k; i++) {
      out[i] = this.gamma(alpha);
      sum += out[i]!;
    }
    if (sum === 0) out.fill(1 / k);
    else for (let i = 0; i < k; i++) out[i]! /= sum;
    return out;
  }

  /** In-place Fisher–Yates shuffle. */
  shuffle<T extends { length: number; [i: number]: unknown }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }

  /** 0..n-1 in random order. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }
}
