/**
 * The run configuration: schema, defaults and loading (YAML or JSON). Scripts
 * depend on these keys (issue contract):
 *
 *   seed, iterations, evalEvery,
 *   problem:   {type: quadratic, file} | {type: logreg-hpo, data, split, partition, batch}
 *              | {type: binary-logreg-hpo, ...} | {type: mlp-meta, data, hidden, mu, batch}
 *              | {type: hyper-cleaning, data, corruption, hidden, C, batch}
 *   topology:  {type: complete|ring|path|star|exponential, agents, mixing?} | {type: ring, selfWeight?}
 *              | {type: torus, rows?, ringFallback?} | {type: erdos-renyi, p} | {type: custom, edges | weights}
 *   algorithm: {name, ...parameters of that algorithm}
 *   init:      {x?, y?, z?}        (default zeros, identical on all agents; each a number,
 *                                    an array, or {type: normal, std, mean?} seeded by `seed`)
 *   output:    {trace, bytesPerFloat}
 *   network:   {roundTimeoutMs?}   faults: [{agent, crash | delay} | {link, partition}]   (faults.ts)
 *
 * Every key is checked (unknown keys are errors) and every error names its
 * field. Algorithm parameters are validated against the algorithm's own
 * schema, with its defaults filled in, so the resolved config is complete.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { getAlgorithm } from '../algorithms/registry.ts';
import { ConfigError, DataError } from '../errors.ts';
import { faultsSchema, networkSchema } from './faults.ts';
import { parseWith } from './zod-errors.ts';

const int = (name: string, min: number) => z.number({ error: `expected an integer ≥ ${min}` }).int({ error: `${name} must be an integer` }).min(min, { error: `${name} must be ≥ ${min}` });

const batchSize = z.union([int('batch', 1), z.literal('full')], { error: "expected a positive integer or 'full'" });
const batchSchema = z.union([batchSize, z.strictObject({ upper: batchSize, lower: batchSize })], { error: "expected a positive integer, 'full', or {upper, lower}" });

const quadraticProblem = z.strictObject({
  type: z.literal('quadratic'),
  file: z.string().min(1),
  /** Overrides the instance's noise σ. */
  noise: z.number().min(0).optional(),
  batch: batchSchema.default(1),
});

const syntheticData = z.strictObject({
  source: z.literal('seed000-synthetic'),
  trainPerAgent: int('trainPerAgent', 1).default(6250),
  valPerAgent: int('valPerAgent', 1).default(6250),
  testPerAgent: int('testPerAgent', 0).default(1000),
  features: int('features', 1).default(200),
});

const libsvmData = z.strictObject({
  source: z.literal('libsvm'),
  file: z.string().min(1),
  /** A separate test file (e.g. a9a.t); without it the test set is split off (testFraction). */
  testFile: z.string().min(1).optional(),
  /** Feature count; default: the largest index in the data. */
  features: int('features', 1).optional(),
});

const logregProblem = z.strictObject({
  type: z.literal('logreg-hpo'),
  data: z.discriminatedUnion('source', [syntheticData, libsvmData]),
  split: z
    .strictObject({
      testFraction: z.number().min(0).max(0.9).default(0.1),
      valFraction: z.number().gt(0).lt(1).default(0.3),
    })
    .default({ testFraction: 0.1, valFraction: 0.3 }),
  partition: z
    .discriminatedUnion('type', [z.strictObject({ type: z.literal('iid') }), z.strictObject({ type: z.literal('dirichlet'), alpha: z.number().positive() })])
    .default({ type: 'iid' }),
  standardize: z.boolean().default(false),
  batch: batchSchema.default(100),
});

const mnistData = z.strictObject({
  source: z.literal('mnist'),
  /** Digits to keep; the first is the negative class (b = −1), the second the positive one. */
  digits: z.tuple([z.number().int().min(0).max(9), z.number().int().min(0).max(9)]).default([0, 1]),
  trainPerAgent: int('trainPerAgent', 1).default(200),
  valPerAgent: int('valPerAgent', 1).default(200),
});

const binaryLogregProblem = z.strictObject({
  type: z.literal('binary-logreg-hpo'),
  data: mnistData,
  /** 'sum' as in SEED-002 (sums over samples, not means), or 'mean'. */
  reduction: z.enum(['sum', 'mean']).default('sum'),
  batch: batchSchema.default('full'),
});

