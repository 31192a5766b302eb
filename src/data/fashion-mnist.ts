/**
 * FashionMNIST (Xiao, Rasul, Vollgraf 2017): 60,000 training and 10,000 test
 * 28×28 grey images of 10 clothing classes, in the four gzipped IDX files that
 * the Debian package `dataset-fashion-mnist` installs under
 * /usr/share/datasets/fashion-mnist/ (`apt-get install -y dataset-fashion-mnist`).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DataError } from '../errors.ts';
import { readIdxImages, type ImageSource } from './image-source.ts';

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

const FILES = {
  trainImages: 'train-images-idx3-ubyte.gz',
  trainLabels: 'train-labels-idx1-ubyte.gz',
  testImages: 't10k-images-idx3-ubyte.gz',
  testLabels: 't10k-labels-idx1-ubyte.gz',
} as const;

/** The four file paths under `dir`, or a one-line DataError naming the first missing file and how to install the package. */
export function fashionMnistPaths(dir: string = FASHION_MNIST_DIR): Record<keyof typeof FILES, string> {
  const paths = Object.fromEntries(Object.entries(FILES).map(([k, f]) => [k, join(dir, f)])) as Record<keyof typeof FILES, string>;
  for (const p of Object.values(paths))
    if (!existsSync(p)) throw new DataError(p, 'FashionMNIST file not found: install the Debian package dataset-fashion-mnist (apt-get install -y dataset-fashion-mnist) or set problem.data.dir to a folder holding the four .gz IDX files');
  return paths;
}

/** True when the FashionMNIST files are installed in `dir` (tests skip otherwise). */
export function fashionMnistAvailable(dir: string = FASHION_MNIST_DIR): boolean {
  return Object.values(FILES).every((f) => existsSync(join(dir, f)));
}

export function readFashionMnist(dir: string = FASHION_MNIST_DIR): { train: ImageSource; test: ImageSource } {
  const p = fashionMnistPaths(dir);
  return {
    train: readIdxImages('fashion-mnist train', p.trainImages, p.trainLabels),
    test: readIdxImages('fashion-mnist test', p.testImages, p.testLabels),
  };
}
