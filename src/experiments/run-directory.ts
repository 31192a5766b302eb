/**
 * A run directory: config.resolved.json, topology.json, metrics.jsonl,
 * optional trace.jsonl and summary.json, plus dbo's marker file `.dbo-run`.
 * Files are written into `<dir>.partial/` and the directory is renamed into
 * place only when the run ends (completed or diverged) or stops on request
 * (interrupted, with checkpoint.json: see `dbo resume`), so a crashed or
 * rejected run never leaves a directory that looks complete.
 *
 * Never lose a user's files: `force` replaces only a directory that holds the
 * marker (a previous dbo run); a folder without it, a regular file, a link,
 * the current directory or one of its parents are refused and nothing is
 * deleted. A leftover `<dir>.partial/` is removed only when its marker says it
 * belongs to a dbo process that no longer runs and holds no checkpoint.json
 * (a run killed after a checkpoint is resumed with `dbo resume`, see
 * `reopen`, or discarded with `force`).
 */
import { closeSync, lstatSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, isAbsolute, normalize, relative, resolve, sep } from 'node:path';
import { DboError, EnvironmentError, onPath } from '../errors.ts';
import { writeFileAtomic } from './checkpoint.ts';

/** The marker file that makes a directory a dbo run directory. */
export const RUN_MARKER = '.dbo-run';
const MARKER_FORMAT = 'dbo-run-directory';

/** JSON has no NaN or ±Infinity: write them as the strings "NaN", "Infinity", "-Infinity" rather than null. */
function keepNonFinite(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? String(value) : value;
}

interface Marker {
  format: string;
  pid?: number;
  host?: string;
}

function readMarker(dir: string): Marker | null {
  try {
    const m = JSON.parse(readFileSync(`${dir}/${RUN_MARKER}`, 'utf8')) as Marker;
    return m && m.format === MARKER_FORMAT ? m : null;
  } catch {
    return null;
  }
}

/** `dir` normalized, without trailing separators ("runs/a/" is "runs/a"; "/" stays "/"). */
function cleanPath(dir: string): string {
  const n = normalize(dir);
  return n.replace(/(?<=[^\\/])[\\/]+$/, '');
}

/** What a path is, without following links. */
function kindOf(path: string): 'missing' | 'directory' | 'file' | 'link' | 'other' {
  try {
    const s = lstatSync(path);
    if (s.isSymbolicLink()) return 'link';
    if (s.isDirectory()) return 'directory';
    if (s.isFile()) return 'file';
    return 'other';
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'missing';
    throw onPath(path, () => e);
  }
}

/**
 * Creates folder `path` and its parents. When a file stands where a folder
 * should be, the error names that file rather than the folder to create.
 */
function ensureFolder(path: string): void {
  try {
    mkdirSync(path, { recursive: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') {
      for (let p = path; ; p = dirname(p)) {
        let isFolder = true;
        try {
          isFolder = statSync(p).isDirectory();
        } catch {}
        if (!isFolder) throw new EnvironmentError(p, 'ENOTDIR', `${p}: is a file, not a folder, so ${path} cannot be created (ENOTDIR)`);
        if (dirname(p) === p) break;
      }
    }
    throw onPath(path, () => e);
  }
}

/** True when `path` is a dbo run directory: a real directory holding dbo's marker file. */
export function isRunDirectory(path: string): boolean {
  return kindOf(path) === 'directory' && readMarker(path) !== null;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The file a stopped or killed run keeps to be resumed (see checkpoint.ts). */
const CHECKPOINT = 'checkpoint.json';

function holdsCheckpoint(dir: string): boolean {
  return kindOf(`${dir}/${CHECKPOINT}`) === 'file';
}

/** A `.partial` directory left by a dbo process (on this host) that has ended. */
function isStalePartial(path: string): boolean {
  if (kindOf(path) !== 'directory') return false;
  const m = readMarker(path);
  if (!m) return false;
  if (m.host !== undefined && m.host !== hostname()) return false;
  return m.pid === undefined || (m.pid !== process.pid && !processAlive(m.pid));
}

/** Refuses the current directory, any of its parents, and the filesystem root. */
function refuseCwdOrParent(dir: string): void {
  const target = resolve(dir);
  const rel = relative(target, process.cwd());
  const outside = rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel);
  if (!outside || dirname(target) === target)
    throw new DboError(`${dir}: refusing to use the current directory or one of its parents as a run directory (choose a new folder name for --out)`);
}

/**
 * Creates a new plain folder at `base`, or at `base-2`, `base-3`, … when
 * that name is taken, and returns its path: default output names of commands
 * that write several runs (the demo) never collide.
 */
export function createUniqueFolder(base: string): string {
  const clean = cleanPath(base);
  ensureFolder(dirname(clean));
  for (let k = 1; ; k++) {
    const path = k === 1 ? clean : `${clean}-${k}`;
    try {
      mkdirSync(path);
      return path;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || k >= 1000) throw e;
    }
  }
}

