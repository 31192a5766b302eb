/**
 * The experiment runner: turns a resolved config into agents on a transport,
 * runs them in lockstep, and streams tidy result rows (design.md §3). Metrics
 * are computed by the evaluator outside the run's clock and counters.
 */
import { performance } from 'node:perf_hooks';
import { getAlgorithm } from '../algorithms/registry.ts';
import type { AgentContext, ConfiguredAlgorithm } from '../algorithms/types.ts';
import { ConfigError } from '../errors.ts';
import { buildTopology, topologyFromMatrix, type WeightedTopology } from '../graph/index.ts';
import { allFinite, type Vec } from '../linalg/vector.ts';
import { Evaluator, type RowMetrics } from '../metrics/evaluate.ts';
import type { StateView } from '../metrics/state-view.ts';
import { Simulator } from '../network/simulator.ts';
import { addCounts, CountingOracle, emptyCounts, ORACLE_KINDS, type OracleKind } from '../problems/counting.ts';
import type { BilevelProblem } from '../problems/types.ts';
import { deriveSeed } from '../random/rng.ts';
import { buildProblem } from './build-problem.ts';
import type { RunConfig, TopologyConfig } from './config.ts';

/** One row of metrics.jsonl. Oracle columns are network totals of calls (and samples) by kind. */
export type MetricsRow = {
  iteration: number;
  rounds: number;
  messages: number;
  floats: number;
  bytes: number;
} & Record<OracleKind, number> &
  Record<`${OracleKind}Samples`, number> &
  RowMetrics & { elapsedMs: number };

/** One row of trace.jsonl: every agent's iterates after `iteration` iterations. */
export interface TraceRow {
  iteration: number;
  x: number[][];
  y: number[][];
  z?: number[][];
}

export interface PreparedRun {
  readonly config: RunConfig;
  readonly topology: WeightedTopology;
  readonly problem: BilevelProblem;
  /** The algorithm bound to its parameters, re-checked through its schema. */
  readonly algorithm: ConfiguredAlgorithm;
  readonly init: { readonly x: Vec; readonly y: Vec; readonly z: Vec };
}

export function buildRunTopology(t: TopologyConfig, seed: number): WeightedTopology {
  if (t.type === 'custom' && t.weights) return topologyFromMatrix(t.weights, t.agents, 'topology');
  const base = { agents: t.agents, ...(t.mixing ? { mixing: t.mixing } : {}) };
  const seedT = deriveSeed(seed, 'topology');
  switch (t.type) {
    case 'erdos-renyi':
      return buildTopology({ ...base, type: t.type, p: t.p! }, seedT);
    case 'torus':
      return buildTopology({ ...base, type: t.type, ...(t.rows ? { rows: t.rows } : {}) }, seedT);
    case 'custom':
      return buildTopology({ ...base, type: t.type, edges: t.edges! }, seedT);
    default:
      return buildTopology({ ...base, type: t.type }, seedT);
  }
}

function initVector(value: number | number[] | undefined, n: number, field: string, what: string): Vec {
  if (value === undefined) return new Float64Array(n);
  if (typeof value === 'number') return new Float64Array(n).fill(value);
  if (value.length !== n) throw new ConfigError(field, `expected ${n} numbers (${what}), got ${value.length}`);
  return Float64Array.from(value);
}

/** Builds everything a run needs and checks it fits together, before anything is written. */
export function prepareRun(config: RunConfig): PreparedRun {
  const { name, ...params } = config.algorithm;
  const algorithm = getAlgorithm(name).configure(params, 'algorithm');
  const topology = buildRunTopology(config.topology, config.seed);
  const problem = buildProblem(config.problem, config.topology.agents, config.seed);
  if (problem.problemClass !== algorithm.problemClass)
    throw new ConfigError('algorithm.name', `${algorithm.name} solves ${algorithm.problemClass}-lower-level problems, but the problem is of class ${problem.problemClass}`);
  const init = {
    x: initVector(config.init.x, problem.dx, 'init.x', 'd_x'),
    y: initVector(config.init.y, problem.dy, 'init.y', 'd_y'),
    z: initVector(config.init.z, problem.dy, 'init.z', 'd_y'),
  };
  return { config, topology, problem, algorithm, init };
}

export interface RunSinks {
  row?(row: MetricsRow): void;
  trace?(row: TraceRow): void;
  progress?(iteration: number, total: number, last: MetricsRow | null): void;
}

