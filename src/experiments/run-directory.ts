/**
 * A run directory: config.resolved.json, topology.json, metrics.jsonl,
 * optional trace.jsonl and summary.json. Files are written into
 * `<dir>.partial/` and the directory is renamed into place only when the run
 * ends (completed or diverged), so a crashed or rejected run never leaves a
 * directory that looks complete.
 */
import { closeSync, existsSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, normalize } from 'node:path';
import { DboError } from '../errors.ts';

/** JSON has no NaN or ±Infinity: write them as the strings "NaN", "Infinity", "-Infinity" rather than null. */
function keepNonFinite(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? String(value) : value;
}

export class RunDirectory {
  readonly partial: string;
  private readonly files = new Map<string, number>();
  private closed = false;

  readonly dir: string;

  private constructor(dir: string) {
    // "runs/a/" and "runs/a" name the same directory; the partial sibling is "runs/a.partial".
    this.dir = normalize(dir).replace(/[\\/]+$/, '') || '.';
    this.partial = `${this.dir}.partial`;
  }

  /** Creates `<dir>.partial/`. Refuses to overwrite an existing run unless `force`. */
  static create(dir: string, force: boolean): RunDirectory {
    const rd = new RunDirectory(dir);
    if (existsSync(rd.dir) && !force) throw new DboError(`${rd.dir}: output directory already exists (choose another --out or pass --force to replace it)`);
    rmSync(rd.partial, { recursive: true, force: true });
    mkdirSync(dirname(rd.dir), { recursive: true });
    mkdirSync(rd.partial);
    return rd;
  }

  writeJson(name: string, value: unknown): void {
    writeFileSync(`${this.partial}/${name}`, `${JSON.stringify(value, keepNonFinite, 2)}\n`);
  }

  /** Appends one JSON line to `name` (opened on first use). */
  appendLine(name: string, value: unknown): void {
    let fd = this.files.get(name);
    if (fd === undefined) {
      fd = openSync(`${this.partial}/${name}`, 'w');
      this.files.set(name, fd);
    }
    writeSync(fd, `${JSON.stringify(value, keepNonFinite)}\n`);
  }

  private closeFiles(): void {
    for (const fd of this.files.values()) closeSync(fd);
    this.files.clear();
  }

  /** Moves the finished run into place. */
  finish(force: boolean): void {
    if (this.closed) return;
    this.closeFiles();
    if (force) rmSync(this.dir, { recursive: true, force: true });
    renameSync(this.partial, this.dir);
    this.closed = true;
  }

  /** Removes everything written (for runs that failed before producing anything meaningful). */
  discard(): void {
    if (this.closed) return;
    this.closeFiles();
    rmSync(this.partial, { recursive: true, force: true });
    this.closed = true;
  }
}
