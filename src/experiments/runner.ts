/**
 * The experiment runner: turns a resolved config into agents hosted by a
 * runtime (src/runtime: the in-process simulator by default), advances them
 * to each evaluation point, and streams tidy result rows (docs/architecture.md). Metrics
 * are computed by the evaluator outside the run's clock and counters.
 */
import { performance } from 'node:perf_hooks';
import { getAlgorithm } from '../algorithms/registry.ts';
import type { ConfiguredAlgorithm, StateView } from '../algorithms/types.ts';
import { ConfigError } from '../errors.ts';
import type { WeightedTopology } from '../graph/index.ts';
import type { Vec } from '../linalg/vector.ts';
import { Evaluator, type RowMetrics } from '../metrics/evaluate.ts';
import { ORACLE_KINDS, type OracleKind } from '../problems/counting.ts';
import type { BilevelProblem } from '../problems/types.ts';
import { deriveSeed, Rng } from '../random/rng.ts';
import { InProcessRuntime } from '../runtime/in-process.ts';
import type { Runtime, RuntimeCheckpoint } from '../runtime/types.ts';
import { isViewChanging, type RunEvent } from '../runtime/view-events.ts';
import { survivorsProblem } from '../problems/survivors.ts';
import { deserializeState, serializeState } from '../algorithms/state.ts';
import { buildProblem, checkProblemFits } from './build-problem.ts';
import { DivergenceMonitor, type Divergence } from './divergence.ts';
import type { RunConfig } from './config.ts';
import { checkFaults } from './faults.ts';
import { buildRunTopology } from './topology.ts';

/** One row of metrics.jsonl. Oracle columns are network totals of calls (and samples) by kind. */
export type MetricsRow = {
  iteration: number;
  rounds: number;
  messages: number;
  floats: number;
  bytes: number;
  /** Bytes that went through sockets, framing and encryption included (0 on the simulator, which has none). */
  wireBytes: number;
} & Record<OracleKind, number> &
  Record<`${OracleKind}Samples`, number> &
  RowMetrics & {
    /** IFO per agent (SEED-001 Def. 1): sample evaluations of ∇f and ∇g, (gradFSamples + gradGSamples) / m. */
    ifo: number;
    elapsedMs: number;
    /** Present once agents have left the run (docs/faults.md): how many survivors the row's metrics are over. */
    agents?: number;
  };

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

/**
 * What building agents needs (src/runtime/agent.ts): a prepared run without
 * its topology, whose problem need hold only the oracles of the agents built
 * (a worker thread's part, src/runtime/worker-part.ts).
 */
export type AgentsRun = Omit<PreparedRun, 'topology'>;

function initVector(value: RunConfig['init']['x'], n: number, field: string, what: string, seed: number): Vec {
  if (value === undefined) return new Float64Array(n);
  if (typeof value === 'number') return new Float64Array(n).fill(value);
  if (!Array.isArray(value)) {
    const rng = new Rng(deriveSeed(seed, 'init'), field);
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = value.mean + value.std * rng.normal();
    return out;
  }
  if (value.length !== n) throw new ConfigError(field, `expected ${n} numbers (${what}), got ${value.length}`);
  return Float64Array.from(value);
}

/** Builds everything a run needs and checks it fits together, before anything is written. */
export function prepareRun(config: RunConfig): PreparedRun {
  const { name, ...params } = config.algorithm;
  checkProblemFits(config, getAlgorithm(name), params);
  const algorithm = getAlgorithm(name).configure(params, 'algorithm');
  const topology = buildRunTopology(config.topology, config.seed);
  checkFaults(config.faults, topology.graph, config.iterations);
  const problem = buildProblem(config.problem, config.topology.agents, config.seed);
  if (problem.problemClass !== algorithm.problemClass)
    throw new ConfigError('algorithm.name', `${algorithm.name} solves ${algorithm.problemClass}-lower-level problems, but the problem is of class ${problem.problemClass}`);
  // The problem's seeded start (e.g. network weights), unless the config sets x or y.
  const start = problem.initialPoint?.(deriveSeed(config.seed, 'init'));
  const init = {
    x: config.init.x === undefined && start?.x ? start.x : initVector(config.init.x, problem.dx, 'init.x', 'd_x', config.seed),
    y: config.init.y === undefined && start?.y ? start.y : initVector(config.init.y, problem.dy, 'init.y', 'd_y', config.seed),
    z: initVector(config.init.z, problem.dy, 'init.z', 'd_y', config.seed),
  };
  return { config, topology, problem, algorithm, init };
}

export interface RunSinks {
  row?(row: MetricsRow): void;
  trace?(row: TraceRow): void;
  progress?(iteration: number, total: number, last: MetricsRow | null): void;
  /** A view change, weight row, reset or injected fault (events.jsonl; docs/faults.md). */
  event?(event: RunEvent): void;
  /** Every agent's iterates at each evaluation point, after its row (valid until the promise settles); awaited. */
  agents?(iteration: number, agents: ReadonlyArray<StateView>): void | Promise<void>;
}