/** Checks that `dir` may be replaced under `force`; throws a one-line DboError otherwise. Deletes nothing. */
function checkReplaceable(dir: string): void {
  const kind = kindOf(dir);
  if (kind === 'directory' && readMarker(dir)) return;
  const what = kind === 'directory' ? 'a folder that is not a dbo run directory (it has no .dbo-run marker)' : kind === 'file' ? 'a file, not a dbo run directory' : kind === 'link' ? 'a symbolic link, not a dbo run directory' : 'not a dbo run directory';
  throw new DboError(`${dir}: is ${what}; --force only replaces previous dbo runs, so nothing was deleted (choose another --out)`);
}

export class RunDirectory {
  readonly partial: string;
  private readonly files = new Map<string, number>();
  private closed = false;
  /** Reopened runs append to their files instead of starting them. */
  private appendMode = false;
  /** `reopen` moved a stopped run from `dir` to `<dir>.partial/`. */
  private movedBack = false;

  readonly dir: string;

  private constructor(dir: string) {
    // "runs/a/" and "runs/a" name the same directory; the partial sibling is "runs/a.partial".
    this.dir = cleanPath(dir);
    this.partial = `${this.dir}.partial`;
  }

  /**
   * Creates `<dir>.partial/` with the marker. Without `force` an existing
   * `dir` is refused; with it, only a previous dbo run directory is accepted
   * (replaced when the run finishes).
   */
  static create(dir: string, force: boolean): RunDirectory {
    const rd = new RunDirectory(dir);
    rd.reserve(force);
    return rd;
  }

  /**
   * Creates a run directory at `base`, or at `base-2`, `base-3`, … when that
   * name is taken (by a finished run or by another run in progress), so that
   * default names never collide.
   */
  static createUnique(base: string): RunDirectory {
    for (let k = 1; ; k++) {
      const rd = new RunDirectory(k === 1 ? base : `${base}-${k}`);
      if (kindOf(rd.dir) !== 'missing') continue;
      // A killed run's leftover is reused, unless it holds a checkpoint to resume.
      if (kindOf(rd.partial) !== 'missing' && (!isStalePartial(rd.partial) || holdsCheckpoint(rd.partial))) continue;
      try {
        rd.reserve(false);
        return rd;
      } catch (e) {
        if (k < 1000 && e instanceof DboError && /in progress/.test(e.message)) continue;
        throw e;
      }
    }
  }

  /**
   * Throws the error `create(dir, force)` would throw for the state of the
   * file system now, without creating or deleting anything; lets a command
   * that writes several runs check them all before starting the first.
   */
  static check(dir: string, force: boolean): void {
    new RunDirectory(dir).checkTarget(force);
  }

  private checkTarget(force: boolean): void {
    refuseCwdOrParent(this.dir);
    if (kindOf(this.dir) !== 'missing') {
      if (!force) throw new DboError(`${this.dir}: output directory already exists (choose another --out, or pass --force to replace a previous dbo run)`);
      checkReplaceable(this.dir);
    }
    const partialKind = kindOf(this.partial);
    if (!force && isStalePartial(this.partial) && holdsCheckpoint(this.partial))
      throw new DboError(`${this.partial}: holds the checkpoint of a run that was stopped (resume it with: dbo resume ${this.dir}; or pass --force to discard it)`);
    if (partialKind !== 'missing' && !isStalePartial(this.partial)) {
      if (partialKind === 'directory' && readMarker(this.partial)) throw new DboError(`${this.partial}: another dbo run into ${this.dir} is in progress (choose another --out)`);
      throw new DboError(`${this.partial}: exists and is not a leftover of a dbo run, so nothing was deleted (move it away or choose another --out)`);
    }
  }

  private reserve(force: boolean): void {
    this.checkTarget(force);
    // A leftover of a dbo process that has ended (checked above): clear it.
    if (kindOf(this.partial) !== 'missing') rmSync(this.partial, { recursive: true, force: true });
    ensureFolder(dirname(this.dir));
    try {
      mkdirSync(this.partial);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new DboError(`${this.partial}: another dbo run into ${this.dir} is in progress (choose another --out)`);
      throw onPath(this.partial, () => e);
    }
    this.writeRaw(RUN_MARKER, `${JSON.stringify({ format: MARKER_FORMAT, pid: process.pid, host: hostname(), created: new Date().toISOString() })}\n`);
  }

