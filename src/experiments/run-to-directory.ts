/** Runs a config and stores it as a run directory (see RunDirectory); continues a stopped one (`dbo resume`). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeDataRecord } from '../data/record.ts';
import { DataError, DboError } from '../errors.ts';
import { topologyJson } from '../graph/index.ts';
import { CHECKPOINT_FILE, checkpointJson, fileHash, readCheckpointFile, type CheckpointFile, type LaunchInfo } from './checkpoint.ts';
import { resolveConfig, type RunConfig } from './config.ts';
import { runProvenance } from './provenance.ts';
import { RunDirectory } from './run-directory.ts';
import { checkConfigSize, checkRunSize } from './size-limits.ts';
import { execute, prepareRun, type MetricsRow, type PreparedRun, type RunCheckpoint, type RunControl, type RunOutcome, type RunSinks, type RuntimeFactory } from './runner.ts';

export interface StoredRun extends RunOutcome {
  readonly dir: string;
}

export interface RunToDirectoryOptions {
  /** Replace `dir` if it is a previous dbo run directory (never anything else). */
  readonly force?: boolean;
  /** `dir` is a default name: use `dir-2`, `dir-3`, … when it is taken. */
  readonly unique?: boolean;
  readonly progress?: RunSinks['progress'];
  /** Where the agents run (default: the in-process simulator). */
  readonly runtime?: RuntimeFactory;
  /** How the run was launched, stored with its checkpoints for `dbo resume` (default: the simulator). */
  readonly launch?: LaunchInfo;
  /** Write checkpoint.json after every iteration that is a multiple of this. */
  readonly checkpointEvery?: number;
  /** Polled at iteration boundaries (e.g. set by SIGINT/SIGTERM): true stops the run there with a checkpoint (status 'interrupted'). */
  readonly stopRequested?: () => boolean;
  /** Watches the run as it goes (the live view): the prepared run, each row, the agents at each evaluation. */
  readonly observe?: { prepared?(run: PreparedRun): void } & Pick<RunSinks, 'row' | 'agents'>;
}

/** The summary.json of a run that ended or stopped. */
function summary(prepared: PreparedRun, outcome: RunOutcome, started: string, provenance: unknown, dir: string): Record<string, unknown> {
  return {
    status: outcome.status,
    ...(outcome.message ? { message: outcome.message } : {}),
    ...(outcome.divergence ? { divergence: outcome.divergence } : {}),
    ...(outcome.status === 'interrupted' ? { iteration: outcome.iteration, resume: `dbo resume ${dir}` } : {}),
    algorithm: prepared.algorithm.name,
    problem: prepared.problem.type,
    ...(prepared.problem.data ? { dataset: prepared.problem.data.dataset } : {}),
    agents: prepared.problem.m,
    dx: prepared.problem.dx,
    dy: prepared.problem.dy,
    started,
    finished: new Date().toISOString(),
    timing: outcome.timing,
    final: outcome.rows.at(-1) ?? null,
    provenance,
  };
}

interface Session {
  readonly rd: RunDirectory;
  readonly prepared: PreparedRun;
  readonly started: string;
  readonly provenance: unknown;
  readonly launch: LaunchInfo;
  readonly checkpointEvery: number | undefined;
  readonly configHash: string;
}

/**
 * Runs (or continues) a prepared run into its directory: checkpoints replace
 * checkpoint.json atomically; a run stopped on request keeps its checkpoint,
 * says 'interrupted' in summary.json and is moved into place; a run that ends
 * drops its checkpoint. A failure after a checkpoint keeps `<dir>.partial/`
 * (it can be resumed), a failure before one removes it.
 */
