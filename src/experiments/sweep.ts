/**
 * Sweeps: a base config expanded over lists of values at config key paths,
 * run as cases in child processes (at most `jobs` at a time), resumable.
 *
 *   name: compare                     # optional
 *   base: base.yaml                   # a config file (relative to this file) or an inline mapping
 *   vary:                             # every combination of these values
 *     algorithm.name: [d-soba, gossip-dsbo]
 *     seed: [1, 2, 3]
 *   cases:                            # optional: explicit overrides, each crossed with vary
 *     - {algorithm: {name: d-soba, alpha: 0.1}}
 *     - {algorithm: {name: mdbo}}
 *
 * A key path sets one value (`algorithm.alpha: [0.1, 0.2]`); a mapping value
 * replaces the whole subtree (`algorithm: [{name: a, ...}, {name: b, ...}]`),
 * which is how algorithms with different parameters are compared. Every case
 * is resolved and validated before anything runs. Each case is an ordinary
 * run directory `DIR/<case id>`; `DIR/sweep.json` indexes them (case → run
 * directory, defining values, status). A case whose run directory is complete
 * is skipped, so running the same sweep again after an interruption runs only
 * what is missing.
 */
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, DataError, DboError } from '../errors.ts';
import { readConfigFile, resolveConfig, withPathsFrom, type RunConfig } from './config.ts';
import type { MetricsRow } from './runner.ts';

export interface SweepSpec {
  name?: string;
  /** A config object (relative paths taken from `baseDir`). */
  base: Record<string, unknown>;
  /** Key path → list of values; the cases are all combinations. */
  vary?: Record<string, unknown[]>;
  /** Explicit override sets (key path → value), each crossed with `vary`. */
  cases?: Record<string, unknown>[];
  /** Folder that relative paths in `base` are relative to (default: the working directory). */
  baseDir?: string;
}

export interface SweepCase {
  readonly id: string;
  /** Key path → value that define this case (explicit overrides, then vary). */
  readonly values: Record<string, unknown>;
  readonly config: RunConfig;
}

export type CaseStatus = 'pending' | 'completed' | 'diverged' | 'failed';

export interface SweepIndexEntry {
  id: string;
  /** Run directory, relative to the sweep directory. */
  dir: string;
  values: Record<string, unknown>;
  status: CaseStatus;
  message?: string;
}

export interface SweepIndex {
  name: string;
  /** The key paths that vary between cases. */
  vary: string[];
  updated: string;
  cases: SweepIndexEntry[];
}

export type SweepEvent =
  | { type: 'skip'; case: SweepCase }
  | { type: 'start'; case: SweepCase; dir: string }
  | { type: 'progress'; case: SweepCase; iteration: number; total: number; row: MetricsRow | null }
  | { type: 'done'; case: SweepCase; status: CaseStatus; message?: string };

export interface SweepOptions {
  /** Cases run at the same time (default 2, at most the CPU count). */
  jobs?: number;
  /** Run the cases one after the other in this process instead of child processes. */
  inProcess?: boolean;
  onEvent?(event: SweepEvent): void;
}

export interface SweepResult {
  readonly dir: string;
  readonly index: SweepIndex;
  /** Cases run by this call (the others were complete already). */
  readonly ran: string[];
  readonly skipped: string[];
}

const SWEEP_KEYS = new Set(['name', 'base', 'vary', 'cases']);

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads a sweep file (YAML or JSON); `base` may name a config file relative to it. */
export function loadSweepSpec(file: string): SweepSpec {
  const raw = readConfigFile(file);
  if (!isMapping(raw)) throw new ConfigError('(sweep)', `${file} must hold a mapping with base and vary (and optionally name, cases)`);
  for (const k of Object.keys(raw)) if (!SWEEP_KEYS.has(k)) throw new ConfigError(k, `unknown sweep key (expected name, base, vary, cases)`);
  const here = dirname(file);
  let base: Record<string, unknown>;
  let baseDir = here;
  if (typeof raw.base === 'string') {
    const baseFile = resolve(here, raw.base);
    const parsed = readConfigFile(baseFile);
    if (!isMapping(parsed)) throw new ConfigError('base', `${raw.base} must hold a config mapping`);
    base = parsed;
    baseDir = dirname(baseFile);
  } else if (isMapping(raw.base)) base = raw.base;
  else throw new ConfigError('base', 'expected a config file name or an inline config mapping');
  const spec: SweepSpec = { base, baseDir };
  if (raw.name !== undefined) {
    if (typeof raw.name !== 'string' || !/^[\w.-]+$/.test(raw.name)) throw new ConfigError('name', 'expected a name of letters, digits, - _ .');
    spec.name = raw.name;
  }
  if (raw.vary !== undefined) {
    if (!isMapping(raw.vary)) throw new ConfigError('vary', 'expected a mapping of key path → list of values');
    spec.vary = raw.vary as Record<string, unknown[]>;
  }
  if (raw.cases !== undefined) {
    if (!Array.isArray(raw.cases) || !raw.cases.every(isMapping)) throw new ConfigError('cases', 'expected a list of mappings (key path → value)');
    spec.cases = raw.cases as Record<string, unknown>[];
  }
  return spec;
}

