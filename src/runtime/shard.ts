/**
 * An agent's shard: what one standalone agent (`dbo agent`) writes about its
 * own part of a run, for `dbo gather` to merge into a standard run directory.
 *
 * A shard is a folder `agent-<id>/` (inside the agent's --out folder):
 *   shard.json            format, agent id, agents m, peer id, host, status
 *                         ('running' while the agent runs, then 'completed'
 *                         or 'failed' with a message), start and end
 *   config.resolved.json  the config the agent ran
 *   iterates.jsonl        one line per recorded iteration (0, every evaluation
 *                         point, the last iteration; every iteration when the
 *                         config traces): the agent's iterates (x, y, z, x̃ as
 *                         base64 of little-endian float64, so they round-trip
 *                         bit for bit, NaN and −0 included), its communication
 *                         and oracle counters, and the compute time since the
 *                         previous line
 *   events.jsonl          what happened to the agent, one JSON object a line
 *                         with `time`, `agent`, `event` and `iteration` (the
 *                         agent's iteration then): started, connected, log
 *                         lines (refused peers, rejected frames), goodbye,
 *                         finished, failed; and the view-change rows of a
 *                         run's events.jsonl as the agent saw them (weights,
 *                         neighbour-gone, reset, fault; src/runtime/view-events.ts,
 *                         docs/faults.md), same fields plus `time`
 *
 * It is written into `agent-<id>.partial/` and renamed into place when the
 * agent ends (completed or failed), so a folder `agent-<id>/` is always whole.
 * An agent killed outright (SIGKILL, a crashed host) leaves
 * `agent-<id>.partial/` behind, its shard.json still saying 'running': every
 * line is written synchronously, so it holds what the agent recorded before
 * it died, and `dbo gather` uses it as a departed agent's shard.
 */
