import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { cifar10Synthetic, SYNTHETIC_LABEL } from '../../src/data/cifar10-synthetic.ts';
import { CIFAR10_TEST_FILE, CIFAR10_TRAIN_FILES, CIFAR10_TRANSFORM, readCifar10 } from '../../src/data/cifar10.ts';
import { fashionMnistAvailable, fashionMnistPaths, readFashionMnist } from '../../src/data/fashion-mnist.ts';
import { imageRows, sha256File } from '../../src/data/image-source.ts';
import { readMnist } from '../../src/data/mnist.ts';
import { corruptLabels, sampleAgentRows } from '../../src/data/tasks.ts';
import { Rng } from '../../src/random/rng.ts';
import { tempDir } from '../helpers.ts';

const root = tempDir('dbo-image-data-');
after(() => rmSync(root, { recursive: true, force: true }));

/** A CIFAR-10 binary batch: per record the label, then 3,072 pixel bytes (R, G, B planes). */
function cifarBatch(records: Array<{ label: number; fill: (q: number) => number }>): Buffer {
  const b = Buffer.alloc(records.length * 3073);
  records.forEach((r, i) => {
    b[i * 3073] = r.label;
    for (let q = 0; q < 3072; q++) b[i * 3073 + 1 + q] = r.fill(q);
  });
  return b;
}

test('CIFAR-10 binary loader: records numbered through data_batch_1 … 5, channel-major pixels, per-channel standardisation', () => {
  const dir = join(root, 'cifar');
  mkdirSync(dir);
  CIFAR10_TRAIN_FILES.forEach((f, k) => writeFileSync(join(dir, f), cifarBatch([{ label: k, fill: (q) => (q < 1024 ? 255 : q < 2048 ? 0 : k) }, { label: 9, fill: () => 51 }])));
  writeFileSync(join(dir, CIFAR10_TEST_FILE), cifarBatch([{ label: 3, fill: (q) => q % 256 }]));
  const { train, test: t } = readCifar10(dir);
  assert.equal(train.n, 10);
  assert.equal(train.d, 3072);
  assert.deepEqual(Array.from(train.labels), [0, 9, 1, 9, 2, 9, 3, 9, 4, 9]);
  assert.equal(train.files.length, 5);
  assert.equal(train.files[2]!.name, 'data_batch_3.bin');
  assert.equal(train.files[2]!.sha256, sha256File(join(dir, 'data_batch_3.bin')));
  assert.equal(t.n, 1);
  assert.equal(t.image(0)[300], 300 % 256);
  const ds = imageRows(train, [4, 1], CIFAR10_TRANSFORM);
  const { mean, std } = CIFAR10_TRANSFORM;
  assert.equal(ds.labels[0], 2);
  assert.equal(ds.features[0], (1 - mean![0]!) / std![0]!); // red plane of image 4 = 255
  assert.equal(ds.features[1024], (0 - mean![1]!) / std![1]!); // green plane = 0
  assert.equal(ds.features[2048], (2 / 255 - mean![2]!) / std![2]!); // blue plane = k = 2
  assert.equal(ds.features[3072], (51 / 255 - mean![0]!) / std![0]!);
});

test('CIFAR-10 loader errors name the file and what was expected', () => {
  const dir = join(root, 'cifar-bad');
  mkdirSync(dir);
  assert.throws(() => readCifar10(dir), /data_batch_1\.bin: CIFAR-10 binary batch not found/);
  CIFAR10_TRAIN_FILES.forEach((f) => writeFileSync(join(dir, f), Buffer.alloc(3073)));
  writeFileSync(join(dir, CIFAR10_TEST_FILE), Buffer.alloc(3000));
  assert.throws(() => readCifar10(dir), /test_batch\.bin: not a CIFAR-10 binary batch: 3000 bytes is not a positive multiple of 3073/);
});

test('FashionMNIST: a missing installation is one clear error naming the Debian package', () => {
  assert.throws(() => fashionMnistPaths(join(root, 'nowhere')), /train-images-idx3-ubyte\.gz: FashionMNIST file not found: install the Debian package dataset-fashion-mnist/);
});

test('FashionMNIST from the Debian package: 60,000 + 10,000 images of 784 pixels, 10 balanced classes', { skip: fashionMnistAvailable() ? false : 'dataset-fashion-mnist is not installed' }, () => {
  const { train, test: t } = readFashionMnist();
  assert.equal(train.n, 60000);
  assert.equal(t.n, 10000);
  assert.equal(train.d, 784);
  const counts = new Array(10).fill(0);
  for (const l of train.labels) counts[l]++;
  assert.deepEqual(counts, new Array(10).fill(6000));
  assert.equal(train.files[0]!.name, 'train-images-idx3-ubyte.gz');
  assert.match(train.files[0]!.sha256, /^[0-9a-f]{64}$/);
});