const taskPartition = z.discriminatedUnion('type', [z.strictObject({ type: z.literal('iid') }), z.strictObject({ type: z.literal('dirichlet'), alpha: z.number().positive() })], {
  error: "expected {type: iid} or {type: dirichlet, alpha}",
});
const hiddenSizes = z
  .array(z.number({ error: 'expected a positive integer' }).int({ error: 'hidden sizes must be positive integers' }).min(1, { error: 'hidden sizes must be positive integers' }), {
    error: 'expected a list of positive integers, e.g. [20, 20]',
  })
  .min(1, { error: 'expected at least one hidden layer' });

const mlpMetaProblem = z.strictObject({
  type: z.literal('mlp-meta'),
  data: z.strictObject({
    source: z.enum(['mnist', 'cifar10', 'cifar10-synthetic'], { error: 'expected mnist, cifar10 or cifar10-synthetic' }),
    /** cifar10: the folder holding the CIFAR-10 binary batches (data_batch_1.bin … test_batch.bin). */
    dir: z.string().min(1).optional(),
    perAgent: int('perAgent', 1).default(1000),
    /** same: F_i = G_i (the same samples); disjoint: the first half of the agent's samples is G_i, the second F_i. */
    split: z.enum(['same', 'disjoint'], { error: 'expected same or disjoint' }).default('same'),
    partition: taskPartition.default({ type: 'iid' }),
    /** Use only the first testSamples test images (default: all). */
    testSamples: int('testSamples', 1).optional(),
  }),
  hidden: hiddenSizes.default([20, 20]),
  mu: z.number().positive().default(0.01),
  batch: batchSchema.default(32),
});

const hyperCleaningProblem = z.strictObject({
  type: z.literal('hyper-cleaning'),
  data: z.strictObject({
    source: z.enum(['fashion-mnist', 'mnist'], { error: 'expected fashion-mnist or mnist' }),
    /** fashion-mnist: the folder with the four .gz IDX files (default /usr/share/datasets/fashion-mnist). */
    dir: z.string().min(1).optional(),
    trainPerAgent: int('trainPerAgent', 1).default(5000),
    valPerAgent: int('valPerAgent', 1).default(1000),
    partition: taskPartition.default({ type: 'iid' }),
    testSamples: int('testSamples', 1).optional(),
  }),
  corruption: z.number({ error: 'expected a number in [0, 1)' }).min(0, { error: 'expected a number in [0, 1)' }).lt(1, { error: 'expected a number in [0, 1)' }).default(0.2),
  hidden: hiddenSizes.default([300]),
  C: z.number().min(0).default(1e-3),
  batch: batchSchema.default(100),
});

const TOPOLOGY_CONFIG_TYPES = ['complete', 'ring', 'path', 'star', 'torus', 'exponential', 'erdos-renyi', 'custom'] as const;
const mixingRule = z.enum(['laplacian', 'metropolis', 'uniform']).optional();
/** A key another topology type takes: given here, it is refused with `message` naming that type. */
const refused = (message: string) => z.never({ error: message }).optional();
/** The keys `type` does not take, each refused with a line saying which type takes it. */
const notTaken = (type: string) => ({
  p: refused(`only erdos-renyi takes p (type is ${type})`),
  rows: refused(`only torus takes rows (type is ${type})`),
  edges: refused(`only custom takes edges or weights (type is ${type})`),
  weights: refused(`only custom takes edges or weights (type is ${type})`),
  selfWeight: refused(`only ring takes selfWeight (type is ${type})`),
  ringFallback: refused(`only torus takes ringFallback (type is ${type})`),
  allowNegativeWeights: refused('only a custom weights matrix takes allowNegativeWeights'),
});
const plainTopology = <T extends 'complete' | 'path' | 'star' | 'exponential'>(type: T) =>
  z.strictObject({ type: z.literal(type), agents: int('agents', 1), mixing: mixingRule, ...notTaken(type) });

const ringTopology = z
  .strictObject({
    type: z.literal('ring'),
    agents: int('agents', 1),
    mixing: mixingRule,
    ...notTaken('ring'),
    /** Lazy ring: w_ii = selfWeight, the rest split evenly between the two neighbours (SEED-004's "adjusted ring": 0.5). */
    selfWeight: z.number().min(0).lt(1).optional(),
  })
  .superRefine((t, ctx) => {
    if (t.selfWeight !== undefined && t.mixing !== undefined) ctx.addIssue({ code: 'custom', path: ['mixing'], message: 'selfWeight sets the ring weights itself; remove mixing' });
  });

