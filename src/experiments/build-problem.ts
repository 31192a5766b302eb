/** Builds a problem (oracles, held-out data, closed forms) from its config section. */
import { concat, subset, type Dataset } from '../data/dataset.ts';
import { filterDigits, mnistPaths, readIdxDataset } from '../data/idx.ts';
import { readLibsvm } from '../data/libsvm.ts';
import { partition, standardize, trainValTestSplit } from '../data/split.ts';
import { seed000Synthetic } from '../data/synthetic.ts';
import { ConfigError } from '../errors.ts';
import { logregHpoProblem } from '../problems/logreg-hpo.ts';
import { loadQuadraticInstance } from '../problems/quadratic.ts';
import type { BilevelProblem } from '../problems/types.ts';
import { deriveSeed, Rng } from '../random/rng.ts';
import { binaryLogregHpoProblem } from '../problems/binary-logreg-hpo.ts';
import type { ProblemConfig } from './config.ts';

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
  for (let i = 0; i < agents; i++) {
    const base = i * per;
    train.push(subset(pool, perm.subarray(base, base + trainPerAgent)));
    val.push(subset(pool, perm.subarray(base + trainPerAgent, base + per)));
  }
  return binaryLogregHpoProblem(train, val, test, config.reduction);
}

function buildLogreg(config: Extract<ProblemConfig, { type: 'logreg-hpo' }>, agents: number, seed: number): BilevelProblem {
  const data = config.data;
  let train: Dataset[];
  let val: Dataset[];
  let test: Dataset | null;
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
  } else {
    const { dataset, labelValues } = readLibsvm(data.file, data.features === undefined ? {} : { features: data.features });
    if (data.testFile) {
      test = readLibsvm(data.testFile, { features: dataset.d, labelValues }).dataset;
      const split = trainValTestSplit(dataset, { testFraction: 0, valFraction: config.split.valFraction }, deriveSeed(seed, 'split'));
      train = [split.train];
      val = [split.val];
    } else {
      const split = trainValTestSplit(dataset, { testFraction: config.split.testFraction, valFraction: config.split.valFraction }, deriveSeed(seed, 'split'));
      test = split.test.n > 0 ? split.test : null;
      train = [split.train];
      val = [split.val];
    }
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
  return logregHpoProblem(train, val, test);
}
