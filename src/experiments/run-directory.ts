/**
 * A run directory: config.resolved.json, topology.json, metrics.jsonl,
 * optional trace.jsonl and summary.json. Files are written into
 * `<dir>.partial/` and the directory is renamed into place only when the run
 * ends (completed or diverged), so a crashed or rejected run never leaves a
 * directory that looks complete.
 */
import { closeSync, existsSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { DboError } from '../errors.ts';

export class RunDirectory {
  readonly partial: string;
  private readonly files = new Map<string, number>();
  private closed = false;

  private constructor(readonly dir: string) {
    this.partial = `${dir}.partial`;
  }

  /** Creates `<dir>.partial/`. Refuses to overwrite an existing run unless `force`. */
  static create(dir: string, force: boolean): RunDirectory {
    if (existsSync(dir)) {
      if (!force) throw new DboError(`${dir}: output directory already exists (choose another --out or pass --force to replace it)`);
    }
    const rd = new RunDirectory(dir);
    rmSync(rd.partial, { recursive: true, force: true });
    mkdirSync(dirname(dir), { recursive: true });
    mkdirSync(rd.partial);
    return rd;
  }

  writeJson(name: string, value: unknown): void {
    writeFileSync(`${this.partial}/${name}`, `${JSON.stringify(value, null, 2)}\n`);
  }

  /** Appends one JSON line to `name` (opened on first use). */
  appendLine(name: string, value: unknown): void {
    let fd = this.files.get(name);
    if (fd === undefined) {
      fd = openSync(`${this.partial}/${name}`, 'w');
      this.files.set(name, fd);
    }
    writeSync(fd, `${JSON.stringify(value)}\n`);
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
