/**
 * Reading results back: a run directory (config.resolved.json, metrics.jsonl,
 * topology.json, summary.json), a sweep directory (sweep.json naming its
 * cases' run directories) or any directory whose subdirectories are runs
 * (`dbo demo`, reproductions). Used by `dbo plot`, `dbo report` and the live view.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DataError } from '../errors.ts';

/** One row of metrics.jsonl as read back: numbers, or strings for non-finite values ("NaN", "Infinity"). */
export type StoredRow = Record<string, unknown>;

export interface RunData {
  /** The run directory as given. */
  readonly dir: string;
  readonly config: Record<string, unknown>;
  readonly rows: StoredRow[];
  readonly summary: Record<string, unknown> | null;
  readonly topology: StoredTopology | null;
  /** Values that define this run inside a sweep (key path → value), when it belongs to one. */
  readonly values?: Record<string, unknown>;
}

export interface StoredTopology {
  agents: number;
  edges: [number, number][];
  weights?: number[][];
  lambda: number;
  rho: number;
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new DataError(file, `cannot read JSON: ${(e as Error).message.split('\n')[0]}`);
  }
}

/** Parses a JSONL file; a torn last line (a run still being written) is ignored. */
export function readJsonl(file: string): StoredRow[] {
  const text = readFileSync(file, 'utf8');
  const lines = text.split('\n');
  const rows: StoredRow[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    try {
      rows.push(JSON.parse(line) as StoredRow);
    } catch {
      if (i >= lines.length - 2) break;
      throw new DataError(file, `line ${i + 1} is not valid JSON`);
    }
  }
  return rows;
}

/** Whether `dir` looks like a run directory (finished, or `.partial` while running). */
export function isRunDir(dir: string): boolean {
  return existsSync(join(dir, 'metrics.jsonl')) && existsSync(join(dir, 'config.resolved.json'));
}

export function isSweepDir(dir: string): boolean {
  return existsSync(join(dir, 'sweep.json'));
}

/** Reads one run directory; one clear error when it is not one. */
export function readRun(dir: string, values?: Record<string, unknown>): RunData {
  if (!existsSync(dir)) throw new DataError(dir, 'no such directory');
  if (!statSync(dir).isDirectory()) throw new DataError(dir, 'not a directory (expected a run directory holding metrics.jsonl)');
  if (!isRunDir(dir)) throw new DataError(dir, 'not a run directory (expected metrics.jsonl and config.resolved.json, as written by dbo run)');
  const summaryFile = join(dir, 'summary.json');
  const topologyFile = join(dir, 'topology.json');
  return {
    dir,
    config: readJson(join(dir, 'config.resolved.json')) as Record<string, unknown>,
    rows: readJsonl(join(dir, 'metrics.jsonl')),
    summary: existsSync(summaryFile) ? (readJson(summaryFile) as Record<string, unknown>) : null,
    topology: existsSync(topologyFile) ? (readJson(topologyFile) as StoredTopology) : null,
    ...(values ? { values } : {}),
  };
}

/** The index of a sweep directory (see src/experiments/sweep.ts). */
export interface SweepIndexFile {
  name?: string;
  vary?: string[];
  cases: { id: string; dir: string; values: Record<string, unknown>; status: string; message?: string }[];
}

export function readSweepIndex(dir: string): SweepIndexFile {
  const index = readJson(join(dir, 'sweep.json')) as SweepIndexFile;
  if (!index || !Array.isArray(index.cases)) throw new DataError(join(dir, 'sweep.json'), 'expected {cases: [...]} as written by dbo sweep');
  return index;
}

/** What a directory given to plot/report turned out to be. */
export interface Collected {
  readonly kind: 'run' | 'sweep' | 'collection';
  readonly dir: string;
  readonly runs: RunData[];
  readonly sweep?: SweepIndexFile;
  /** Cases listed in a sweep index whose run directories are not complete yet. */
  readonly missing: string[];
}

/**
 * A run directory, a sweep directory (its completed cases, with their
 * defining values), or a directory whose subdirectories are run directories.
 */
export function collectRuns(dir: string): Collected {
  if (!existsSync(dir)) throw new DataError(dir, 'no such directory');
  if (!statSync(dir).isDirectory()) throw new DataError(dir, 'not a directory (expected a run or sweep directory)');
  if (isRunDir(dir)) return { kind: 'run', dir, runs: [readRun(dir)], missing: [] };
  if (isSweepDir(dir)) {
    const sweep = readSweepIndex(dir);
    const runs: RunData[] = [];
    const missing: string[] = [];
    for (const c of sweep.cases) {
      const runDir = resolve(dir, c.dir);
      if ((c.status === 'completed' || c.status === 'diverged') && isRunDir(runDir)) runs.push(readRun(runDir, c.values));
      else missing.push(c.id);
    }
    if (runs.length === 0) throw new DataError(dir, 'the sweep has no completed case yet (run dbo sweep first)');
    return { kind: 'sweep', dir, runs, sweep, missing };
  }
  const subdirs = readdirSync(dir)
    .sort()
    .map((name) => join(dir, name))
    .filter((p) => statSync(p).isDirectory() && !p.endsWith('.partial') && isRunDir(p));
  if (subdirs.length === 0) throw new DataError(dir, 'not a run directory (no metrics.jsonl and config.resolved.json), a sweep (no sweep.json), nor a directory of runs');
  return { kind: 'collection', dir, runs: subdirs.map((d) => readRun(d)), missing: [] };
}