async function runSession(s: Session, sinks: RunSinks, runtime: RuntimeFactory | undefined, control: RunControl, force: boolean): Promise<StoredRun> {
  const { rd, prepared } = s;
  let checkpointed = rd.has(CHECKPOINT_FILE);
  const full: RunControl = {
    ...control,
    ...(s.checkpointEvery !== undefined ? { checkpointEvery: s.checkpointEvery } : {}),
    checkpoint: (run: RunCheckpoint) => {
      const file: CheckpointFile = {
        format: 'dbo-checkpoint',
        version: 1,
        configHash: s.configHash,
        launch: s.launch,
        ...(s.checkpointEvery !== undefined ? { checkpointEvery: s.checkpointEvery } : {}),
        started: s.started,
        written: new Date().toISOString(),
        run,
      };
      rd.writeAtomic(CHECKPOINT_FILE, checkpointJson(file));
      checkpointed = true;
    },
  };
  try {
    const outcome = await execute(prepared, sinks, runtime, full);
    if (outcome.status !== 'interrupted') rd.remove(CHECKPOINT_FILE);
    rd.writeJson('summary.json', summary(prepared, outcome, s.started, s.provenance, rd.dir));
    rd.finish(force);
    return { ...outcome, dir: rd.dir };
  } catch (e) {
    if (!checkpointed) {
      rd.discard();
      throw e;
    }
    rd.keep();
    if (e instanceof Error) e.message += ` (the last checkpoint is kept: resume with: dbo resume ${rd.dir})`;
    throw e;
  }
}

function sinksFor(rd: RunDirectory, config: RunConfig, progress: RunSinks['progress'] | undefined, observe?: RunToDirectoryOptions['observe']): RunSinks {
  return {
    row: (row: MetricsRow) => {
      rd.appendLine('metrics.jsonl', row);
      observe?.row?.(row);
    },
    ...(observe?.agents ? { agents: observe.agents } : {}),
    // View changes on real transports (docs/faults.md).
    event: (e) => rd.appendLine('events.jsonl', e),
    ...(config.output.trace ? { trace: (row) => rd.appendLine('trace.jsonl', row) } : {}),
    ...(progress ? { progress } : {}),
  };
}

function checkEvery(every: number | undefined): void {
  if (every !== undefined && !(Number.isInteger(every) && every >= 1)) throw new DboError(`--checkpoint-every: expected a positive integer, got ${every}`);
}

/**
 * Validates and prepares everything (data loaded, topology checked) before
 * the directory is created; then streams rows to disk. A run that diverges
 * keeps its rows and says so in summary.json; any other failure removes the
 * partial directory (unless a checkpoint was written: then it is kept to resume).
 */
export async function runToDirectory(config: RunConfig, dir: string, options: RunToDirectoryOptions = {}): Promise<StoredRun> {
  checkConfigSize(config);
  checkEvery(options.checkpointEvery);
  const prepared = prepareRun(config);
  checkRunSize(config, prepared.problem, dir);
  const provenance = runProvenance(config, prepared.problem.data);
  const rd = options.unique ? RunDirectory.createUnique(dir) : RunDirectory.create(dir, options.force ?? false);
  let session: Session;
  try {
    rd.writeJson('config.resolved.json', config);
    rd.writeJson('topology.json', topologyJson(prepared.topology));
    // What every agent holds (data.json; see src/data/record.ts).
    if (prepared.problem.data) writeDataRecord(join(rd.partial, 'data.json'), prepared.problem.data);
    options.observe?.prepared?.(prepared);
    session = {
      rd,
      prepared,
      started: new Date().toISOString(),
      provenance,
      launch: options.launch ?? { transport: 'simulator' },
      checkpointEvery: options.checkpointEvery,
      configHash: fileHash(join(rd.partial, 'config.resolved.json')),
    };
  } catch (e) {
    rd.discard();
    throw e;
  }
  return runSession(session, sinksFor(rd, config, options.progress, options.observe), options.runtime, options.stopRequested ? { stopRequested: options.stopRequested } : {}, options.force ?? false);
}

export interface ResumeOptions {
  readonly progress?: RunSinks['progress'];
  /** The runtime to continue on, from how the run was launched (undefined: the in-process simulator). */
  readonly runtime?: (launch: LaunchInfo) => RuntimeFactory | undefined;
  /** Overrides the run's `--checkpoint-every`. */
  readonly checkpointEvery?: number;
  readonly stopRequested?: () => boolean;
  /** Called once the checkpoint is read, before the agents start (e.g. to size a progress bar). */
  readonly onStart?: (info: { readonly dir: string; readonly iteration: number; readonly config: RunConfig; readonly launch: LaunchInfo }) => void;
}

/**
 * Keeps the first `count` lines of a JSON-lines file (rows written after the
 * checkpoint by the process that was stopped are dropped), replacing it
 * atomically. Returns the parsed lines.
 */
