/**
 * A seeded synthetic CIFAR-shaped stand-in for CIFAR-10, which cannot be
 * downloaded here. It is NOT CIFAR-10: only the properties that drive the
 * meta-learning experiments are matched, and every output that uses it says
 * "synthetic CIFAR-shaped stand-in". Only orderings, never values, are
 * comparable to results on the real data set.
 *
 * Matched properties:
 * 1. shape 3 × 32 × 32 = 3,072 bytes per image, channel-major as in the
 *    CIFAR-10 binary files (so d_x = 61,880 for the 3072-20-20-10 MLP);
 * 2. 10 balanced classes (image i has class i mod 10), 50,000 training and
 *    10,000 test images by default;
 * 3. per-channel mean ≈ (0.49, 0.48, 0.45) and spread ≈ (0.25, 0.24, 0.26) of
 *    pixels/255, before the same standardisation as the real data;
 * 4. natural-image second-order statistics: every image is built from
 *    Gaussian random fields with a 1/f² power spectrum (spatially smooth), and
 *    the three channels share one luminance field (RGB correlation ≈ 0.9);
 * 5. low linear separability: a class-independent nuisance field 4× the
 *    prototype's amplitude, so that multinomial logistic regression stays far
 *    from perfect, near CIFAR-10's linear baseline (about 40 %). Measured:
 *    trained on 3,000 stand-in images by full-batch gradient descent, it
 *    reached 35 % test accuracy after 150 steps, rising slowly (training loss
 *    1.10); with amplitude 2.4 it was 58 % on 5,000 images.
 *
 * Recipe: per class, PROTOTYPES prototype fields; image = a random prototype
 * of its class × a random contrast + a cyclically shifted field from a bank of
 * class-independent 1/f² nuisance fields + white noise + a brightness shift,
 * mapped to the channel statistics, clipped to [0, 1] and rounded to a byte.
 * Image i of a split comes from its own stream Rng(seed, 'cifar10-synthetic',
 * split, i), so only the images a run uses are generated, and the same seed
 * always gives the same bytes. There is no file: data.json names the
 * generator version and seed instead of a SHA-256.
 */
import { Rng } from '../random/rng.ts';
import type { ImageSource } from './image-source.ts';

export const SYNTHETIC_LABEL = 'synthetic CIFAR-shaped stand-in';
/** Bumped whenever the recipe changes, so recorded data names the generator that made it. */
export const GENERATOR_VERSION = 1;

const SIDE = 32;
const PIX = SIDE * SIDE;
const D = 3 * PIX;
const PROTOTYPES = 20;
const BANK = 64;
const CHROMA = 0.35;
/** Nuisance-field amplitude relative to the prototype (calibrated, property 5). */
export const NUISANCE = 4;
const WHITE = 0.15;
const BRIGHTNESS = 0.3;
const MEAN = [0.49, 0.48, 0.45];
const STD = [0.25, 0.24, 0.26];

const COS = new Float64Array(SIDE);
const SIN = new Float64Array(SIDE);
for (let k = 0; k < SIDE; k++) {
  COS[k] = Math.cos((2 * Math.PI * k) / SIDE);
  SIN[k] = Math.sin((2 * Math.PI * k) / SIDE);
}

/** A 32×32 Gaussian random field with power ∝ 1/f² (real part of an inverse DFT), scaled to unit variance. */
function powerLawField(rng: Rng, out: Float64Array): void {
  const re = new Float64Array(PIX);
  const im = new Float64Array(PIX);
  for (let u = 0; u < SIDE; u++)
    for (let v = 0; v < SIDE; v++) {
      const fu = Math.min(u, SIDE - u);
      const fv = Math.min(v, SIDE - v);
      const f = Math.sqrt(fu * fu + fv * fv);
      const a = f === 0 ? 0 : 1 / f;
      re[u * SIDE + v] = a * rng.normal();
      im[u * SIDE + v] = a * rng.normal();
    }
  // Rows: T[u][x2] = Σ_v X[u][v] e^{2πi v x2 / 32}.
  const tr = new Float64Array(PIX);
  const ti = new Float64Array(PIX);
  for (let u = 0; u < SIDE; u++)
    for (let x2 = 0; x2 < SIDE; x2++) {
      let sr = 0;
      let si = 0;
      for (let v = 0; v < SIDE; v++) {
        const k = (v * x2) % SIDE;
        const xr = re[u * SIDE + v]!;
        const xi = im[u * SIDE + v]!;
        sr += xr * COS[k]! - xi * SIN[k]!;
        si += xr * SIN[k]! + xi * COS[k]!;
      }
      tr[u * SIDE + x2] = sr;
      ti[u * SIDE + x2] = si;
    }
  let ss = 0;
  for (let x1 = 0; x1 < SIDE; x1++)
    for (let x2 = 0; x2 < SIDE; x2++) {
      let s = 0;
      for (let u = 0; u < SIDE; u++) {
        const k = (u * x1) % SIDE;
        s += tr[u * SIDE + x2]! * COS[k]! - ti[u * SIDE + x2]! * SIN[k]!;
      }
      out[x1 * SIDE + x2] = s;
      ss += s * s;
    }
  const inv = 1 / Math.sqrt(ss / PIX);
  for (let q = 0; q < PIX; q++) out[q]! *= inv;
}