const torusTopology = z.strictObject({
  type: z.literal('torus'),
  agents: int('agents', 1),
  mixing: mixingRule,
  ...notTaken('torus'),
  rows: int('rows', 1).optional(),
  /** Build a ring when agents is prime (otherwise an error names the nearest valid sizes). */
  ringFallback: z.boolean().optional(),
});

const erdosRenyiTopology = z.strictObject({
  type: z.literal('erdos-renyi'),
  agents: int('agents', 1),
  mixing: mixingRule,
  ...notTaken('erdos-renyi'),
  p: z
    .number({ error: (iss) => (iss.input === undefined ? 'required for erdos-renyi: edge probability in (0, 1]' : undefined) })
    .gt(0)
    .max(1),
});

type Edges = Array<[number, number]>;
/** custom: exactly one of `edges` (weighted by the mixing rule) or `weights` (the full mixing matrix). */
type CustomTopology =
  | { type: 'custom'; agents: number; mixing?: 'laplacian' | 'metropolis' | 'uniform'; edges: Edges; weights?: undefined; allowNegativeWeights?: undefined }
  | { type: 'custom'; agents: number; mixing?: undefined; edges?: undefined; weights: number[][]; allowNegativeWeights?: boolean };
const customTopology = z
  .strictObject({
    type: z.literal('custom'),
    agents: int('agents', 1),
    mixing: mixingRule,
    ...notTaken('custom'),
    edges: z.array(z.tuple([z.number().int(), z.number().int()])).optional(),
    weights: z.array(z.array(z.number())).optional(),
    /** weights only: accept negative entries (ρ = ‖W − 11ᵀ/m‖₂ < 1 is still required). */
    allowNegativeWeights: z.boolean().optional(),
  })
  .superRefine((t, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if ((t.edges === undefined) === (t.weights === undefined)) issue('edges', 'custom topology needs exactly one of edges (with a mixing rule) or weights (a full matrix)');
    if (t.weights !== undefined && t.mixing !== undefined) issue('mixing', 'a custom weights matrix is its own mixing rule; remove mixing');
    if (t.weights === undefined && t.allowNegativeWeights !== undefined) issue('allowNegativeWeights', 'only a custom weights matrix takes allowNegativeWeights');
  })
  // The checks above make the value one of the two shapes; say so to the type system (the value is unchanged).
  .transform((t) => t as CustomTopology);

/**
 * The `topology` section: a union on `type` whose members map one to one onto
 * src/graph's TopologySpec (plus the lazy ring's selfWeight and a custom weights
 * matrix, which are built from their matrices).
 */
export const topologySchema = z.discriminatedUnion(
  'type',
  [plainTopology('complete'), ringTopology, plainTopology('path'), plainTopology('star'), torusTopology, plainTopology('exponential'), erdosRenyiTopology, customTopology],
  { error: (iss) => (iss.code === 'invalid_union' ? `Invalid option: expected one of ${TOPOLOGY_CONFIG_TYPES.map((t) => JSON.stringify(t)).join('|')}` : undefined) },
);

/** A seeded random start, identical on all agents: entries i.i.d. N(mean, std²) (opt-in, e.g. SEED-002's θ⁰). */
const randomInit = z.strictObject({ type: z.literal('normal'), mean: z.number().default(0), std: z.number().positive() });
const vectorInit = z.union([z.number(), z.array(z.number()), randomInit], { error: 'expected a number (every entry), an array of numbers, or {type: normal, std, mean?}' });

