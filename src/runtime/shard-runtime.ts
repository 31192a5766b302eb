/**
 * Replays the shards of a multi-host run (src/runtime/shard.ts) as a Runtime,
 * so that `dbo gather` computes the global metrics offline through the very
 * runner loop, evaluator and divergence checks of `dbo run`: `advance` moves
 * to the next recorded iteration (or the first non-finite one), `snapshot`
 * and `counters` return what the agents recorded there. The rows are the
 * ones a run on the simulator gives for the same config, measured columns
 * (elapsedMs, wireBytes) aside.
 *
 * Agents that stopped early (a shard that failed, or one its agent never
 * closed because it was killed) left the run as they do under the libp2p
 * coordinator (src/runtime/libp2p/runtime.ts, docs/faults.md): each is used
 * up to its last recorded iteration; afterwards snapshots hold the agents
 * still recording (the survivors), counters keep what a departed agent last
 * recorded at an evaluation, and the events replay the shards' view-change
 * rows plus one 'agent-exited' per departure, so the runner evaluates the
 * survivors' problem and writes the coordinator's events.jsonl.
 */
import type { StateView } from '../algorithms/types.ts';
import { DboError } from '../errors.ts';
import type { RunConfig } from '../experiments/config.ts';
import { addCounts, emptyCounts } from '../problems/counting.ts';
import { isCrash } from '../experiments/faults.ts';
import type { OracleCounts } from '../problems/counting.ts';
import { recordedIterations, VIEW_EVENT_KINDS, type Shard } from './shard.ts';
import { mergeCommCounters, type AdvanceResult, type CommCounters, type RuntimeCheckpoint, type RuntimeCounters } from './types.ts';
import { sortEvents, type RunEvent, type ViewChangingRuntime } from './view-events.ts';


/** Whether a shard's agent stopped before the end of the run (failed, or killed without closing its shard). */
export const departed = (s: Shard): boolean => s.meta.status !== 'completed';

/** The last iteration a shard recorded (−1 for none). */
const lastRecorded = (s: Shard): number => Math.max(-1, ...s.records.keys());

/** The config with its data paths reduced to file names: hosts keep the same data in different places. */
function placeless(config: RunConfig): string {
  return JSON.stringify(config, (key, value) => (typeof value === 'string' && (key === 'file' || key === 'testFile' || key === 'dir') ? value.replace(/^.*[\\/]/, '') : value));
}

/**
 * Checks that the shards are one run: one shard per agent id 0 … m − 1,
 * the same m, the same config (data paths aside), and, when `config` is
 * given, that config too. Returns the shards by agent id.
 */
export function checkShards(shards: ReadonlyArray<Shard>, config?: RunConfig): Shard[] {
  if (shards.length === 0) throw new DboError('no shards to gather');
  const m = shards[0]!.meta.m;
  const byId: Shard[] = new Array(m);
  for (const s of shards) {
    if (s.meta.m !== m) throw new DboError(`${s.dir}: a shard of a run with ${s.meta.m} agents, but ${shards[0]!.dir} has ${m}`);
    if (s.meta.agent < 0 || s.meta.agent >= m) throw new DboError(`${s.dir}: agent id ${s.meta.agent} is not in 0…${m - 1}`);
    if (byId[s.meta.agent]) throw new DboError(`${s.dir}: agent ${s.meta.agent} is also in ${byId[s.meta.agent]!.dir}`);
    byId[s.meta.agent] = s;
  }
  const missing: number[] = [];
  for (let i = 0; i < m; i++) if (!byId[i]) missing.push(i);
  if (missing.length > 0) throw new DboError(`no shard for agent${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (the run has ${m} agents; pass every agent's --out folder)`);
  const reference = config ? placeless(config) : placeless(byId[0]!.config);
  for (const s of byId)
    if (placeless(s.config) !== reference) throw new DboError(`${s.dir}/config.resolved.json: differs from ${config ? 'the --config file' : `${byId[0]!.dir}/config.resolved.json`} (the shards must come from one run)`);
  // An agent that stopped early must have recorded every iteration it should have up to its last one.
  const recorded = recordedIterations(byId[0]!.config);
  for (const s of byId.filter(departed)) {
    const last = lastRecorded(s);
    const gap = recorded.find((t) => t <= last && !s.records.has(t));
    if (gap !== undefined) throw new DboError(`${s.dir}: agent ${s.meta.agent} recorded iteration ${last} but not ${gap} (a damaged shard)`);
  }
  if (byId.every(departed)) throw new DboError(`every agent stopped early (${byId.map((s) => `agent ${s.meta.agent} after iteration ${Math.max(0, lastRecorded(s))}`).join(', ')}): no survivor's shard reaches the end of the run`);
  return byId;
}

export class ShardRuntime implements ViewChangingRuntime {
  readonly name = 'gathered shards';
  readonly m: number;
  private readonly shards: Shard[];
  private iteration = 0;
  /** Agents in the last snapshot (ascending). */
  private ids: number[];
  /** Every agent's counters at the last evaluation it recorded (a departed agent's stay in the totals). */
  private readonly lastCounters = new Map<number, { comm: CommCounters; oracle: OracleCounts }>();
  /** Shard events not yet drained, and departed agents whose 'agent-exited' is not yet out. */
  private pending: RunEvent[];
  private readonly exits: Map<number, RunEvent>;