import { closeSync, existsSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { DboError, onPath } from '../errors.ts';
import type { RunConfig } from '../experiments/config.ts';
import type { StateView } from '../metrics/state-view.ts';
import { ORACLE_KINDS, type OracleCounts } from '../problems/counting.ts';
import type { CommCounters } from './types.ts';
import type { RunEvent } from './view-events.ts';

export const SHARD_FORMAT = 'dbo-agent-shard';

/** Event kinds an agent writes as rows of a run's events.jsonl (src/runtime/view-events.ts); the others are its lifecycle lines. */
export const VIEW_EVENT_KINDS: ReadonlySet<string> = new Set(['weights', 'neighbour-gone', 'reset', 'fault']);

export interface ShardMeta {
  readonly format: typeof SHARD_FORMAT;
  readonly agent: number;
  readonly m: number;
  readonly peerId: string;
  readonly host: string;
  readonly started: string;
  readonly finished?: string;
  /** 'running' in a shard whose agent never closed it (killed outright, or still running). */
  readonly status: 'running' | 'completed' | 'failed';
  readonly message?: string;
  /** Iterations the agent completed. */
  readonly iterations: number;
  /** The first iteration after which the agent's iterate was non-finite. */
  readonly nonFinite: { iteration: number; message: string } | null;
}

/** One line of iterates.jsonl, decoded. */
export interface ShardRecord {
  readonly iteration: number;
  /** Compute time of the agent's steps since the previous record (ms). */
  readonly computeMs: number;
  readonly view: StateView;
  readonly comm: CommCounters;
  readonly oracle: OracleCounts;
}

export interface Shard {
  readonly dir: string;
  /** Its shard.json still says 'running' (an `agent-<id>.partial/` folder): its agent never closed it (killed outright, or still running). */
  readonly partial: boolean;
  readonly meta: ShardMeta;
  readonly config: RunConfig;
  readonly records: ReadonlyMap<number, ShardRecord>;
  /** Events as written (JSON objects, one per line). */
  readonly events: ReadonlyArray<Record<string, unknown>>;
}

const encode = (v: Float64Array): string => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');

function decode(text: unknown, where: string): Float64Array {
  if (typeof text !== 'string') throw new DboError(`${where}: expected base64 float64 data`);
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length % 8 !== 0) throw new DboError(`${where}: ${bytes.length} bytes is not a whole number of float64 values`);
  const out = new Float64Array(bytes.length / 8);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

/** Iterations at which `dbo run` reads the agents' iterates: 0, every evalEvery, the last (every one when tracing). */
export function recordedIterations(config: RunConfig): number[] {
  const out = [0];
  for (let t = 1; t <= config.iterations; t++) if (config.output.trace || t % config.evalEvery === 0 || t === config.iterations) out.push(t);
  return out;
}

export const shardFolderName = (agent: number): string => `agent-${agent}`;

/** Writes one agent's shard (see the module comment). */
export class ShardWriter {
  readonly dir: string;
  readonly partial: string;
  private readonly fds = new Map<string, number>();
  private closed = false;
  /** The last recorded iteration: the default `iteration` of events. */
  private current = 0;

  private constructor(
    outDir: string,
    private readonly meta: Omit<ShardMeta, 'status' | 'finished' | 'iterations' | 'nonFinite'>,
  ) {
    this.dir = join(outDir, shardFolderName(meta.agent));
    this.partial = `${this.dir}.partial`;
  }

  /** Reserves `<outDir>/agent-<id>.partial/`; refuses when the shard (or a shard in progress) exists. */
  static create(outDir: string, agent: number, m: number, peerId: string, config: RunConfig): ShardWriter {
    const w = new ShardWriter(outDir, { format: SHARD_FORMAT, agent, m, peerId, host: hostname(), started: new Date().toISOString() });
    if (existsSync(outDir) && !lstatSync(outDir).isDirectory()) throw new DboError(`${outDir}: is not a folder (--out names the folder that receives agent-${agent}/)`);
    if (existsSync(w.dir)) throw new DboError(`${w.dir}: already exists; a shard is never overwritten (choose another --out)`);
    onPath(outDir, () => mkdirSync(outDir, { recursive: true }));
    try {
      mkdirSync(w.partial);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new DboError(`${w.partial}: exists (another agent ${agent} writing here, or a leftover of one; move it away or choose another --out)`);
      throw onPath(w.partial, () => e);
    }
    writeFileSync(join(w.partial, 'config.resolved.json'), `${JSON.stringify(config, null, 2)}\n`);
    const running: ShardMeta = { ...w.meta, status: 'running', iterations: 0, nonFinite: null };
    writeFileSync(join(w.partial, 'shard.json'), `${JSON.stringify(running, null, 2)}\n`);
    return w;
  }

  /**
   * Reopens the shard of agent `agent` in `outDir` to continue it (`dbo agent
   * --resume`): `agent-<id>.partial/` of a killed agent, or `agent-<id>/` of one
   * that failed (moved back to `.partial/`). A completed shard, a missing one,
   * or one of another config is refused.
   */
  static reopen(outDir: string, agent: number, m: number, peerId: string, config: RunConfig): ShardWriter {
    const dir = join(outDir, shardFolderName(agent));
    const partial = `${dir}.partial`;
    const closed = existsSync(dir);
    if (closed && existsSync(partial)) throw new DboError(`${dir} and ${partial} both exist: move one away before resuming`);
    if (!closed && !existsSync(partial)) throw new DboError(`${outDir}: holds no shard of agent ${agent} to resume (agent-${agent}/ or agent-${agent}.partial/)`);
    const from = closed ? dir : partial;
    const meta = readJson(join(from, 'shard.json')) as ShardMeta;
    if (meta?.format !== SHARD_FORMAT || meta.agent !== agent || meta.m !== m) throw new DboError(`${join(from, 'shard.json')}: not agent ${agent}'s shard of a run with ${m} agents`);
    if (meta.status === 'completed') throw new DboError(`${dir}: agent ${agent} completed the run; there is nothing to resume`);
    if (meta.peerId !== peerId) throw new DboError(`${join(from, 'shard.json')}: written by peer ${meta.peerId}, not by this key's ${peerId}`);
    if (JSON.stringify(readJson(join(from, 'config.resolved.json'))) !== JSON.stringify(config)) throw new DboError(`${join(from, 'config.resolved.json')}: differs from the config given (resume with the config the agent started with)`);
    // A shard closed as failed (SIGTERM) is continued in place of a partial one.
    if (closed) onPath(partial, () => renameSync(dir, partial));
    const w = new ShardWriter(outDir, { format: SHARD_FORMAT, agent, m, peerId, host: hostname(), started: meta.started });
    const running: ShardMeta = { ...w.meta, status: 'running', iterations: 0, nonFinite: null };
    writeFileSync(join(partial, 'shard.json'), `${JSON.stringify(running, null, 2)}\n`);
    return w;
  }

  /**
   * Drops what was recorded after iteration `last` — iterates, and view-change
   * rows (a resumed agent records them again); lifecycle lines stay, as the
   * history of the interrupted attempt.
   */
  truncateAfter(last: number): void {
    const keep: Record<string, (line: Record<string, unknown>) => boolean> = {
      'iterates.jsonl': (line) => typeof line.iteration === 'number' && line.iteration <= last,
      'events.jsonl': (line) => !VIEW_EVENT_KINDS.has(String(line.event)) || (typeof line.iteration === 'number' && line.iteration <= last),
    };
    for (const [name, ok] of Object.entries(keep)) {
      const path = join(this.partial, name);
      const fd = this.fds.get(name);
      if (fd !== undefined) {
        closeSync(fd);
        this.fds.delete(name);
      }
      if (!existsSync(path)) continue;
      const tmp = `${path}.tmp`;
      writeFileSync(tmp, readLines(path, true).filter(ok).map((line) => `${JSON.stringify(line)}\n`).join(''));
      renameSync(tmp, path);
    }
    this.current = Math.max(0, last);
  }

  private append(name: string, value: unknown): void {
    if (this.closed) return;
    const path = join(this.partial, name);
    let fd = this.fds.get(name);
    if (fd === undefined) {
      fd = onPath(path, () => openSync(path, 'a'));
      this.fds.set(name, fd);
    }
    const text = `${JSON.stringify(value)}\n`;
    onPath(path, () => writeSync(fd, text));
  }

  record(r: ShardRecord): void {
    const v = r.view;
    this.current = r.iteration;
    this.append('iterates.jsonl', {
      iteration: r.iteration,
      computeMs: r.computeMs,
      x: encode(Float64Array.from(v.x)),
      y: encode(Float64Array.from(v.y)),
      ...(v.z ? { z: encode(Float64Array.from(v.z)) } : {}),
      ...(v.xTilde ? { xTilde: encode(Float64Array.from(v.xTilde)) } : {}),
      comm: r.comm,
      oracle: r.oracle,
    });
  }

  /** A lifecycle event (`iteration`: the last recorded one unless `extra` says). */
  event(event: string, message?: string, extra: Record<string, unknown> = {}): void {
    this.append('events.jsonl', { time: new Date().toISOString(), agent: this.meta.agent, event, iteration: this.current, ...(message !== undefined ? { message } : {}), ...extra });
  }

  /** A view-change row (weights, neighbour-gone, reset, fault), as the coordinator's events.jsonl has it, plus `time`. */
  viewEvent(e: RunEvent): void {
    this.append('events.jsonl', { time: new Date().toISOString(), ...e });
  }

  /** Writes shard.json and moves the shard into place. */
  finish(status: ShardMeta['status'], iterations: number, nonFinite: ShardMeta['nonFinite'], message?: string): string {
    if (this.closed) return this.dir;
    const meta: ShardMeta = { ...this.meta, finished: new Date().toISOString(), status, ...(message !== undefined ? { message } : {}), iterations, nonFinite };
    this.event(status === 'completed' ? 'finished' : 'failed', message, { iteration: iterations, iterations });
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
    this.closed = true;
    const tmp = join(this.partial, 'shard.json.tmp');
    writeFileSync(tmp, `${JSON.stringify(meta, null, 2)}\n`);
    renameSync(tmp, join(this.partial, 'shard.json'));
    onPath(this.dir, () => renameSync(this.partial, this.dir));
    return this.dir;
  }
}

function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new DboError(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new DboError(`${path}: not valid JSON`);
  }
}