export const configSchema = z.strictObject({
  name: z.string().optional(),
  seed: z.number().int().min(0).default(1),
  iterations: int('iterations', 0).default(100),
  evalEvery: int('evalEvery', 1).default(10),
  problem: z.discriminatedUnion('type', [quadraticProblem, logregProblem, binaryLogregProblem, mlpMetaProblem, hyperCleaningProblem]),
  topology: topologySchema,
  algorithm: z.looseObject({ name: z.string({ error: 'expected an algorithm name' }) }),
  init: z.strictObject({ x: vectorInit.optional(), y: vectorInit.optional(), z: vectorInit.optional() }).default({}),
  evaluation: z
    .strictObject({
      /** Solve the lower level at every evaluation for ‖∇Φ(x̄)‖², lower-level errors and the class-P metrics. */
      groundTruth: z.boolean().default(true),
    })
    .default({ groundTruth: true }),
  /**
   * A run is declared diverged when ‖x_i‖, ‖y_i‖, ‖z_i‖, the consensus
   * distance or ‖∇Φ(x̄)‖ exceeds factor × max(its start value, 1), or is not
   * finite (see src/experiments/divergence.ts). `enabled: false` keeps only
   * the non-finite check.
   */
  divergence: z
    .strictObject({
      enabled: z.boolean().default(true),
      factor: z.number({ error: 'expected a number > 1' }).gt(1, { error: 'divergence.factor must be > 1' }).default(1e6),
    })
    .default({ enabled: true, factor: 1e6 }),
  output: z
    .strictObject({
      trace: z.boolean().default(false),
      bytesPerFloat: z.union([z.literal(4), z.literal(8)], { error: 'expected 4 (fp32) or 8 (fp64)' }).default(4),
    })
    .default({ trace: false, bytesPerFloat: 4 }),
  /** Real transports only: when a silent neighbour is declared gone (faults.ts). */
  network: networkSchema.optional(),
  /** Injected faults for tests and demos, libp2p transport only (faults.ts). */
  faults: faultsSchema.optional(),
});

export type RunConfig = z.infer<typeof configSchema>;
export type ProblemConfig = RunConfig['problem'];
export type TopologyConfig = RunConfig['topology'];

/** Validates a parsed config object and fills every default, including the algorithm's. */
export function resolveConfig(raw: unknown): RunConfig {
  const config = parseWith(configSchema, withProblemDefaults(raw));
  const { name, ...rest } = config.algorithm;
  const params = getAlgorithm(name, 'algorithm.name').configure(rest, 'algorithm').values;
  return { ...config, algorithm: { name, ...params } };
}

/**
 * Defaults that depend on the problem: hyper-cleaning's lower level is
 * nonconvex (no ground truth), so `evaluation.groundTruth` defaults to false there.
 */
function withProblemDefaults(raw: unknown): unknown {
  if (typeof raw !== 'object' || raw === null) return raw;
  const r = raw as Record<string, unknown>;
  const problem = r.problem as Record<string, unknown> | undefined;
  if (problem?.type !== 'hyper-cleaning') return raw;
  const evaluation = r.evaluation;
  if (evaluation !== undefined && (typeof evaluation !== 'object' || evaluation === null || 'groundTruth' in evaluation)) return raw;
  return { ...r, evaluation: { ...(evaluation as object | undefined), groundTruth: false } };
}

/** Reads a YAML or JSON config file. */
export function readConfigFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new DataError(path, 'config file not found or unreadable (expected a YAML or JSON file)');
  }
  try {
    return path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new DataError(path, `cannot parse config: ${(e as Error).message.split('\n')[0]}`);
  }
}

/** Reads, validates and resolves a config file. Relative data paths are taken relative to the config file's folder. */
export function loadConfig(path: string): RunConfig {
  const raw = readConfigFile(path);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError('(config)', `${path} must hold a mapping of keys (seed, iterations, problem, topology, algorithm, ...)`);
  return withPathsFrom(resolveConfig(raw), dirname(path));
}

/** Rewrites the config's relative file paths as absolute paths, taken relative to `base` (so a run's config.resolved.json reruns from anywhere). */
export function withPathsFrom(config: RunConfig, base: string): RunConfig {
  const at = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  const problem = config.problem;
  if (problem.type === 'quadratic') return { ...config, problem: { ...problem, file: at(problem.file) } };
  if ((problem.type === 'mlp-meta' || problem.type === 'hyper-cleaning') && problem.data.dir) return { ...config, problem: { ...problem, data: { ...problem.data, dir: at(problem.data.dir) } } } as RunConfig;
  if (problem.type === 'logreg-hpo' && problem.data.source === 'libsvm') {
    const data = { ...problem.data, file: at(problem.data.file), ...(problem.data.testFile ? { testFile: at(problem.data.testFile) } : {}) };
    return { ...config, problem: { ...problem, data } };
  }
  return config;
}
