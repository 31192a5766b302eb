/**
 * The worker-thread runtime: agents partitioned over worker threads in
 * contiguous id blocks, payloads in SharedArrayBuffer slots, one barrier per
 * communication round (never a message per vector). The main thread prepares
 * the run once and sends each worker its agents' part (worker-part.ts: their
 * oracles' data, links and the shared start); the worker builds those agents
 * alone, so every agent computes exactly what it computes in the simulator,
 * and the rows are the simulator's bit for bit (elapsed time aside). Messages
 * to the workers happen only at evaluation points: advance, snapshot, counters.
 */
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import type { StateView } from '../algorithms/types.ts';
import { refuseFaults } from '../experiments/faults.ts';
import type { PreparedRun } from '../experiments/runner.ts';
import { addCounts, emptyCounts, type OracleCounts } from '../problems/counting.ts';
import { addCommCounters, checkCheckpointAgents, emptyCommCounters, mergeCommCounters, type AdvanceResult, type AgentCheckpoint, type CommCounters, type Runtime, type RuntimeCheckpoint, type RuntimeCounters } from './types.ts';
import { allocateShared, CTRL_STOP, slotCapacity } from './worker-shared.ts';
import { hostedPart } from './worker-part.ts';
import type { WorkerInit, WorkerRequest } from './worker-thread.ts';

/** Default thread count: the cores this process may use. */
export function defaultThreads(): number {
  return availableParallelism();
}

/** Contiguous blocks of agent ids, as equal as possible, one per worker. */
export function partitionAgents(m: number, workers: number): number[][] {
  const out: number[][] = [];
  for (let w = 0; w < workers; w++) {
    const lo = Math.floor((w * m) / workers);
    const hi = Math.floor(((w + 1) * m) / workers);
    out.push(Array.from({ length: hi - lo }, (_, k) => lo + k));
  }
  return out;
}

export interface WorkerRuntimeOptions {
  /** Every worker prepares the whole run from the config, as for a problem whose oracles cannot be sent (for tests of that path). */
  readonly prepareInWorkers?: boolean;
}

type Reply = { ok: true; result: unknown } | { ok: false; error: string; stack?: string };

function startWorker(data: WorkerInit): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./worker-thread.js', import.meta.url), { workerData: data });
  // Running the TypeScript sources: the worker registers tsx itself before loading its module.
  const api = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./worker-thread.ts', import.meta.url).href;
  const code = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(code, { eval: true, workerData: data });
}

export class WorkerRuntime implements Runtime {
  readonly name = 'worker-threads';
  private iteration = 0;
  private failed: Error | null = null;
  /** Communication totals before the checkpoint this runtime was restored from. */
  private commBase: CommCounters = emptyCommCounters();

  private constructor(
    readonly m: number,
    private readonly workers: Worker[],
    private readonly blocks: number[][],
    private readonly pending: Array<((r: Reply) => void) | null>,
    private readonly control: Int32Array,
  ) {}

  /** Starts `threads` workers (at most one per agent) for a prepared run and waits until each has built its agents. */
  static async create(run: PreparedRun, threads: number = defaultThreads(), options: WorkerRuntimeOptions = {}): Promise<WorkerRuntime> {
    refuseFaults(run.config.faults, 'worker');
    const m = run.problem.m;
    const n = Math.max(1, Math.min(threads, m));
    const layout = allocateShared(m, n, slotCapacity(run.problem.dx, run.problem.dy));
    const blocks = partitionAgents(m, n);
    const pending: Array<((r: Reply) => void) | null> = new Array(n).fill(null);
    const { neighbours } = run.topology.graph;
    const mix = run.topology.mixing;
    const workers = blocks.map((ids, index) => {
      const links = ids.map((i) => ({ neighbours: neighbours[i]!, selfWeight: mix.self[i]!, neighbourWeights: Array.from(mix.values.subarray(mix.rowStart[i]!, mix.rowStart[i + 1]!)) }));
      const data: WorkerInit = { config: run.config, ids, index, layout, links, part: options.prepareInWorkers ? null : hostedPart(run, ids) };
      return startWorker(data);
    });
    const rt = new WorkerRuntime(m, workers, blocks, pending, new Int32Array(layout.control));
    workers.forEach((w, k) => {
      w.on('message', (r: Reply) => rt.settle(k, r));
      w.on('error', (e: Error) => rt.settle(k, { ok: false, error: e.message, ...(e.stack ? { stack: e.stack } : {}) }));
      w.on('exit', (code) => {
        if (pending[k]) rt.settle(k, { ok: false, error: `worker ${k} exited with code ${code}` });
      });
    });
    try {
      await Promise.all(workers.map((_, k) => rt.wait(k)));
    } catch (e) {
      await rt.close();
      throw e;
    }
    return rt;
  }