function truncateLines(rd: RunDirectory, name: string, count: number): unknown[] {
  const path = join(rd.partial, name);
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    if (count === 0) return [];
    throw new DataError(path, `cannot be read, but the checkpoint counts ${count} rows in it`);
  }
  // Complete lines only: a line the stopped process was writing when killed has no newline yet.
  const complete = text.split('\n').slice(0, -1);
  if (complete.length < count) throw new DataError(path, `holds ${complete.length} complete rows, fewer than the ${count} the checkpoint counts`);
  const kept = complete.slice(0, count);
  const rows = kept.map((line, k) => {
    try {
      return JSON.parse(line) as unknown;
    } catch {
      throw new DataError(path, `line ${k + 1} is not valid JSON`);
    }
  });
  rd.writeAtomic(name, kept.map((l) => `${l}\n`).join(''));
  return rows;
}

/** metrics.jsonl writes non-finite numbers as strings (run-directory.ts); read them back as numbers. */
function rowFromJson(value: unknown): MetricsRow {
  const row = { ...(value as Record<string, unknown>) };
  for (const [k, v] of Object.entries(row)) if (v === 'NaN' || v === 'Infinity' || v === '-Infinity') row[k] = Number(v);
  return row as unknown as MetricsRow;
}

/**
 * `dbo resume DIR`: continues a run stopped on request (summary.json says
 * 'interrupted') or killed (its `<DIR>.partial/` holds a checkpoint) from its
 * last checkpoint, on the transport it was started with. Rows the stopped
 * process wrote after the checkpoint are dropped; the run then writes exactly
 * the rows the uninterrupted run writes (timing columns aside).
 */
export async function resumeRun(dir: string, options: ResumeOptions = {}): Promise<StoredRun> {
  checkEvery(options.checkpointEvery);
  const rd = RunDirectory.reopen(dir);
  let started = false;
  try {
    const cpPath = join(rd.partial, CHECKPOINT_FILE);
    if (!rd.has(CHECKPOINT_FILE))
      throw new DboError(`${rd.dir}: holds no checkpoint (the run stopped before its first one); run it again, with --checkpoint-every N to make it resumable`);
    const cp = readCheckpointFile(cpPath);
    const configPath = join(rd.partial, 'config.resolved.json');
    if (fileHash(configPath) !== cp.configHash) throw new DataError(cpPath, `was written for another config than ${configPath} (the file changed since); nothing was resumed`);
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(configPath, 'utf8'));
    } catch {
      throw new DataError(configPath, 'cannot be read as JSON');
    }
    const config = resolveConfig(raw);
    const prepared = prepareRun(config);
    if (cp.run.runtime.agents.length !== prepared.problem.m) throw new DataError(cpPath, `holds ${cp.run.runtime.agents.length} agents, the config has ${prepared.problem.m}`);
    const rows = truncateLines(rd, 'metrics.jsonl', cp.run.rows).map(rowFromJson);
    if (rows.at(-1)!.iteration > cp.run.iteration) throw new DataError(join(rd.partial, 'metrics.jsonl'), `row ${cp.run.rows} is of iteration ${rows.at(-1)!.iteration}, after the checkpoint's ${cp.run.iteration}`);
    if (config.output.trace) truncateLines(rd, 'trace.jsonl', cp.run.traceRows);
    options.onStart?.({ dir: rd.dir, iteration: cp.run.iteration, config, launch: cp.launch });
    const every = options.checkpointEvery ?? cp.checkpointEvery;
    const session: Session = {
      rd,
      prepared,
      started: cp.started,
      provenance: runProvenance(config, prepared.problem.data),
      launch: cp.launch,
      checkpointEvery: every,
      configHash: cp.configHash,
    };
    started = true;
    rd.remove('summary.json');
    const control: RunControl = { resume: { checkpoint: cp.run, rows }, ...(options.stopRequested ? { stopRequested: options.stopRequested } : {}) };
    return await runSession(session, sinksFor(rd, config, options.progress), options.runtime?.(cp.launch), control, false);
  } catch (e) {
    // Nothing of the stopped run is ever deleted: a run that had not continued yet goes back where it was; otherwise it stays in `<dir>.partial/`, resumable once the cause is fixed.
    rd.keep();
    if (!started) rd.putBack();
    throw e;
  }
}