/** Three channel-correlated fields (shared luminance + small per-channel chroma), 3 × 1024, unit variance per channel. */
function colourField(rng: Rng): Float64Array {
  const lum = new Float64Array(PIX);
  const chroma = new Float64Array(PIX);
  powerLawField(rng, lum);
  const out = new Float64Array(D);
  const norm = 1 / Math.sqrt(1 + CHROMA * CHROMA);
  for (let c = 0; c < 3; c++) {
    powerLawField(rng, chroma);
    for (let q = 0; q < PIX; q++) out[c * PIX + q] = norm * (lum[q]! + CHROMA * chroma[q]!);
  }
  return out;
}

export interface Cifar10SyntheticOptions {
  readonly trainSize?: number;
  readonly testSize?: number;
  /** Seed of the data set itself (default 0): a fixed data set, independent of the run seed. */
  readonly seed?: number;
}

function images(name: string, n: number, split: string, seed: number, protos: Float64Array[][], bank: Float64Array[]): ImageSource {
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) labels[i] = i % 10;
  const spread = Math.sqrt(1 + NUISANCE * NUISANCE + WHITE * WHITE + BRIGHTNESS * BRIGHTNESS);
  const rng = new Rng(0);
  /** Image i, generated from its own stream Rng(seed, 'cifar10-synthetic', split, i). */
  const image = (i: number): Uint8Array => {
    if (!(Number.isInteger(i) && i >= 0 && i < n)) throw new RangeError(`image ${i} is outside 0..${n - 1}`);
    rng.reset(seed, 'cifar10-synthetic', split, i);
    const px = new Uint8Array(D);
    const proto = protos[labels[i]!]![rng.int(PROTOTYPES)]!;
    const contrast = 0.7 + 0.6 * rng.uniform();
    const nuisance = bank[rng.int(BANK)]!;
    const sx = rng.int(SIDE);
    const sy = rng.int(SIDE);
    const bright = BRIGHTNESS * rng.normal();
    for (let c = 0; c < 3; c++) {
      const m = MEAN[c]!;
      const s = STD[c]! / spread;
      for (let r = 0; r < SIDE; r++) {
        const nr = ((r + sy) % SIDE) * SIDE;
        for (let col = 0; col < SIDE; col++) {
          const q = r * SIDE + col;
          // Approximately normal white noise from three uniforms (unit variance).
          const w = (rng.uniform() + rng.uniform() + rng.uniform() - 1.5) * 2;
          const z = contrast * proto[c * PIX + q]! + NUISANCE * nuisance[c * PIX + nr + ((col + sx) % SIDE)]! + WHITE * w + bright;
          const v = m + s * z;
          px[c * PIX + q] = Math.round(255 * (v < 0 ? 0 : v > 1 ? 1 : v));
        }
      }
    }
    return px;
  };
  return { name, n, d: D, classes: 10, image, labels, files: [], synthetic: true };
}

const fieldCache = new Map<number, { protos: Float64Array[][]; bank: Float64Array[] }>();

/** The prototype and nuisance fields of a seed (made once per process). */
function fieldsOf(seed: number): { protos: Float64Array[][]; bank: Float64Array[] } {
  let f = fieldCache.get(seed);
  if (!f) {
    const protoRng = new Rng(seed, 'cifar10-synthetic', 'prototypes');
    const protos = Array.from({ length: 10 }, () => Array.from({ length: PROTOTYPES }, () => colourField(protoRng)));
    const bankRng = new Rng(seed, 'cifar10-synthetic', 'nuisance');
    f = { protos, bank: Array.from({ length: BANK }, () => colourField(bankRng)) };
    fieldCache.set(seed, f);
  }
  return f;
}

/** The synthetic stand-in's training and test images (deterministic for a seed). */
export function cifar10Synthetic(options: Cifar10SyntheticOptions = {}): { train: ImageSource; test: ImageSource } {
  const seed = options.seed ?? 0;
  const { protos, bank } = fieldsOf(seed);
  return {
    train: images(`cifar10-synthetic train (${SYNTHETIC_LABEL})`, options.trainSize ?? 50000, 'train', seed, protos, bank),
    test: images(`cifar10-synthetic test (${SYNTHETIC_LABEL})`, options.testSize ?? 10000, 'test', seed, protos, bank),
  };
}
