/** Builds a problem (oracles, held-out data, closed forms) from its config section. */
import { concat, subset, type Dataset } from '../data/dataset.ts';
import { filterDigits, mnistPaths, readIdx, readIdxDataset } from '../data/idx.ts';
import { readLibsvm } from '../data/libsvm.ts';
import { partition, standardize, trainValTestSplit } from '../data/split.ts';
import { seed000Synthetic } from '../data/synthetic.ts';
import { ConfigError } from '../errors.ts';
import { logregHpoProblem } from '../problems/logreg-hpo.ts';
import { loadQuadraticInstance } from '../problems/quadratic-file.ts';
import type { BilevelProblem } from '../problems/types.ts';
import { deriveSeed, Rng } from '../random/rng.ts';
import { binaryLogregHpoProblem } from '../problems/binary-logreg-hpo.ts';
import { basename } from 'node:path';
import { sourceFile } from '../data/image-source.ts';
import { indexDataset, rowsOf } from '../data/indices.ts';
import { withRoles, type AgentDataRecord, type DataRecord } from '../data/record.ts';
import { buildHyperCleaning, buildMlpMeta } from './build-image-problems.ts';
import type { ProblemConfig, RunConfig } from './config.ts';
import type { AlgorithmInfo } from '../algorithms/types.ts';

/**
 * Refuses, before any data is loaded, combinations a problem cannot support:
 * algorithms that form dense ∇²_yy g / ∇²_xy g matrices on hyper-cleaning
 * (d_y = 238,510 for 784-300-10), and ground-truth evaluation of its
 * nonconvex lower level.
 */
export function checkProblemFits(config: RunConfig, algorithm: AlgorithmInfo, params: Record<string, unknown>): void {
  if (config.problem.type !== 'hyper-cleaning') return;
  if (algorithm.formsDenseMatrices?.(params))
    throw new ConfigError('algorithm.name', `${algorithm.name} forms dense Hessian/Jacobian matrices, which hyper-cleaning never builds (d_y is the size of the whole network); use an algorithm with Hessian-vector products (e.g. d-soba)`);
  if (config.evaluation.groundTruth)
    throw new ConfigError('evaluation.groundTruth', "hyper-cleaning's lower level is nonconvex in the network weights, so there is no ground truth to solve for; set evaluation.groundTruth: false (its default for this problem)");
}

export function buildProblem(config: ProblemConfig, agents: number, seed: number): BilevelProblem {
  switch (config.type) {
    case 'quadratic': {
      const problem = loadQuadraticInstance(config.file, config.noise);
      if (problem.m !== agents) throw new ConfigError('problem.file', `instance ${config.file} has ${problem.m} agents but topology.agents is ${agents}`);
      return problem;
    }
    case 'logreg-hpo':
      return buildLogreg(config, agents, seed);
    case 'binary-logreg-hpo':
      return buildMnistBinary(config, agents, seed);
    case 'mlp-meta':
      return buildMlpMeta(config, agents, seed);
    case 'hyper-cleaning':
      return buildHyperCleaning(config, agents, seed);
  }
}

/**
 * L-PDBO's experiment data (SEED-002 §IV; choices in docs/decisions.md §C): MNIST digits (0, 1), pixels
 * /255, m agents with trainPerAgent + valPerAgent random training images each
 * (disjoint), tested on the MNIST test images of the same digits.
 */
function buildMnistBinary(config: Extract<ProblemConfig, { type: 'binary-logreg-hpo' }>, agents: number, seed: number): BilevelProblem {
  const { digits, trainPerAgent, valPerAgent } = config.data;
  if (digits[0] === digits[1]) throw new ConfigError('problem.data.digits', 'expected two different digits');
  const paths = mnistPaths();
  const pool = filterDigits(readIdxDataset(...paths.train), digits);
  const test = filterDigits(readIdxDataset(...paths.test), digits);
  const per = trainPerAgent + valPerAgent;
  if (per * agents > pool.n) throw new ConfigError('problem.data', `${agents} agents × ${per} samples exceed the ${pool.n} MNIST training images of digits ${digits.join(', ')}`);
  const perm = new Rng(deriveSeed(seed, 'data'), 'mnist').permutation(pool.n);
  const train: Dataset[] = [];
  const val: Dataset[] = [];
  // Source rows of the pool and of the test set (data.json indexes the original files).
  const digitRows = (labelsPath: string): number[] => {
    const labels = readIdx(labelsPath).data;
    const rows: number[] = [];
    for (let i = 0; i < labels.length; i++) if (digits.includes(labels[i]!)) rows.push(i);
    return rows;
  };
  const poolRows = digitRows(paths.train[1]);
  const testRows = digitRows(paths.test[1]);
  const agentsData: AgentDataRecord[] = [];
  for (let i = 0; i < agents; i++) {
    const base = i * per;
    train.push(subset(pool, perm.subarray(base, base + trainPerAgent)));
    val.push(subset(pool, perm.subarray(base + trainPerAgent, base + per)));
    agentsData.push({ train: Array.from(perm.subarray(base, base + trainPerAgent), (r) => poolRows[r]!), validation: Array.from(perm.subarray(base + trainPerAgent, base + per), (r) => poolRows[r]!), test: testRows });
  }
  const problem = binaryLogregHpoProblem(train, val, test, config.reduction);
  return {
    ...problem,
    data: {
      dataset: `mnist digits ${digits.join(', ')}`,
      sources: [...withRoles([sourceFile(paths.train[0]), sourceFile(paths.train[1])], ['train', 'validation']), ...withRoles([sourceFile(paths.test[0]), sourceFile(paths.test[1])], ['test'])],
      indexing: 'train and validation index the MNIST training images, test the test images (0-based)',
      preprocessing: `feature = pixel byte / 255 (row-major 28×28 image); label = position of the image's digit in [${digits.join(', ')}] (b = −1 for the first, +1 for the second)`,
      agents: agentsData,
    },
  };
}

