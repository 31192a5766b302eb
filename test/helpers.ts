/** Shared test helpers: build and drive agents directly on the simulator. */
import assert from 'node:assert/strict';
import { ConfigError } from '../src/errors.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { register } from '../src/algorithms/registry.ts';
import type { AgentContext, AgentStateBase, AgentWorkspace, Algorithm, AlgorithmParams, RegisteredAlgorithm } from '../src/algorithms/types.ts';
import { buildTopology, type TopologySpec, type WeightedTopology } from '../src/graph/index.ts';
import { Simulator } from '../src/network/simulator.ts';
import { CountingOracle } from '../src/problems/counting.ts';
import { quadraticProblem } from '../src/problems/quadratic.ts';
import { parseQuadraticInstance } from '../src/problems/quadratic-file.ts';
import { randomQuadraticInstance, type RandomQuadraticOptions } from '../src/problems/quadratic-generator.ts';
import type { BilevelProblem } from '../src/problems/types.ts';
import { deriveSeed } from '../src/random/rng.ts';
import { Evaluator } from '../src/metrics/evaluate.ts';
import type { StateView } from '../src/metrics/state-view.ts';

type Metrics = ReturnType<Evaluator['evaluate']>;

const tempDirs = new Set<string>();
let cleanupInstalled = false;

/**
 * A fresh folder in the system's temporary directory, removed (with
 * everything in it) when the test process exits, whatever the tests do; each
 * test file runs in its own process, so `npm test` leaves nothing behind.
 */
export function tempDir(prefix = 'dbo-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  if (!cleanupInstalled) {
    cleanupInstalled = true;
    process.on('exit', () => {
      for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
    });
  }
  return dir;
}

export function randomQuadratic(o: RandomQuadraticOptions, seed: number): BilevelProblem {
  const json = randomQuadraticInstance(o, seed);
  const parsed = parseQuadraticInstance(json, '(test)');
  return quadraticProblem(parsed.problemClass, parsed.agents, parsed.noise);
}

export function writeQuadratic(dir: string, o: RandomQuadraticOptions, seed: number): string {
  const file = join(dir, `quadratic-${seed}.json`);
  writeFileSync(file, JSON.stringify(randomQuadraticInstance(o, seed)));
  return file;
}

/** A registered algorithm or an algorithm file's typed export (whose types the harness keeps). */
export type AnyAlgorithm = RegisteredAlgorithm | Algorithm<AlgorithmParams, AgentStateBase, unknown>;

export interface Harness<S extends AgentStateBase = AgentStateBase> {
  readonly sim: Simulator;
  readonly oracles: CountingOracle[];
  readonly contexts: AgentContext[];
  /** Every agent's state, advanced in place by `step` (replace them to resume from deserialized states). */
  states: S[];
  readonly workspaces: AgentWorkspace[];
  step(): Promise<void>;
  /** Every agent's iterates, as evaluators read them. */
  views(): StateView[];
}

type HarnessOptions = { seed?: number; batch?: number | 'full'; bytesPerFloat?: number };

/**
 * Agents of `algorithm` on `problem` over `topology`, driven step by step;
 * parameters go through the algorithm's schema. Payloads travel at 8 bytes
 * per float unless `bytesPerFloat` says otherwise: algorithm tests check
 * exact mathematics (trackers to 1e-12, closed-form optima), which float32
 * rounding on the wire would blur; the rounding itself is tested in
 * test/network.
 */
