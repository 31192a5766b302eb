/**
 * CIFAR-10 (Krizhevsky 2009) in its binary distribution ("CIFAR-10 binary
 * version", folder cifar-10-batches-bin): data_batch_1.bin … data_batch_5.bin
 * (10,000 images each, the 50,000 training images in this order) and
 * test_batch.bin. Each record is 3,073 bytes: the label (0–9), then the
 * 1,024 red, 1,024 green and 1,024 blue values of the 32×32 image, row-major.
 * Features keep that channel-major order. dbo cannot download the data set;
 * point `problem.data.dir` at the folder.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataError } from '../errors.ts';
import { sourceFile, type ImageSource, type PixelTransform } from './image-source.ts';

export const CIFAR10_D = 3072;
const RECORD = CIFAR10_D + 1;
export const CIFAR10_TRAIN_FILES = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'] as const;
export const CIFAR10_TEST_FILE = 'test_batch.bin';

/**
 * The usual per-channel CIFAR-10 statistics of pixels/255 (torchvision's
 * normalisation constants); both the real data and the synthetic stand-in are
 * standardised with them.
 */
export const CIFAR10_TRANSFORM: PixelTransform = { channels: 3, mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] };

/** Reads CIFAR-10 binary batch files into one source (images numbered through the files in order). */
export function readCifar10Batches(name: string, paths: ReadonlyArray<string>): ImageSource {
  const chunks: Buffer[] = [];
  for (const p of paths) {
    if (!existsSync(p)) throw new DataError(p, 'CIFAR-10 binary batch not found (expected the folder cifar-10-batches-bin of the CIFAR-10 binary version in problem.data.dir)');
    const b = readFileSync(p);
    if (b.length === 0 || b.length % RECORD !== 0) throw new DataError(p, `not a CIFAR-10 binary batch: ${b.length} bytes is not a positive multiple of ${RECORD} (1 label byte + 3,072 pixel bytes per image)`);
    chunks.push(b);
  }
  const n = chunks.reduce((s, b) => s + b.length / RECORD, 0);
  const pixels = new Uint8Array(n * CIFAR10_D);
  const labels = new Int32Array(n);
  let i = 0;
  chunks.forEach((b, k) => {
    for (let r = 0; r < b.length / RECORD; r++, i++) {
      const label = b[r * RECORD]!;
      if (label > 9) throw new DataError(paths[k]!, `record ${r} has label ${label}, expected 0..9`);
      labels[i] = label;
      pixels.set(b.subarray(r * RECORD + 1, (r + 1) * RECORD), i * CIFAR10_D);
    }
  });
  return { name, n, d: CIFAR10_D, classes: 10, image: (k) => pixels.subarray(k * CIFAR10_D, (k + 1) * CIFAR10_D), labels, files: paths.map(sourceFile) };
}

export function readCifar10(dir: string): { train: ImageSource; test: ImageSource } {
  return {
    train: readCifar10Batches('cifar10 train', CIFAR10_TRAIN_FILES.map((f) => join(dir, f))),
    test: readCifar10Batches('cifar10 test', [join(dir, CIFAR10_TEST_FILE)]),
  };
}
