/**
 * checkpoint.json: what `dbo resume DIR` needs to continue a run that was
 * stopped (Ctrl-C, SIGTERM) or killed. It holds the runner's checkpoint
 * (every agent's serialized state and oracle counts, communication totals,
 * the evaluator's warm starts, the divergence monitor's start values, time
 * spent, rows written; see RunCheckpoint in runner.ts), how the run was
 * launched (transport, threads, pre-shared key file), and the SHA-256 of the
 * run's config.resolved.json, so that a checkpoint is never continued under
 * another config. It is replaced atomically (temporary file, fsync, rename),
 * so a run killed at any instant leaves either the previous checkpoint or the
 * new one, never half of one.
 */
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { DataError, onPath } from '../errors.ts';
import type { RunCheckpoint } from './runner.ts';

export const CHECKPOINT_FILE = 'checkpoint.json';
const FORMAT = 'dbo-checkpoint';
const VERSION = 1;

/** How a run was started, so that `dbo resume` starts it the same way (each can be overridden there). */
export interface LaunchInfo {
  readonly transport: 'simulator' | 'libp2p';
  /** `--threads` when given (worker threads; absent: the resuming machine's default). */
  readonly threads?: number;
  /** `--psk` as an absolute path (the key itself is never copied into the run directory). */
  readonly psk?: string;
}

export interface CheckpointFile {
  readonly format: typeof FORMAT;
  readonly version: typeof VERSION;
  /** SHA-256 (hex) of config.resolved.json's bytes. */
  readonly configHash: string;
  readonly launch: LaunchInfo;
  /** `--checkpoint-every` of the run (absent: checkpoints only when stopped on request). */
  readonly checkpointEvery?: number;
  /** When the run was first started (summary.json's `started`). */
  readonly started: string;
  readonly written: string;
  readonly run: RunCheckpoint;
}

/** SHA-256 (hex) of a file's bytes. */
export function fileHash(path: string): string {
  return createHash('sha256')
    .update(onPath(path, () => readFileSync(path)))
    .digest('hex');
}

/** Writes `text` to `path` atomically: a temporary sibling, fsync, rename over `path`, fsync of the folder. */
export function writeFileAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp`;
  onPath(tmp, () => {
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  });
  onPath(path, () => renameSync(tmp, path));
  const folder = path.slice(0, Math.max(path.lastIndexOf('/'), 0)) || '.';
  try {
    const fd = openSync(folder, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some file systems cannot fsync a folder; the rename is still atomic.
  }
}

/** JSON has no NaN or ±Infinity; checkpoints carry them as tagged values (src/algorithms/state.ts) or not at all. */
export function checkpointJson(file: CheckpointFile): string {
  return `${JSON.stringify(file)}\n`;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/** Reads and checks checkpoint.json (`path`); errors name the file and what is wrong. */
export function readCheckpointFile(path: string): CheckpointFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new DataError(path, 'cannot be read');
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new DataError(path, `is not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
  const f = raw as Partial<CheckpointFile> | null;
  if (typeof f !== 'object' || f === null || f.format !== FORMAT) throw new DataError(path, `is not a dbo checkpoint (expected "format": "${FORMAT}")`);
  if (f.version !== VERSION) throw new DataError(path, `checkpoint version ${String(f.version)} is not supported (expected ${VERSION})`);
  const run = f.run as Partial<RunCheckpoint> | undefined;
  const agents = run?.runtime?.agents;
  if (
    typeof f.configHash !== 'string' ||
    typeof f.launch !== 'object' ||
    f.launch === null ||
    !run ||
    !isCount(run.iteration) ||
    !isCount(run.rows) ||
    run.rows < 1 ||
    !isCount(run.traceRows) ||
    !Array.isArray(agents) ||
    agents.some((a, k) => a?.id !== k) ||
    run.runtime?.iteration !== run.iteration
  )
    throw new DataError(path, 'is incomplete or damaged (expected configHash, launch, and run with iteration, rows and every agent in order)');
  return f as CheckpointFile;
}