export interface RunOutcome {
  readonly status: 'completed' | 'diverged';
  readonly message?: string;
  readonly rows: MetricsRow[];
}

function batchSizes(batch: RunConfig['problem']['batch']): AgentContext['batch'] {
  return typeof batch === 'object' ? batch : { upper: batch, lower: batch };
}

function nonFinite(views: ReadonlyArray<StateView>): string | null {
  for (let i = 0; i < views.length; i++) {
    const v = views[i]!;
    for (const key of ['x', 'y', 'z'] as const) {
      const vec = v[key];
      if (vec && !allFinite(vec)) return `agent ${i}'s ${key} has non-finite entries`;
    }
  }
  return null;
}

/** Runs a prepared experiment in the deterministic simulator. */
export async function execute(run: PreparedRun, sinks: RunSinks = {}): Promise<RunOutcome> {
  const { config, topology, problem, algorithm } = run;
  const m = problem.m;
  const sim = new Simulator({ m, neighbours: topology.graph.neighbours, weights: topology.weights.data }, config.output.bytesPerFloat);
  const oracles = problem.agents.map((a) => new CountingOracle(a));
  const contexts: AgentContext[] = oracles.map((oracle, id) => ({
    id,
    m,
    dx: problem.dx,
    dy: problem.dy,
    oracle,
    link: sim.links[id]!,
    batch: batchSizes(config.problem.batch),
    init: run.init,
    seed: deriveSeed(config.seed, 'agent', id),
  }));
  const states = contexts.map((ctx) => algorithm.init(ctx));
  const workspaces = contexts.map((ctx) => algorithm.workspace(ctx));
  const evaluator = new Evaluator(problem, { groundTruth: config.evaluation.groundTruth });
  evaluator.warmStart(run.init.y);
  const rows: MetricsRow[] = [];
  let elapsedMs = 0;

  const views = (): StateView[] => states.map((s) => algorithm.view(s));
  const record = (iteration: number): MetricsRow => {
    const totals = emptyCounts();
    for (const o of oracles) addCounts(totals, o.counts);
    const oracleCols = {} as Record<OracleKind, number> & Record<`${OracleKind}Samples`, number>;
    for (const k of ORACLE_KINDS) oracleCols[k] = totals.calls[k];
    for (const k of ORACLE_KINDS) oracleCols[`${k}Samples`] = totals.samples[k];
    const metrics = evaluator.evaluateRow(views());
    const c = sim.counters;
    const row: MetricsRow = { iteration, rounds: c.rounds, messages: c.messages, floats: c.floats, bytes: c.bytes, ...oracleCols, ...metrics, elapsedMs };
    rows.push(row);
    sinks.row?.(row);
    return row;
  };
  const trace = (iteration: number): void => {
    if (!sinks.trace) return;
    const vs = views();
    const row: TraceRow = { iteration, x: vs.map((v) => Array.from(v.x)), y: vs.map((v) => Array.from(v.y)) };
    if (vs[0]!.z) row.z = vs.map((v) => Array.from(v.z!));
    sinks.trace(row);
  };

  const total = config.iterations;
  let last = record(0);
  trace(0);
  for (let t = 1; t <= total; t++) {
    const start = performance.now();
    // Each agent's step advances its state in place.
    await Promise.all(states.map((s, i) => algorithm.step(s, contexts[i]!, workspaces[i]!)));
    elapsedMs += performance.now() - start;
    if (sim.pendingAgents !== 0) throw new Error(`${algorithm.name}: agents finished iteration ${t} with a communication round half done`);
    trace(t);
    const bad = nonFinite(views());
    if (bad) return { status: 'diverged', message: `diverged at iteration ${t}: ${bad} (try smaller step sizes)`, rows };
    if (t % config.evalEvery === 0 || t === total) {
      last = record(t);
      if (last.hypergradNormSq !== undefined && !Number.isFinite(last.hypergradNormSq)) return { status: 'diverged', message: `diverged at iteration ${t}: the hypergradient norm is not finite`, rows };
    }
    sinks.progress?.(t, total, last);
  }
  return { status: 'completed', rows };
}

/** Convenience for library users and tests: validate, prepare and run, keeping rows in memory. */
export async function runConfig(config: RunConfig, sinks: RunSinks = {}): Promise<RunOutcome> {
  return execute(prepareRun(config), sinks);
}