  private settle(k: number, r: Reply): void {
    const p = this.pending[k];
    this.pending[k] = null;
    if (p) p(r);
    else if (!r.ok) this.failed ??= new Error(r.error);
  }

  private wait(k: number): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.pending[k] = (r) => {
        if (r.ok) resolve(r.result);
        else {
          const e = new Error(`worker ${k}: ${r.error}`);
          if (r.stack) e.stack = `${e.message}\n--- in the worker ---\n${r.stack}`;
          reject(e);
        }
      };
    });
  }

  private async ask<T>(req: WorkerRequest): Promise<T[]> {
    if (this.failed) throw this.failed;
    const replies = this.workers.map((_, k) => this.wait(k));
    for (const w of this.workers) w.postMessage(req);
    try {
      return (await Promise.all(replies)) as T[];
    } catch (e) {
      this.failed = e as Error;
      throw e;
    }
  }

  async advance(to: number, onIteration?: (iteration: number) => void, stopRequested?: () => boolean): Promise<AdvanceResult> {
    const start = performance.now();
    // A stop request reaches the workers through shared memory (one already made, at once; later ones within 20 ms); they agree on the iteration to stop after.
    Atomics.store(this.control, CTRL_STOP, stopRequested?.() ? 1 : 0);
    const poll = stopRequested
      ? setInterval(() => {
          if (stopRequested()) Atomics.store(this.control, CTRL_STOP, 1);
        }, 20)
      : null;
    let results: Array<{ iteration: number; bad: { id: number; message: string } | null }>;
    try {
      results = await this.ask({ cmd: 'advance', to });
    } finally {
      if (poll) clearInterval(poll);
    }
    const computeMs = performance.now() - start;
    const iteration = results[0]!.iteration;
    if (results.some((r) => r.iteration !== iteration)) throw new Error(`worker runtime: workers stopped at different iterations (${results.map((r) => r.iteration).join(', ')})`);
    for (let i = this.iteration + 1; i < iteration; i++) onIteration?.(i);
    this.iteration = iteration;
    let bad: { id: number; message: string } | null = null;
    for (const r of results) if (r.bad && (bad === null || r.bad.id < bad.id)) bad = r.bad;
    if (bad) return { iteration, nonFinite: bad.message, computeMs };
    onIteration?.(iteration);
    return { iteration, nonFinite: null, computeMs };
  }

  async snapshot(): Promise<ReadonlyArray<StateView>> {
    const parts = await this.ask<Array<StateView & { id: number }>>({ cmd: 'snapshot' });
    const byId: StateView[] = new Array(this.m);
    for (const part of parts) for (const v of part) byId[v.id] = v;
    return byId;
  }

  async counters(): Promise<RuntimeCounters> {
    const parts = await this.ask<{ comm: Omit<CommCounters, 'wireBytes'> & { wireBytes?: number }; oracle: OracleCounts }>({ cmd: 'counters' });
    const oracle = emptyCounts();
    for (const p of parts) addCounts(oracle, p.oracle);
    return { comm: addCommCounters(this.commBase, mergeCommCounters(parts.map((p) => ({ ...p.comm, wireBytes: 0 })))), oracle };
  }

  async checkpoint(): Promise<RuntimeCheckpoint> {
    const parts = await this.ask<AgentCheckpoint[]>({ cmd: 'checkpoint' });
    const { comm } = await this.counters();
    return { iteration: this.iteration, comm, agents: parts.flat().sort((a, b) => a.id - b.id) };
  }

  async restore(checkpoint: RuntimeCheckpoint): Promise<void> {
    if (this.iteration !== 0) throw new Error('worker runtime: restore is only for a runtime that has not advanced');
    checkCheckpointAgents(checkpoint, this.m);
    if (this.failed) throw this.failed;
    const replies = this.workers.map((_, k) => this.wait(k));
    this.workers.forEach((w, k) => w.postMessage({ cmd: 'restore', iteration: checkpoint.iteration, agents: this.blocks[k]!.map((id) => checkpoint.agents[id]!) } satisfies WorkerRequest));
    await Promise.all(replies);
    this.commBase = { ...checkpoint.comm };
    this.iteration = checkpoint.iteration;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  /** Agent ids hosted by each worker. */
  get partition(): ReadonlyArray<ReadonlyArray<number>> {
    return this.blocks;
  }
}

/** A runtime factory for the runner: worker threads when `threads` ≥ 2 and there are ≥ 2 agents, else null (use the simulator). */
export function workerRuntimeFactory(threads: number): ((run: PreparedRun) => Promise<Runtime>) | null {
  if (threads < 2) return null;
  return (run) => WorkerRuntime.create(run, threads);
}