/** Sets `value` at a dotted key path, creating mappings on the way; a mapping value replaces the subtree. */
export function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const k of keys.slice(0, -1)) {
    if (!isMapping(node[k])) node[k] = {};
    node = node[k] as Record<string, unknown>;
  }
  node[keys.at(-1)!] = structuredClone(value);
}

function slug(value: unknown): string {
  if (isMapping(value)) {
    const hash = createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 6);
    return typeof value.name === 'string' ? `${slug(value.name)}-${hash}` : hash;
  }
  if (typeof value === 'number') return String(value);
  const s = String(Array.isArray(value) ? value.join('-') : value)
    .replace(/[^\w.+-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return s.slice(0, 40) || 'x';
}

function caseId(values: Record<string, unknown>): string {
  const parts = Object.entries(values).map(([k, v]) => {
    const key = k.replace(/^algorithm(\.name)?$/, '').replace(/^algorithm\./, '').replace(/\.type$/, '');
    return key === '' ? slug(v) : `${slug(key.split('.').at(-1))}-${slug(v)}`;
  });
  return parts.join('_') || 'case';
}

/** All cases of a sweep, each resolved and validated (errors name the case and the field). */
export function expandSweep(spec: SweepSpec, where = 'sweep'): SweepCase[] {
  const vary = Object.entries(spec.vary ?? {});
  for (const [k, values] of vary) {
    if (!/^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$/.test(k)) throw new ConfigError(`vary.${k}`, 'expected a key path like algorithm.alpha');
    if (!Array.isArray(values) || values.length === 0) throw new ConfigError(`vary.${k}`, 'expected a non-empty list of values');
  }
  let combos: Record<string, unknown>[] = (spec.cases ?? [{}]).map((c) => ({ ...c }));
  for (const [k, values] of vary) combos = combos.flatMap((c) => values.map((v) => ({ ...c, [k]: v })));
  const ids = new Map<string, number>();
  const cases = combos.map((values) => {
    let id = caseId(values);
    const n = (ids.get(id) ?? 0) + 1;
    ids.set(id, n);
    if (n > 1) id = `${id}-${n}`;
    const raw = structuredClone(spec.base);
    for (const [k, v] of Object.entries(values)) setPath(raw, k, v);
    if (raw.name === undefined && spec.name) raw.name = `${spec.name}-${id}`;
    let config: RunConfig;
    try {
      config = withPathsFrom(resolveConfig(raw), resolve(spec.baseDir ?? '.'));
    } catch (e) {
      if (e instanceof DboError) throw new DboError(`${where}: case ${id}: ${e.message}`);
      throw e;
    }
    return { id, values, config };
  });
  return cases;
}

function writeIndex(dir: string, index: SweepIndex): void {
  index.updated = new Date().toISOString();
  const file = join(dir, 'sweep.json');
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(index, null, 2)}\n`);
  renameSync(tmp, file);
}

function runComplete(dir: string): boolean {
  return existsSync(join(dir, 'summary.json')) && existsSync(join(dir, 'metrics.jsonl'));
}

function firstDifference(a: unknown, b: unknown, path = ''): string | null {
  if (isMapping(a) && isMapping(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const d = firstDifference(a[k], b[k], path ? `${path}.${k}` : k);
      if (d) return d;
    }
    return null;
  }
  return JSON.stringify(a) === JSON.stringify(b) ? null : path || '(root)';
}

/** The status a complete run directory records. */
function storedStatus(dir: string): CaseStatus {
  try {
    const s = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as { status?: string };
    return s.status === 'diverged' ? 'diverged' : 'completed';
  } catch {
    return 'completed';
  }
}

/** Path of the child-process entry, next to this module (.ts from source, .js when compiled). */
function childEntry(): string {
  const here = fileURLToPath(import.meta.url);
  return join(dirname(here), `sweep-case${extname(here)}`);
}

interface ChildMessage {
  type: 'progress' | 'done' | 'error';
  iteration?: number;
  total?: number;
  row?: MetricsRow | null;
  status?: CaseStatus;
  message?: string;
}

function runChild(c: SweepCase, runDir: string, onEvent: SweepOptions['onEvent']): Promise<{ status: CaseStatus; message?: string }> {
  return new Promise((resolveRun) => {
    const execArgv = extname(childEntry()) === '.ts' ? ['--import', import.meta.resolve('tsx')] : [];
    const child = fork(childEntry(), [], { execArgv, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let stderr = '';
    let result: { status: CaseStatus; message?: string } | null = null;
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('message', (m: ChildMessage) => {
      if (m.type === 'progress') onEvent?.({ type: 'progress', case: c, iteration: m.iteration!, total: m.total!, row: m.row ?? null });
      else if (m.type === 'done') result = { status: m.status!, ...(m.message ? { message: m.message } : {}) };
      else if (m.type === 'error') result = { status: 'failed', message: m.message ?? 'failed' };
    });
    child.on('exit', (code, signal) => {
      if (result) resolveRun(result);
      else resolveRun({ status: 'failed', message: `case process ended (${signal ?? `exit ${code}`})${stderr ? `: ${stderr.trim().split('\n').at(-1)}` : ''}` });
    });
    child.send({ config: c.config, dir: runDir });
  });
}

async function runInProcess(c: SweepCase, runDir: string, onEvent: SweepOptions['onEvent']): Promise<{ status: CaseStatus; message?: string }> {
  const { runToDirectory } = await import('./run-to-directory.ts');
  try {
    const r = await runToDirectory(c.config, runDir, { progress: (iteration, total, row) => onEvent?.({ type: 'progress', case: c, iteration, total, row }) });
    // A sweep installs no stop request, so its runs never end 'interrupted'.
    return { status: r.status === 'interrupted' ? 'failed' : r.status, ...(r.message ? { message: r.message } : {}) };
  } catch (e) {
    return { status: 'failed', message: (e as Error).message };
  }
}

/**
 * Runs the sweep's missing cases into `dir` and keeps `dir/sweep.json`
 * current. Refuses a directory that is not this sweep's: one holding other
 * files, or a case directory run with a different config.
 */
export async function runSweep(spec: SweepSpec, dir: string, options: SweepOptions = {}): Promise<SweepResult> {
  const cases = expandSweep(spec);
  const jobs = Math.max(1, Math.min(options.jobs ?? 2, availableParallelism(), cases.length));
  if (existsSync(dir)) {
    if (!existsSync(join(dir, 'sweep.json')) && readdirSync(dir).length > 0) throw new DataError(dir, 'exists and is not a sweep directory (no sweep.json); choose another --out');
  }
  for (const c of cases) {
    const runDir = join(dir, c.id);
    if (!runComplete(runDir)) continue;
    const stored = JSON.parse(readFileSync(join(runDir, 'config.resolved.json'), 'utf8')) as unknown;
    const diff = firstDifference(stored, JSON.parse(JSON.stringify(c.config)));
    if (diff) throw new DataError(runDir, `was run with a different config (${diff} differs); choose another --out for this sweep`);
  }
  mkdirSync(dir, { recursive: true });
  const varied = [...new Set(cases.flatMap((c) => Object.keys(c.values)))];
  const index: SweepIndex = {
    name: spec.name ?? 'sweep',
    vary: varied,
    updated: '',
    cases: cases.map((c) => {
      const runDir = join(dir, c.id);
      return { id: c.id, dir: c.id, values: c.values, status: runComplete(runDir) ? storedStatus(runDir) : 'pending' };
    }),
  };
  writeIndex(dir, index);
  const todo = cases.filter((_, i) => index.cases[i]!.status === 'pending');
  const skipped = cases.filter((_, i) => index.cases[i]!.status !== 'pending').map((c) => c.id);
  for (const c of cases) if (skipped.includes(c.id)) options.onEvent?.({ type: 'skip', case: c });
  const ran: string[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < todo.length) {
      const c = todo[next++]!;
      const runDir = join(dir, c.id);
      options.onEvent?.({ type: 'start', case: c, dir: runDir });
      const r = options.inProcess ? await runInProcess(c, runDir, options.onEvent) : await runChild(c, runDir, options.onEvent);
      const entry = index.cases.find((e) => e.id === c.id)!;
      entry.status = r.status;
      if (r.message) entry.message = r.message;
      else delete entry.message;
      writeIndex(dir, index);
      ran.push(c.id);
      options.onEvent?.({ type: 'done', case: c, status: r.status, ...(r.message ? { message: r.message } : {}) });
    }
  };
  await Promise.all(Array.from({ length: options.inProcess ? 1 : jobs }, worker));
  return { dir, index, ran, skipped };
}
