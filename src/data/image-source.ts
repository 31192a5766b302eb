/**
 * Image data sets kept as raw bytes (IDX or CIFAR-10 binary): n images of d
 * uint8 pixels and a class per image. Only the rows a run uses are turned into
 * float features (`imageRows`), so a 60,000-image file costs 47 MB in memory,
 * not 376 MB of doubles (and a generated source makes only the images used).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { DataError } from '../errors.ts';
import { makeDataset, type Dataset } from './dataset.ts';
import { readIdx } from './idx.ts';

/** A file a data set was read from, as recorded in data.json. */
export interface SourceFile {
  /** File name (no directory). */
  readonly name: string;
  /** SHA-256 of the file's bytes as stored (compressed files hashed compressed), lowercase hex. */
  readonly sha256: string;
}

export interface ImageSource {
  /** Human-readable name of the data set and split, e.g. "fashion-mnist train". */
  readonly name: string;
  readonly n: number;
  /** Values per image (28·28 = 784, or 3·32·32 = 3072 channel-major). */
  readonly d: number;
  readonly classes: number;
  /** Image i's d pixel bytes (a view or a freshly generated array; do not modify). */
  image(i: number): Uint8Array;
  readonly labels: Int32Array;
  /** The files, in the order their images are numbered (indices run through them consecutively). */
  readonly files: ReadonlyArray<SourceFile>;
  /** True for generated (not read) data; such sources must be labelled in every output. */
  readonly synthetic?: boolean;
}

/** SHA-256 of a file's bytes (lowercase hex). */
export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

export function sourceFile(path: string): SourceFile {
  return { name: basename(path), sha256: sha256File(path) };
}

/** An IDX image file and its IDX label file as an ImageSource (images n × rows × cols, uint8). */
export function readIdxImages(name: string, imagesPath: string, labelsPath: string, classes = 10): ImageSource {
  const images = readIdx(imagesPath);
  const labels = readIdx(labelsPath);
  const n = images.shape[0]!;
  if (labels.shape.length !== 1 || labels.shape[0] !== n) throw new DataError(labelsPath, `expected ${n} labels to match ${imagesPath}, got shape [${labels.shape.join(', ')}]`);
  const d = images.shape.slice(1).reduce((a, b) => a * b, 1);
  const lab = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = labels.data[i]!;
    if (c >= classes) throw new DataError(labelsPath, `label ${c} of image ${i} is outside 0..${classes - 1}`);
    lab[i] = c;
  }
  const px = images.data;
  return { name, n, d, classes, image: (i) => px.subarray(i * d, (i + 1) * d), labels: lab, files: [sourceFile(imagesPath), sourceFile(labelsPath)] };
}

/**
 * How pixel bytes become features: value = (byte/255 − mean[channel]) / std[channel],
 * with `channels` equal blocks of d/channels values (channel-major). Without
 * mean/std: byte/255.
 */
export interface PixelTransform {
  readonly channels: number;
  readonly mean?: ReadonlyArray<number>;
  readonly std?: ReadonlyArray<number>;
}

export const UNIT_SCALE: PixelTransform = { channels: 1 };

/** The transform in words, for data.json. */
export function describeTransform(t: PixelTransform): string {
  if (!t.mean || !t.std) return 'feature = pixel byte / 255 (row-major image, as stored)';
  return `feature = (pixel byte / 255 − mean[c]) / std[c] for channel c (channel-major, ${t.channels} channels), mean = [${t.mean.join(', ')}], std = [${t.std.join(', ')}]`;
}

/** The given rows (in order) as a float Dataset. */
export function imageRows(src: ImageSource, rows: ArrayLike<number>, t: PixelTransform = UNIT_SCALE, labels?: Int32Array): Dataset {
  const m = rows.length;
  const d = src.d;
  const features = new Float64Array(m * d);
  const lab = new Int32Array(m);
  const per = d / t.channels;
  const lut = new Float64Array(256 * t.channels);
  for (let c = 0; c < t.channels; c++)
    for (let v = 0; v < 256; v++) lut[c * 256 + v] = t.mean && t.std ? (v / 255 - t.mean[c]!) / t.std[c]! : v / 255;
  for (let j = 0; j < m; j++) {
    const r = rows[j]!;
    if (!Number.isInteger(r) || r < 0 || r >= src.n) throw new RangeError(`imageRows: row ${r} is outside 0..${src.n - 1}`);
    const px = src.image(r);
    for (let q = 0; q < d; q++) features[j * d + q] = lut[Math.floor(q / per) * 256 + px[q]!]!;
    lab[j] = labels ? labels[j]! : src.labels[r]!;
  }
  return makeDataset(m, d, src.classes, features, lab);
}