  /** `shards` checked by checkShards (one per agent id, ascending). */
  constructor(shards: ReadonlyArray<Shard>) {
    this.shards = [...shards];
    this.m = shards.length;
    this.ids = this.shards.map((s) => s.meta.agent);
    this.pending = this.shards.flatMap((s) =>
      s.events.map((e) => {
        const { time, ...rest } = e;
        // The coordinator's rows have no `time`.
        const row = VIEW_EVENT_KINDS.has(String(e.event)) ? rest : e;
        return { ...row, iteration: typeof e.iteration === 'number' ? e.iteration : 0 } as RunEvent;
      }),
    );
    // A departed agent leaves after its last recorded iteration; its exit is dated as the coordinator dates it: the injected crash's iteration, else the last iteration its shard knows of.
    const crashAt = new Map<number, number>();
    for (const f of shards[0]?.config.faults ?? []) if (isCrash(f)) crashAt.set(f.agent, f.crash.atIteration);
    this.exits = new Map(
      this.shards.filter(departed).map((s) => {
        const id = s.meta.agent;
        const known = Math.max(0, lastRecorded(s), s.meta.iterations, ...s.events.map((e) => (typeof e.iteration === 'number' ? e.iteration : 0)));
        const how = s.meta.status === 'failed' ? `failed: ${s.meta.message ?? 'no message'}` : crashAt.has(id) ? 'killed by SIGKILL' : 'ended without closing its shard (killed)';
        return [id, { event: 'agent-exited', iteration: crashAt.get(id) ?? known, agent: id, how }];
      }),
    );
  }

  private at(s: Shard, t: number) {
    const r = s.records.get(t);
    if (r) return r;
    throw new DboError(`${s.dir}: agent ${s.meta.agent} recorded nothing at iteration ${t}`);
  }

  /** The shards with a record at the current iteration: every completed one, and departed ones up to their last record. */
  private present(): Shard[] {
    const out = this.shards.filter((s) => !departed(s) || s.records.has(this.iteration));
    if (out.length === 0) throw new DboError(`no agent recorded iteration ${this.iteration}`);
    return out;
  }

  survivors(): ReadonlyArray<number> {
    return this.ids;
  }

  drainEvents(): RunEvent[] {
    const out: RunEvent[] = [];
    const rest: RunEvent[] = [];
    for (const e of this.pending) (e.iteration <= this.iteration ? out : rest).push(e);
    this.pending = rest;
    return sortEvents(out);
  }

  /** Events after the iteration the replay stopped at (a diverged run), in order. */
  remainingEvents(): RunEvent[] {
    return sortEvents(this.pending.splice(0));
  }

  async advance(to: number): Promise<AdvanceResult> {
    // The first iteration in (current, to] after which an iterate was non-finite, named by the lowest agent id (as the simulator names it).
    let first: { iteration: number; message: string } | null = null;
    for (const s of this.shards) {
      const nf = s.meta.nonFinite;
      if (nf && nf.iteration > this.iteration && nf.iteration <= to && (!first || nf.iteration < first.iteration)) first = nf;
    }
    const stop = first ? first.iteration : to;
    const nonFinite = first ? first.message : null;
    let computeMs = 0;
    for (const s of this.shards) {
      let ms = 0;
      for (const r of s.records.values()) if (r.iteration > this.iteration && r.iteration <= stop) ms += r.computeMs;
      computeMs = Math.max(computeMs, ms);
    }
    this.iteration = stop;
    for (const [id, e] of this.exits)
      if (stop > lastRecorded(this.shards[id]!)) {
        this.pending.push(e);
        this.exits.delete(id);
      }
    return { iteration: stop, nonFinite, computeMs };
  }

  async snapshot(): Promise<ReadonlyArray<StateView>> {
    const present = this.present();
    this.ids = present.map((s) => s.meta.agent);
    return present.map((s) => this.at(s, this.iteration).view);
  }

  async counters(): Promise<RuntimeCounters> {
    for (const s of this.present()) {
      const r = this.at(s, this.iteration);
      this.lastCounters.set(s.meta.agent, { comm: r.comm, oracle: r.oracle });
    }
    const all = [...this.lastCounters.values()];
    const oracle = emptyCounts();
    for (const r of all) addCounts(oracle, r.oracle);
    return { comm: mergeCommCounters(all.map((r) => r.comm)), oracle };
  }

  /** A replay holds recorded iterates, not agent states: `dbo gather` never checkpoints. */
  async checkpoint(): Promise<RuntimeCheckpoint> {
    throw new DboError('gathered shards hold recorded iterates, not agent states: they cannot be checkpointed');
  }

  async restore(): Promise<void> {
    throw new DboError('gathered shards hold recorded iterates, not agent states: they cannot be restored from a checkpoint');
  }

  async close(): Promise<void> {}
}
