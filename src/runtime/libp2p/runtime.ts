/**
 * Local multi-process runtime: one OS process per agent on 127.0.0.1, each
 * connected over libp2p (Noise-authenticated, encrypted TCP) to its graph
 * neighbours only. The parent never carries a payload: it starts the agents,
 * hands them each other's peer ids and addresses, and at evaluation points
 * collects their iterates and counters over IPC for the evaluator. An agent
 * whose process ends during the run has left it: the others reweight and go
 * on (docs/faults.md), and snapshots hold the survivors.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { StateView } from '../../algorithms/types.ts';
import { DboError } from '../../errors.ts';
import type { PreparedRun } from '../../experiments/runner.ts';
import { isCrash } from '../../experiments/faults.ts';
import { addCounts, emptyCounts, type OracleCounts } from '../../problems/counting.ts';
import { addCommCounters, checkCheckpointAgents, emptyCommCounters, mergeCommCounters, type AdvanceResult, type CommCounters, type RuntimeCheckpoint, type RuntimeCounters } from '../types.ts';
import { sortEvents, type RunEvent, type ViewChangingRuntime } from '../view-events.ts';
import type { ChildMessage, ParentMessage } from './ipc.ts';
import type { PeerEntry } from './keys.ts';

export interface Libp2pRuntimeOptions {
  /** Pre-shared key (private network file contents) every agent uses. */
  readonly psk?: Uint8Array;
  /** How long agents may take to connect to their neighbours (ms). */
  readonly connectTimeoutMs?: number;
  /** Where agents' diagnostics go (default: stderr). */
  readonly log?: (message: string) => void;
}

/** The module an agent process runs, with the loader it needs when running from TypeScript sources. */
function agentEntry(): { path: string; execArgv: string[] } {
  const self = fileURLToPath(import.meta.url);
  const ext = self.slice(self.lastIndexOf('.'));
  const path = self.slice(0, self.lastIndexOf('/') + 1) + 'agent-process' + ext;
  const execArgv = ext === '.ts' ? ['--import', import.meta.resolve('tsx')] : [];
  return { path, execArgv };
}

/** What the coordinator hears about view changes from an agent process. */
interface ViewHooks {
  event(e: RunEvent): void;
  exit(id: number, how: string): void;
}

type Pending = { match: (m: ChildMessage) => boolean; resolve: (m: ChildMessage) => void; reject: (e: Error) => void };

class AgentProcess {
  private pending: Pending[] = [];
  exited: string | null = null;
  /** Set when the agent reported an error (a failure of the run, not a departure). */
  errored = false;

  constructor(
    readonly id: number,
    readonly child: ChildProcess,
    log: (message: string) => void,
    onProgress: (id: number, iteration: number) => void,
    views: ViewHooks = { event: () => {}, exit: () => {} },
  ) {
    child.on('message', (m: ChildMessage) => {
      if (m.type === 'log') return log(m.message);
      if (m.type === 'progress') return onProgress(id, m.iteration);
      if (m.type === 'event') return views.event(m.event);
      if (m.type === 'error') {
        this.errored = true;
        return this.failAll(new DboError(`agent ${id}: ${m.message}`));
      }
      const k = this.pending.findIndex((p) => p.match(m));
      if (k >= 0) this.pending.splice(k, 1)[0]!.resolve(m);
    });
    child.on('exit', (code, signal) => {
      this.exited = signal ? `killed by ${signal}` : `exited with code ${code}`;
      views.exit(id, this.exited);
      this.failAll(new DboError(`agent ${id}'s process ${this.exited}`));
    });
    child.on('error', (e) => {
      this.errored = true;
      this.failAll(new DboError(`agent ${id}'s process: ${e.message}`));
    });
  }

  /** The process ended without reporting an error: the agent left the run (a crash, a kill), and its neighbours go on without it. */
  get departed(): boolean {
    return this.exited !== null && !this.errored;
  }

  private failAll(e: Error): void {
    for (const p of this.pending.splice(0)) p.reject(e);
  }

  request<T extends ChildMessage['type']>(message: ParentMessage, reply: T): Promise<Extract<ChildMessage, { type: T }>> {
    if (this.exited) return Promise.reject(new DboError(`agent ${this.id}'s process ${this.exited}`));
    return new Promise((resolve, reject) => {
      this.pending.push({ match: (m) => m.type === reply, resolve: resolve as (m: ChildMessage) => void, reject });
      this.child.send(message);
    });
  }
}

export class Libp2pRuntime implements ViewChangingRuntime {
  readonly name = 'libp2p';
  readonly m: number;
  private readonly agents: AgentProcess[];
  private onIteration: ((t: number) => void) | null = null;
  /** View-change events not yet drained (docs/faults.md). */
  private events: RunEvent[] = [];
  /** Agents whose iterates the last snapshot returned. */
  private snapshotIds: number[];
  /** Every agent's last reported counters (a departed agent's stay in the totals). */
  private readonly lastCounters = new Map<number, { comm: CommCounters; oracle: OracleCounts }>();
  private crashAt = new Map<number, number>();
  /** Communication totals before the checkpoint this runtime was restored from. */
  private commBase: CommCounters = emptyCommCounters();
  private iteration = 0;

  private constructor(m: number, agents: AgentProcess[]) {
    this.m = m;
    this.agents = agents;
    this.snapshotIds = agents.map((a) => a.id);
  }

  /** View hooks of agent processes: events are kept for `drainEvents`, exits logged. */
  private hooks(): ViewHooks {
    return {
      event: (e) => this.events.push(e),
      exit: (id, how) => this.events.push({ event: 'agent-exited', iteration: this.crashAt.get(id) ?? this.iteration, agent: id, how }),
    };
  }