function buildLogreg(config: Extract<ProblemConfig, { type: 'logreg-hpo' }>, agents: number, seed: number): BilevelProblem {
  const data = config.data;
  let train: Dataset[];
  let val: Dataset[];
  let test: Dataset | null;
  let record: DataRecord;
  if (data.source === 'seed000-synthetic') {
    const s = seed000Synthetic({ agents, trainPerAgent: data.trainPerAgent, valPerAgent: data.valPerAgent, testPerAgent: data.testPerAgent, features: data.features }, deriveSeed(seed, 'data'));
    train = s.train;
    val = s.val;
    test = data.testPerAgent > 0 ? concat(s.test) : null;
    if (config.standardize) {
      const all = standardize(concat(train), ...train, ...val, ...(test ? [test] : []));
      train = all.slice(1, 1 + agents);
      val = all.slice(1 + agents, 1 + 2 * agents);
      test = test ? all[1 + 2 * agents]! : null;
    }
    if (config.partition.type !== 'iid') throw new ConfigError('problem.partition', 'the seed000-synthetic generator makes its own per-agent data; partition applies to libsvm data only');
    const range = (n: number) => Array.from({ length: n }, (_, i) => i);
    record = {
      dataset: 'seed000-synthetic (generated in memory)',
      sources: [],
      indexing: "agent k's train / validation / test index its own generated splits, in generation order",
      preprocessing: `generated by dbo's SEED-000 generator (src/data/synthetic.ts) with data seed ${deriveSeed(seed, 'data')}, d = ${data.features}${config.standardize ? '; then standardized with the per-feature mean and standard deviation of all agents\' training samples' : ''}`,
      agents: range(agents).map(() => ({ train: range(data.trainPerAgent), validation: range(data.valPerAgent), test: range(data.testPerAgent) })),
      notes: ['the test set is the union of the agents\' test sets, in agent order'],
    };
  } else {
    const { dataset, labelValues } = readLibsvm(data.file, data.features === undefined ? {} : { features: data.features });
    // The same split and partition applied to row numbers give data.json's indices.
    const rowIds = indexDataset(dataset);
    let idTest: number[];
    let idTrain: Dataset;
    let idVal: Dataset;
    if (data.testFile) {
      test = readLibsvm(data.testFile, { features: dataset.d, labelValues }).dataset;
      const split = trainValTestSplit(dataset, { testFraction: 0, valFraction: config.split.valFraction }, deriveSeed(seed, 'split'));
      train = [split.train];
      val = [split.val];
      const ids = trainValTestSplit(rowIds, { testFraction: 0, valFraction: config.split.valFraction }, deriveSeed(seed, 'split'));
      [idTrain, idVal, idTest] = [ids.train, ids.val, Array.from({ length: test.n }, (_, i) => i)];
    } else {
      const split = trainValTestSplit(dataset, { testFraction: config.split.testFraction, valFraction: config.split.valFraction }, deriveSeed(seed, 'split'));
      test = split.test.n > 0 ? split.test : null;
      train = [split.train];
      val = [split.val];
      const ids = trainValTestSplit(rowIds, { testFraction: config.split.testFraction, valFraction: config.split.valFraction }, deriveSeed(seed, 'split'));
      [idTrain, idVal, idTest] = [ids.train, ids.val, rowsOf(ids.test)];
    }
    const idParts = { train: partition(idTrain, agents, config.partition, deriveSeed(seed, 'partition'), 'train'), val: partition(idVal, agents, config.partition, deriveSeed(seed, 'partition'), 'val') };
    record = {
      dataset: `libsvm ${basename(data.file)}`,
      sources: data.testFile ? [...withRoles([sourceFile(data.file)], ['train', 'validation']), ...withRoles([sourceFile(data.testFile)], ['test'])] : withRoles([sourceFile(data.file)], ['train', 'validation', 'test']),
      indexing: 'indices number the samples (data lines) of the LIBSVM file from 0, in file order',
      preprocessing: `features as read (LIBSVM sparse → dense, ${dataset.d} features; class = rank of the label among the sorted distinct labels)${config.standardize ? '; then standardized with the per-feature mean and population standard deviation of the training split (a constant feature only centred)' : ''}`,
      agents: idParts.train.map((t, i) => ({ train: rowsOf(t), validation: rowsOf(idParts.val[i]!), test: idTest })),
    };
    if (config.standardize) {
      const [tr, va, te] = standardize(train[0]!, val[0]!, ...(test ? [test] : []));
      train = [tr!];
      val = [va!];
      test = test ? te! : null;
    }
    const p = config.partition;
    train = partition(train[0]!, agents, p, deriveSeed(seed, 'partition'), 'train');
    val = partition(val[0]!, agents, p, deriveSeed(seed, 'partition'), 'val');
  }
  return { ...logregHpoProblem(train, val, test), data: record };
}