/** JSON lines; `partial`: a last line cut short (its writer was killed) is left out. */
function readLines(path: string, partial = false): Array<Record<string, unknown>> {
  if (!existsSync(path)) return [];
  const out: Array<Record<string, unknown>> = [];
  const lines = readFileSync(path, 'utf8').split('\n');
  lines.forEach((line, k) => {
    if (line.trim() === '') return;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      if (partial && k === lines.length - 1) return;
      throw new DboError(`${path}: line ${k + 1} is not valid JSON`);
    }
  });
  return out;
}

function counts(value: unknown, where: string): OracleCounts {
  const o = value as OracleCounts;
  for (const part of ['calls', 'samples'] as const)
    for (const k of ORACLE_KINDS) if (typeof o?.[part]?.[k] !== 'number') throw new DboError(`${where}.${part}.${k}: expected a number`);
  return o;
}

function comm(value: unknown, where: string): CommCounters {
  const c = value as CommCounters;
  for (const k of ['rounds', 'messages', 'floats', 'bytes', 'wireBytes'] as const) if (typeof c?.[k] !== 'number') throw new DboError(`${where}.${k}: expected a number`);
  return c;
}

/** Reads one shard folder (one holding shard.json; `agent-<id>.partial/` for an agent that never closed it). */
export function readShard(dir: string): Shard {
  const meta = readJson(join(dir, 'shard.json')) as ShardMeta;
  if (meta?.format !== SHARD_FORMAT || !Number.isInteger(meta.agent) || !Number.isInteger(meta.m)) throw new DboError(`${join(dir, 'shard.json')}: not a dbo agent shard (written by dbo agent)`);
  const partial = meta.status === 'running';
  const config = readJson(join(dir, 'config.resolved.json')) as RunConfig;
  const records = new Map<number, ShardRecord>();
  const file = join(dir, 'iterates.jsonl');
  readLines(file, partial).forEach((line, k) => {
    const where = `${file}: line ${k + 1}`;
    const iteration = line.iteration;
    if (!Number.isInteger(iteration)) throw new DboError(`${where}: iteration is not an integer`);
    const view: StateView = {
      x: decode(line.x, `${where}.x`),
      y: decode(line.y, `${where}.y`),
      ...(line.z !== undefined ? { z: decode(line.z, `${where}.z`) } : {}),
      ...(line.xTilde !== undefined ? { xTilde: decode(line.xTilde, `${where}.xTilde`) } : {}),
    };
    records.set(iteration as number, { iteration: iteration as number, computeMs: Number(line.computeMs) || 0, view, comm: comm(line.comm, `${where}.comm`), oracle: counts(line.oracle, `${where}.oracle`) });
  });
  return { dir, partial, meta, config, records, events: readLines(join(dir, 'events.jsonl'), partial) };
}

/**
 * The shards under the given folders: each folder is a shard itself or holds
 * shard folders `agent-<id>/` (the --out folder of one or more `dbo agent`s),
 * or `agent-<id>.partial/` of an agent killed before it closed its shard.
 */
export function findShards(dirs: ReadonlyArray<string>): Shard[] {
  const shards: Shard[] = [];
  for (const dir of dirs) {
    if (!existsSync(dir) || !lstatSync(dir).isDirectory()) throw new DboError(`${dir}: not a folder (expected the --out folder of dbo agent, or a shard agent-<id>/ in it)`);
    if (existsSync(join(dir, 'shard.json'))) {
      shards.push(readShard(dir));
      continue;
    }
    const inside = readdirSync(dir)
      .filter((name) => /^agent-\d+(\.partial)?$/.test(name) && existsSync(join(dir, name, 'shard.json')))
      .sort((a, b) => parseInt(a.slice(6), 10) - parseInt(b.slice(6), 10));
    if (inside.length === 0) throw new DboError(`${dir}: holds no agent shard (agent-<id>/shard.json, written by dbo agent)`);
    for (const name of inside) shards.push(readShard(join(dir, name)));
  }
  return shards;
}