  /**
   * Asks every agent still in the run. One that leaves meanwhile (its process
   * ends without an error) is left out; an agent's error fails the request.
   */
  private async askAll<T extends ChildMessage['type']>(message: (a: AgentProcess, first: boolean) => ParentMessage, reply: T): Promise<Array<{ id: number; reply: Extract<ChildMessage, { type: T }> }>> {
    const live = this.agents.filter((a) => !a.exited);
    const replies = await Promise.all(
      live.map((a, k) =>
        a.request(message(a, k === 0), reply).catch((e: unknown) => {
          if (a.departed) return null;
          throw e;
        }),
      ),
    );
    const out = live.flatMap((a, k) => (replies[k] ? [{ id: a.id, reply: replies[k]! }] : []));
    if (out.length === 0) throw new DboError('every agent has left the run');
    return out;
  }

  survivors(): ReadonlyArray<number> {
    return this.snapshotIds;
  }

  drainEvents(): RunEvent[] {
    return sortEvents(this.events.splice(0));
  }

  static async create(run: PreparedRun, options: Libp2pRuntimeOptions = {}): Promise<Libp2pRuntime> {
    const m = run.problem.m;
    const log = options.log ?? ((s: string) => process.stderr.write(`${s}\n`));
    const { path, execArgv } = agentEntry();
    let runtime: Libp2pRuntime | null = null;
    const agents = Array.from({ length: m }, (_, id) => {
      const child = fork(path, [], { execArgv, serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      return new AgentProcess(id, child, log, (_id, t) => runtime?.onIteration?.(t), { event: (e) => runtime?.hooks().event(e), exit: (i, how) => runtime?.hooks().exit(i, how) });
    });
    runtime = new Libp2pRuntime(m, agents);
    for (const f of run.config.faults ?? []) if (isCrash(f)) runtime.crashAt.set(f.agent, f.crash.atIteration);
    try {
      const ready = await Promise.all(agents.map((a) => a.request({ type: 'init', config: run.config, id: a.id, ...(options.psk ? { psk: options.psk } : {}) }, 'ready')));
      const peers: PeerEntry[] = ready.map((r, id) => ({ id, peerId: r.peerId, address: r.address }));
      const timeoutMs = options.connectTimeoutMs ?? 30_000;
      await Promise.all(agents.map((a) => a.request({ type: 'peers', peers, timeoutMs }, 'connected')));
      return runtime;
    } catch (e) {
      await runtime.close();
      throw e;
    }
  }

  async advance(to: number, onIteration?: (iteration: number) => void): Promise<AdvanceResult> {
    this.onIteration = onIteration ?? null;
    try {
      // Progress comes from the lowest agent still in the run; agents that leave are left out (docs/faults.md).
      const results = (await this.askAll((_a, first) => ({ type: 'advance', to, progress: first && onIteration !== undefined }), 'advanced')).map((r) => r.reply);
      // Agents step on together to `to`; a non-finite iterate stops the run at the first iteration it appeared, named by the lowest agent id (as the simulator names it).
      const computeMs = Math.max(...results.map((r) => r.computeMs));
      const bad = results.filter((r) => r.nonFinite !== null);
      this.iteration = to;
      if (bad.length === 0) return { iteration: to, nonFinite: null, computeMs };
      const first = Math.min(...bad.map((r) => r.iteration));
      return { iteration: first, nonFinite: bad.find((r) => r.iteration === first)!.nonFinite, computeMs };
    } finally {
      this.onIteration = null;
    }
  }

  async snapshot(): Promise<ReadonlyArray<StateView>> {
    const replies = await this.askAll(() => ({ type: 'snapshot' }), 'snapshot');
    this.snapshotIds = replies.map((r) => r.id);
    return replies.map((r) => r.reply.view);
  }

  async counters(): Promise<RuntimeCounters> {
    for (const r of await this.askAll(() => ({ type: 'counters' }), 'counters')) this.lastCounters.set(r.id, { comm: r.reply.comm, oracle: r.reply.oracle });
    // Departed agents count with what they last reported.
    const all = [...this.lastCounters.values()];
    const oracle = emptyCounts();
    for (const r of all) addCounts(oracle, r.oracle);
    return { comm: addCommCounters(this.commBase, mergeCommCounters(all.map((r) => r.comm))), oracle };
  }

  async checkpoint(): Promise<RuntimeCheckpoint> {
    const left = this.agents.filter((a) => a.exited).map((a) => a.id);
    if (left.length > 0) throw new DboError(`cannot checkpoint: agent${left.length > 1 ? 's' : ''} ${left.join(', ')} left the run (a checkpoint holds every agent; docs/faults.md)`);
    const replies = await Promise.all(this.agents.map((a) => a.request({ type: 'checkpoint' }, 'checkpoint')));
    const { comm } = await this.counters();
    return { iteration: this.iteration, comm, agents: replies.map((r) => r.agent) };
  }

  async restore(checkpoint: RuntimeCheckpoint): Promise<void> {
    if (this.iteration !== 0) throw new Error('libp2p runtime: restore is only for a runtime that has not advanced');
    checkCheckpointAgents(checkpoint, this.m);
    await Promise.all(this.agents.map((a) => a.request({ type: 'restore', iteration: checkpoint.iteration, agent: checkpoint.agents[a.id]! }, 'restored')));
    this.commBase = { ...checkpoint.comm };
    this.iteration = checkpoint.iteration;
  }

  async close(): Promise<void> {
    await Promise.all(
      this.agents.map(async (a) => {
        if (a.exited) return;
        const exited = new Promise<void>((resolve) => a.child.once('exit', () => resolve()));
        try {
          a.child.send({ type: 'stop' } satisfies ParentMessage);
        } catch {
          // already disconnected
        }
        const timer = setTimeout(() => a.child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }),
    );
  }
}