test('10-class MNIST tasks: disjoint per-agent samples, i.i.d. or Dirichlet label skew', () => {
  const { train } = readMnist();
  assert.equal(train.classes, 10);
  const iid = sampleAgentRows(train.labels, 10, 5, 1000, { type: 'iid' }, new Rng(1), 'f');
  const skew = sampleAgentRows(train.labels, 10, 5, 1000, { type: 'dirichlet', alpha: 0.1 }, new Rng(1), 'f');
  for (const parts of [iid, skew]) {
    const all = new Set<number>();
    for (const p of parts) {
      assert.equal(p.length, 1000);
      for (const r of p) all.add(r);
    }
    assert.equal(all.size, 5000, 'agents hold disjoint samples');
  }
  const topShare = (rows: Int32Array) => {
    const c = new Array(10).fill(0);
    for (const r of rows) c[train.labels[r]!]++;
    return Math.max(...c) / rows.length;
  };
  assert.ok(iid.every((p) => topShare(p) < 0.2), 'i.i.d. tasks are close to balanced');
  assert.ok(skew.some((p) => topShare(p) > 0.5), 'Dirichlet(0.1) tasks are dominated by a few classes');
  assert.deepEqual(sampleAgentRows(train.labels, 10, 5, 1000, { type: 'dirichlet', alpha: 0.1 }, new Rng(1), 'f'), skew, 'seeded');
  assert.throws(() => sampleAgentRows(train.labels, 10, 61, 1000, { type: 'iid' }, new Rng(1), 'problem.data.perAgent'), /problem\.data\.perAgent: 61 agents × 1000 samples = 61000 exceed the 60000 samples available/);
});

test('label corruption: rate p, each corrupted label a different class, mask marks exactly the changed labels', () => {
  const labels = Int32Array.from({ length: 20000 }, (_, i) => i % 10);
  const { labels: out, mask } = corruptLabels(labels, 10, 0.2, new Rng(2));
  let n = 0;
  for (let i = 0; i < labels.length; i++) {
    assert.equal(mask[i] === 1, out[i] !== labels[i]);
    n += mask[i]!;
  }
  assert.ok(Math.abs(n / labels.length - 0.2) < 0.01, `corrupted fraction ${n / labels.length}`);
  assert.equal(corruptLabels(labels, 10, 0, new Rng(2)).mask.reduce((s, v) => s + v, 0), 0);
});

test(`CIFAR-10 synthetic stand-in: seeded, CIFAR-shaped, balanced, CIFAR-like channel statistics, labelled "${SYNTHETIC_LABEL}"`, () => {
  const a = cifar10Synthetic({ trainSize: 200, testSize: 20 });
  const b = cifar10Synthetic({ trainSize: 50000, testSize: 20 });
  assert.equal(a.train.d, 3072);
  assert.equal(a.train.synthetic, true);
  assert.match(a.train.name, new RegExp(SYNTHETIC_LABEL));
  assert.deepEqual(a.train.image(123), b.train.image(123), 'image i does not depend on the set size');
  assert.notDeepEqual(a.train.image(1), a.test.image(1));
  assert.deepEqual(Array.from(a.train.labels.subarray(0, 12)), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
  // Per-channel mean/std of pixels/255 near CIFAR-10's (0.49, 0.48, 0.45) / (0.25, 0.24, 0.26).
  const sum = [0, 0, 0];
  const sq = [0, 0, 0];
  for (let i = 0; i < 200; i++) {
    const px = a.train.image(i);
    for (let q = 0; q < 3072; q++) {
      const c = Math.floor(q / 1024);
      sum[c]! += px[q]! / 255;
      sq[c]! += (px[q]! / 255) ** 2;
    }
  }
  const n = 200 * 1024;
  [0.49, 0.48, 0.45].forEach((m, c) => assert.ok(Math.abs(sum[c]! / n - m) < 0.03, `channel ${c} mean ${sum[c]! / n}`));
  [0.25, 0.24, 0.26].forEach((s, c) => assert.ok(Math.abs(Math.sqrt(sq[c]! / n - (sum[c]! / n) ** 2) - s) < 0.04, `channel ${c} std`));
  // Spatially smooth and channel-correlated: neighbouring pixels and R/G planes correlate strongly.
  const corr = (f: (px: Uint8Array, q: number) => [number, number]) => {
    let sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0, k = 0;
    for (let i = 0; i < 50; i++) {
      const px = a.train.image(i);
      for (let q = 0; q < 1023; q++) {
        if (q % 32 === 31) continue;
        const [u, v] = f(px, q);
        sx += u; sy += v; sxx += u * u; syy += v * v; sxy += u * v; k++;
      }
    }
    return (sxy / k - (sx / k) * (sy / k)) / Math.sqrt((sxx / k - (sx / k) ** 2) * (syy / k - (sy / k) ** 2));
  };
  assert.ok(corr((px, q) => [px[q]!, px[q + 1]!]) > 0.5, 'horizontal neighbours correlate (white noise: 0)');
  assert.ok(corr((px, q) => [px[q]!, px[1024 + q]!]) > 0.8, 'red and green correlate');
});