export interface RunOutcome {
  /** 'interrupted': stopped on request (Ctrl-C / SIGTERM) at `iteration`, after a checkpoint. */
  readonly status: 'completed' | 'diverged' | 'interrupted';
  readonly message?: string;
  /** The iteration the run stopped at (status 'interrupted'). */
  readonly iteration?: number;
  /** Where and why the run diverged (status 'diverged'). */
  readonly divergence?: Divergence;
  readonly rows: MetricsRow[];
  /** Wall time of the whole run, compute time of the iterations, time spent in evaluations (ms). */
  readonly timing: RunTiming;
}

export interface RunTiming {
  readonly wallMs: number;
  readonly computeMs: number;
  readonly evaluationMs: number;
}

/**
 * Everything a run needs to continue from an iteration boundary as if it had
 * never stopped: the runtime's checkpoint (agents' states, oracle counts,
 * communication totals), the evaluator's warm starts, the divergence
 * monitor's start values, the time spent so far and the number of rows
 * written. Stored as checkpoint.json (src/experiments/checkpoint.ts).
 */
export interface RunCheckpoint {
  readonly iteration: number;
  readonly runtime: RuntimeCheckpoint;
  /** `serializeState(evaluator.warmStarts())`. */
  readonly evaluator: unknown;
  readonly divergence: Readonly<Record<string, number>>;
  readonly timing: RunTiming;
  /** Rows of metrics.jsonl (and of trace.jsonl) written up to `iteration`. */
  readonly rows: number;
  readonly traceRows: number;
}

/** Checkpoints, stop requests and resumption (all optional). */
export interface RunControl {
  /** Take a checkpoint after every iteration that is a multiple of this (and when stopping on request). */
  readonly checkpointEvery?: number;
  /** Receives each checkpoint (and stores it). */
  checkpoint?(checkpoint: RunCheckpoint): void | Promise<void>;
  /** Polled at iteration boundaries: true stops the run there (after a checkpoint) with status 'interrupted'. */
  stopRequested?(): boolean;
  /** Continue from a checkpoint; `rows` are the metrics rows written up to it. */
  readonly resume?: { readonly checkpoint: RunCheckpoint; readonly rows: ReadonlyArray<MetricsRow> };
}

/** Makes the runtime a run executes on; the default is the in-process simulator. */
export type RuntimeFactory = (run: PreparedRun) => Runtime | Promise<Runtime>;

export const inProcessRuntime: RuntimeFactory = (run) => new InProcessRuntime(run);

/**
 * Runs a prepared experiment on a runtime (default: the deterministic
 * in-process simulator). The runtime hosts the agents; the runner advances
 * them to each evaluation point, evaluates their snapshot outside the clock
 * and counters, and closes the runtime at the end.
 */
export async function execute(run: PreparedRun, sinks: RunSinks = {}, makeRuntime: RuntimeFactory = inProcessRuntime, control: RunControl = {}): Promise<RunOutcome> {
  const runtime = await makeRuntime(run);
  try {
    return await drive(run, runtime, sinks, control);
  } finally {
    await runtime.close();
  }
}