  /**
   * Reopens a run to continue it (`dbo resume`): `dir` (or `dir.partial`)
   * names either a run that was stopped on request (moved back to
   * `<dir>.partial/` until it ends) or the `.partial` folder of a killed run.
   * The caller checks for the checkpoint. Throws one-line DboErrors for
   * anything else: not a dbo run, a run in progress, a run that ended.
   */
  static reopen(dir: string): RunDirectory {
    const clean = cleanPath(dir);
    const rd = new RunDirectory(clean.endsWith('.partial') ? clean.slice(0, -'.partial'.length) : clean);
    rd.appendMode = true;
    const dirKind = kindOf(rd.dir);
    const partialKind = kindOf(rd.partial);
    if (partialKind !== 'missing') {
      if (partialKind !== 'directory' || !readMarker(rd.partial)) throw new DboError(`${rd.partial}: is not a dbo run directory (it has no .dbo-run marker)`);
      if (!isStalePartial(rd.partial)) throw new DboError(`${rd.partial}: the run is still in progress (its process is alive); nothing to resume`);
      if (dirKind !== 'missing') throw new DboError(`${rd.dir}: exists next to ${rd.partial}; move one of them away to resume the other`);
    } else if (dirKind === 'missing') {
      throw new DboError(`${rd.dir}: no such run directory (nor ${rd.partial})`);
    } else {
      if (dirKind !== 'directory' || !readMarker(rd.dir)) throw new DboError(`${rd.dir}: is not a dbo run directory (it has no .dbo-run marker)`);
      let status = 'unknown';
      try {
        status = String((JSON.parse(readFileSync(`${rd.dir}/summary.json`, 'utf8')) as { status?: unknown }).status);
      } catch {}
      if (status !== 'interrupted') throw new DboError(`${rd.dir}: the run has ended (status ${status}); there is nothing to resume`);
      refuseCwdOrParent(rd.dir);
      onPath(rd.dir, () => renameSync(rd.dir, rd.partial));
      rd.movedBack = true;
    }
    // This process owns the run now (a second `dbo resume` sees it in progress).
    rd.writeRaw(RUN_MARKER, `${JSON.stringify({ format: MARKER_FORMAT, pid: process.pid, host: hostname(), created: new Date().toISOString() })}\n`);
    return rd;
  }

  /** After `reopen` of a stopped run (moved to `<dir>.partial/`) that is not continued after all: moves it back to `dir`. */
  putBack(): void {
    if (!this.movedBack || kindOf(this.dir) !== 'missing') return;
    try {
      renameSync(this.partial, this.dir);
      this.movedBack = false;
    } catch {}
  }

  /** Whether `name` exists in the run being written. */
  has(name: string): boolean {
    return kindOf(`${this.partial}/${name}`) === 'file';
  }

  /** Replaces `name` atomically (temporary file, fsync, rename). */
  writeAtomic(name: string, text: string): void {
    writeFileAtomic(`${this.partial}/${name}`, text);
  }

  /** Removes `name` (a file this run wrote). */
  remove(name: string): void {
    const path = `${this.partial}/${name}`;
    onPath(path, () => rmSync(path, { force: true }));
  }

  /** Closes the open files and leaves everything in `<dir>.partial/` (a run that failed after a checkpoint). */
  keep(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.closeFiles();
    } catch {}
  }

  private writeRaw(name: string, text: string): void {
    const path = `${this.partial}/${name}`;
    onPath(path, () => writeFileSync(path, text));
  }

  writeJson(name: string, value: unknown): void {
    this.writeRaw(name, `${JSON.stringify(value, keepNonFinite, 2)}\n`);
  }

  /** Appends one JSON line to `name` (opened on first use). */
  appendLine(name: string, value: unknown): void {
    const path = `${this.partial}/${name}`;
    let fd = this.files.get(name);
    if (fd === undefined) {
      fd = onPath(path, () => openSync(path, this.appendMode ? 'a' : 'w'));
      this.files.set(name, fd);
    }
    const text = `${JSON.stringify(value, keepNonFinite)}\n`;
    onPath(path, () => writeSync(fd, text));
  }

  private closeFiles(): void {
    for (const fd of this.files.values()) closeSync(fd);
    this.files.clear();
  }

  /** Moves the finished run into place, replacing a previous dbo run only under `force`. */
  finish(force: boolean): void {
    if (this.closed) return;
    this.closeFiles();
    if (kindOf(this.dir) !== 'missing') {
      if (!force || !isRunDirectory(this.dir)) {
        this.closed = true; // keep the finished run where it is
        throw new DboError(`${this.dir}: appeared while the run was going and is not replaced; the finished run is kept in ${this.partial}`);
      }
      onPath(this.dir, () => rmSync(this.dir, { recursive: true, force: true }));
    }
    onPath(this.dir, () => renameSync(this.partial, this.dir));
    this.closed = true;
  }

  /** Removes everything written (for runs that failed before producing anything meaningful). */
  discard(): void {
    if (this.closed) return;
    this.closed = true;
    // Best effort: an error here must not hide the one that made the run fail.
    try {
      this.closeFiles();
    } catch {}
    try {
      rmSync(this.partial, { recursive: true, force: true });
    } catch {}
  }
}