export function harness<P extends AlgorithmParams, S extends AgentStateBase, W>(algorithm: Algorithm<P, S, W>, params: Record<string, unknown>, problem: BilevelProblem, topology: WeightedTopology, options?: HarnessOptions): Harness<S>;
export function harness(algorithm: AnyAlgorithm, params: Record<string, unknown>, problem: BilevelProblem, topology: WeightedTopology, options?: HarnessOptions): Harness;
export function harness(algorithm: AnyAlgorithm, params: Record<string, unknown>, problem: BilevelProblem, topology: WeightedTopology, options: HarnessOptions = {}): Harness {
  const sim = new Simulator({ m: problem.m, neighbours: topology.graph.neighbours, weights: topology.mixing }, options.bytesPerFloat ?? 8);
  const oracles = problem.agents.map((a) => new CountingOracle(a));
  const batch = options.batch ?? 'full';
  const zeros = { x: new Float64Array(problem.dx), y: new Float64Array(problem.dy), z: new Float64Array(problem.dy) };
  const contexts: AgentContext[] = oracles.map((oracle, id) => ({
    id,
    m: problem.m,
    dx: problem.dx,
    dy: problem.dy,
    oracle,
    link: sim.links[id]!,
    batch: { upper: batch, lower: batch },
    init: zeros,
    seed: deriveSeed(options.seed ?? 1, 'agent', id),
  }));
  const configured = ('configure' in algorithm ? algorithm : register(algorithm)).configure(params);
  const h: Harness = {
    sim,
    oracles,
    contexts,
    states: contexts.map((c) => configured.init(c)),
    workspaces: contexts.map((c) => configured.workspace(c)),
    async step() {
      await Promise.all(h.states.map((s, i) => configured.step(s, contexts[i]!, h.workspaces[i]!)));
    },
    views: () => h.states.map((s) => configured.view(s)),
  };
  return h;
}

export function topology(spec: TopologySpec & { mixing?: 'laplacian' | 'metropolis' | 'uniform' }, seed = 1): WeightedTopology {
  return buildTopology(spec, seed);
}

/** Runs `algorithm` for `iterations` steps and evaluates the ground-truth metrics. */
export async function runAndEvaluate<P extends AlgorithmParams, S extends AgentStateBase, W>(algorithm: Algorithm<P, S, W>, params: Record<string, unknown>, problem: BilevelProblem, topo: WeightedTopology, iterations: number, batch?: number | 'full'): Promise<{ h: Harness<S>; metrics: Metrics }>;
export async function runAndEvaluate(algorithm: AnyAlgorithm, params: Record<string, unknown>, problem: BilevelProblem, topo: WeightedTopology, iterations: number, batch?: number | 'full'): Promise<{ h: Harness; metrics: Metrics }>;
export async function runAndEvaluate(algorithm: AnyAlgorithm, params: Record<string, unknown>, problem: BilevelProblem, topo: WeightedTopology, iterations: number, batch: number | 'full' = 'full'): Promise<{ h: Harness; metrics: Metrics }> {
  const h = harness(algorithm, params, problem, topo, { batch });
  for (let t = 0; t < iterations; t++) await h.step();
  return { h, metrics: new Evaluator(problem).evaluate(h.views()) };
}

/**
 * Runs to the stationary regime, checks that ‖∇Φ(x̄)‖² has stopped moving
 * over `iterations / settle` more steps (relative change < tol), and returns it.
 */
export async function floorOf(algorithm: AnyAlgorithm, params: Record<string, unknown>, problem: BilevelProblem, topo: WeightedTopology, iterations: number, options: { settle?: number; tol?: number } = {}): Promise<number> {
  const { h, metrics } = await runAndEvaluate(algorithm, params, problem, topo, iterations);
  for (let t = 0; t < iterations / (options.settle ?? 8); t++) await h.step();
  const later = new Evaluator(problem).evaluate(h.views());
  if (!(Math.abs(later.hypergradNormSq - metrics.hypergradNormSq) < (options.tol ?? 1e-4) * metrics.hypergradNormSq)) throw new Error(`${algorithm.name}: not yet at the floor (${metrics.hypergradNormSq} then ${later.hypergradNormSq})`);
  return metrics.hypergradNormSq;
}

/** assert.throws validator: a ConfigError whose message matches `re`. */
export const configErrorMatching =
  (re: RegExp) =>
  (e: unknown): boolean => {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    assert.match(e.message, re);
    return true;
  };

/** max_i |a_i − b_i| / max_i |b_i|: the worst entry's error relative to the result's scale. */
export function maxRelErr(a: Float64Array, b: Float64Array): number {
  assert.equal(a.length, b.length);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / Math.max(den, 1e-300);
}