async function drive(run: PreparedRun, runtime: Runtime, sinks: RunSinks, control: RunControl): Promise<RunOutcome> {
  const { config, problem } = run;
  let evaluator = new Evaluator(problem, { groundTruth: config.evaluation.groundTruth });
  evaluator.warmStart(run.init.y);
  // Agents that left the run (libp2p): metrics become those of the survivors' problem.
  const views = isViewChanging(runtime) ? runtime : null;
  let evaluated = problem.m;
  const drainEvents = () => {
    for (const e of views?.drainEvents() ?? []) sinks.event?.(e);
  };
  const survivorsAt = (iteration: number): number | undefined => {
    if (!views) return undefined;
    const ids = views.survivors();
    if (ids.length !== evaluated) {
      evaluated = ids.length;
      evaluator = new Evaluator(survivorsProblem(problem, ids), { groundTruth: config.evaluation.groundTruth });
      evaluator.warmStart(run.init.y);
      sinks.event?.({ event: 'survivors', iteration, agents: [...ids] });
    }
    return ids.length < problem.m ? ids.length : undefined;
  };
  const rows: MetricsRow[] = [];
  let elapsedMs = 0;
  let evaluationMs = 0;
  let traceRows = 0;
  let started = performance.now();
  const monitor = new DivergenceMonitor(config.divergence);
  const every = control.checkpointEvery;
  if (every !== undefined && !(Number.isInteger(every) && every >= 1)) throw new ConfigError('--checkpoint-every', `expected a positive integer, got ${every}`);
  const end = (divergence?: Divergence): RunOutcome => {
    drainEvents();
    const timing = { wallMs: performance.now() - started, computeMs: elapsedMs, evaluationMs };
    return divergence ? { status: 'diverged', message: divergence.message, divergence, rows, timing } : { status: 'completed', rows, timing };
  };
  const checkpoint = async (iteration: number): Promise<void> => {
    if (!control.checkpoint) return;
    await control.checkpoint({
      iteration,
      runtime: await runtime.checkpoint(),
      evaluator: serializeState(evaluator.warmStarts()),
      divergence: monitor.startValues(),
      timing: { wallMs: performance.now() - started, computeMs: elapsedMs, evaluationMs },
      rows: rows.length,
      traceRows,
    });
  };

  const record = async (iteration: number): Promise<MetricsRow> => {
    const { comm: c, oracle: totals } = await runtime.counters();
    const oracleCols = {} as Record<OracleKind, number> & Record<`${OracleKind}Samples`, number>;
    for (const k of ORACLE_KINDS) oracleCols[k] = totals.calls[k];
    for (const k of ORACLE_KINDS) oracleCols[`${k}Samples`] = totals.samples[k];
    const snapshot = await runtime.snapshot();
    const agents = survivorsAt(iteration);
    const evalStart = performance.now();
    const metrics = evaluator.evaluateRow(snapshot);
    evaluationMs += performance.now() - evalStart;
    const ifo = (totals.samples.gradF + totals.samples.gradG) / problem.m;
    const row: MetricsRow = { iteration, rounds: c.rounds, messages: c.messages, floats: c.floats, bytes: c.bytes, wireBytes: c.wireBytes, ...oracleCols, ifo, ...metrics, elapsedMs, ...(agents !== undefined ? { agents } : {}) };
    rows.push(row);
    sinks.row?.(row);
    await sinks.agents?.(iteration, snapshot);
    return row;
  };
  const trace = async (iteration: number): Promise<void> => {
    if (!sinks.trace) return;
    const vs = await runtime.snapshot();
    const row: TraceRow = { iteration, x: vs.map((v) => Array.from(v.x)), y: vs.map((v) => Array.from(v.y)) };
    if (vs[0]!.z) row.z = vs.map((v) => Array.from(v.z!));
    sinks.trace(row);
    traceRows++;
  };

  const total = config.iterations;
  let last: MetricsRow;
  let t: number;
  if (control.resume) {
    // Continue where the checkpoint was taken: nothing before it is recomputed or rewritten.
    const { checkpoint: cp, rows: before } = control.resume;
    if (before.length !== cp.rows || before.length === 0) throw new Error(`resume: the checkpoint counts ${cp.rows} metrics rows, ${before.length} were given`);
    await runtime.restore(cp.runtime);
    evaluator.restoreWarmStarts(deserializeState(cp.evaluator as Parameters<typeof deserializeState>[0]));
    monitor.restoreStartValues(cp.divergence);
    rows.push(...before);
    elapsedMs = cp.timing.computeMs;
    evaluationMs = cp.timing.evaluationMs;
    started -= cp.timing.wallMs;
    traceRows = cp.traceRows;
    last = rows.at(-1)!;
    t = cp.iteration;
    sinks.progress?.(t, total, last);
  } else {
    last = await record(0);
    drainEvents();
    await trace(0);
    const atStart = monitor.checkIterates(0, await runtime.snapshot()) ?? monitor.checkRow(0, last);
    if (atStart) return end(atStart);
    t = 0;
  }
  const stopRequested = control.stopRequested;
  while (t < total) {
    if (stopRequested?.()) {
      await checkpoint(t);
      return { status: 'interrupted', iteration: t, message: `stopped at iteration ${t}`, rows, timing: { wallMs: performance.now() - started, computeMs: elapsedMs, evaluationMs } };
    }
    // Stop at every iteration when tracing, else at the next evaluation point (or checkpoint).
    let stop = sinks.trace ? t + 1 : Math.min(total, (Math.floor(t / config.evalEvery) + 1) * config.evalEvery);
    if (every !== undefined) stop = Math.min(stop, (Math.floor(t / every) + 1) * every);
    const step = await runtime.advance(
      stop,
      (i) => {
        if (i < stop) sinks.progress?.(i, total, last);
      },
      stopRequested,
    );
    elapsedMs += step.computeMs;
    t = step.iteration;
    drainEvents();
    await trace(t);
    if (step.nonFinite) return end(monitor.nonFinite(t, step.nonFinite));
    if (t % config.evalEvery === 0 || t === total) {
      const grown = monitor.checkIterates(t, await runtime.snapshot());
      if (grown) return end(grown);
      last = await record(t);
      const bad = monitor.checkRow(t, last);
      if (bad) return end(bad);
    }
    sinks.progress?.(t, total, last);
    if (every !== undefined && t % every === 0 && t < total && !stopRequested?.()) await checkpoint(t);
  }
  return end();
}

/** Convenience for library users and tests: validate, prepare and run, keeping rows in memory. */
export async function runConfig(config: RunConfig, sinks: RunSinks = {}): Promise<RunOutcome> {
  return execute(prepareRun(config), sinks);
}

