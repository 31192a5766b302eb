/**
 * Replays the shards of a multi-host run (src/runtime/shard.ts) as a Runtime,
 * so that `dbo gather` computes the global metrics offline through the very
 * runner loop, evaluator and divergence checks of `dbo run`: `advance` moves
 * to the next recorded iteration (or the first non-finite one), `snapshot`
 * and `counters` return what the agents recorded there. The rows are the
 * ones a run on the simulator gives for the same config, measured columns
 * (elapsedMs, wireBytes) aside.
 */
import type { StateView } from '../algorithms/types.ts';
import { DboError } from '../errors.ts';
import type { RunConfig } from '../experiments/config.ts';
import { addCounts, emptyCounts } from '../problems/counting.ts';
import type { Shard } from './shard.ts';
import { mergeCommCounters, type AdvanceResult, type Runtime, type RuntimeCheckpoint, type RuntimeCounters } from './types.ts';

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
  return byId;
}

export class ShardRuntime implements Runtime {
  readonly name = 'gathered shards';
  readonly m: number;
  private readonly shards: Shard[];
  private iteration = 0;

  /** `shards` checked by checkShards (one per agent id, ascending). */
  constructor(shards: ReadonlyArray<Shard>) {
    this.shards = [...shards];
    this.m = shards.length;
  }

  private at(s: Shard, t: number) {
    const r = s.records.get(t);
    if (r) return r;
    const ended = s.meta.status === 'failed' ? ` (the agent failed after ${s.meta.iterations} iterations: ${s.meta.message ?? 'no message'})` : '';
    throw new DboError(`${s.dir}: agent ${s.meta.agent} recorded nothing at iteration ${t}${ended}`);
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
    return { iteration: stop, nonFinite, computeMs };
  }

  async snapshot(): Promise<ReadonlyArray<StateView>> {
    return this.shards.map((s) => this.at(s, this.iteration).view);
  }

  async counters(): Promise<RuntimeCounters> {
    const records = this.shards.map((s) => this.at(s, this.iteration));
    const oracle = emptyCounts();
    for (const r of records) addCounts(oracle, r.oracle);
    return { comm: mergeCommCounters(records.map((r) => r.comm)), oracle };
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
