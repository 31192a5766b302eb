/**
 * Runs a preset: every run for every seed into `<out>/<run>/seed-<s>/` (a run
 * directory, or `result.json` for a computation), skipping the ones already
 * complete there (or, for presets sharing their runs, in the sibling
 * experiment's folder), then evaluates the acceptance criterion and writes
 * `verdict.md` (and `verdict.json`). A rerun resumes; it never recomputes a
 * complete run, and refuses a folder whose run was made with another config.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ConfigError, DataError, DboError } from '../../errors.ts';
import { writePlot } from '../../report/plot.ts';
import { readRun } from '../../report/run-data.ts';
import { configSchema, resolveConfig, withPathsFrom, type RunConfig } from '../config.ts';
import type { MetricsRow } from '../runner.ts';
import { runSweep } from '../sweep.ts';
import { isTask, overall, type Check, type Preset, type PresetOptions, type Results, type RunResult, type TaskRun, type Verdict } from './preset.ts';
import { mdTable } from './series.ts';

export interface ReproduceOptions {
  /** Output folder of the experiment. */
  readonly out: string;
  /** Seeds 1..seeds. */
  readonly seeds: number;
  readonly quick: boolean;
  readonly libsvmDir: string;
  readonly iterations?: number;
  /** α = β of every run (presets that take it). */
  readonly step?: number;
  /** Only the runs on this data set (presets with several). */
  readonly data?: string;
  readonly log?: (line: string) => void;
  /** One progress reporter over all the iterations to run (e.g. a bar), or undefined for none. */
  readonly progress?: (label: string, iterations: number) => { update(done: number, total: number, row: MetricsRow | null): void; log?(line: string): void; stop(): void } | undefined;
  /** Run the configs one after the other in this process (tests) instead of child processes, two at a time. */
  readonly inProcess?: boolean;
  /** Write the figures (default true). */
  readonly figures?: boolean;
  /** Rewrites each run's raw config before validation (tests shrink presets with it). */
  readonly transform?: (runId: string, config: Record<string, unknown>) => Record<string, unknown>;
}

export interface ReproduceOutcome {
  readonly verdict: Verdict;
  readonly checks: Check[];
  readonly verdictFile: string;
  /** `<run>/seed-<s>` of the runs computed now, and of those found complete. */
  readonly executed: string[];
  readonly skipped: string[];
}

/** Default output folder: runs/reproduce/<id>, or <id>-quick for the quick version. */
export function defaultOutDir(preset: Preset, quick: boolean): string {
  return join('runs', 'reproduce', quick ? `${preset.id}-quick` : preset.id);
}

/** Whether this build of dbo has a problem type (the config schema accepts its discriminator). */
export function hasProblemType(type: string): boolean {
  const shape = (configSchema as unknown as { shape?: { problem?: { safeParse(v: unknown): { error?: { issues: Array<{ code: string; path: PropertyKey[] }> } } } } }).shape;
  if (!shape?.problem) return true;
  const issues = shape.problem.safeParse({ type }).error?.issues ?? [];
  return !issues.some((i) => i.path.length === 1 && i.path[0] === 'type');
}

/** The problem types a preset needs that this build lacks. */
export function missingProblems(preset: Preset): string[] {
  return (preset.problems ?? []).filter((t) => !hasProblemType(t));
}

interface Job {
  readonly runId: string;
  readonly seed: number;
  readonly key: string;
  readonly dir: string;
  readonly config?: RunConfig;
  readonly task?: TaskRun;
  /** Where a complete result was found (own folder or the sibling experiment's); null: to compute. */
  found: string | null;
}

function sameConfig(dir: string, config: RunConfig): boolean {
  try {
    return JSON.stringify(JSON.parse(readFileSync(join(dir, 'config.resolved.json'), 'utf8'))) === JSON.stringify(JSON.parse(JSON.stringify(config)));
  } catch {
    return false;
  }
}

/** JSON has no NaN/Infinity: run directories store them as strings. */
function revive(_key: string, value: unknown): unknown {
  return value === 'NaN' ? NaN : value === 'Infinity' ? Infinity : value === '-Infinity' ? -Infinity : value;
}

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8'), revive) as T;
}

function loadResult(job: Job): RunResult {
  const dir = job.found ?? job.dir;
  if (job.task) return { id: job.runId, seed: job.seed, dir, status: 'completed', rows: [], result: readJson(join(dir, 'result.json')) };
  const summary = readJson<{ status: 'completed' | 'diverged'; message?: string; dx: number; dy: number; agents: number }>(join(dir, 'summary.json'));
  const text = existsSync(join(dir, 'metrics.jsonl')) ? readFileSync(join(dir, 'metrics.jsonl'), 'utf8') : '';
  const rows = text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l, revive) as MetricsRow);
  return {
    id: job.runId,
    seed: job.seed,
    dir,
    status: summary.status,
    ...(summary.message ? { message: summary.message } : {}),
    rows,
    dims: { dx: summary.dx, dy: summary.dy, agents: summary.agents },
    config: readJson(join(dir, 'config.resolved.json')),
    ...(existsSync(join(dir, 'topology.json')) ? { topology: readJson(join(dir, 'topology.json')) } : {}),
  };
}

/** Validates every run and locates complete ones, before anything is computed or written. */
function plan(preset: Preset, o: ReproduceOptions, presetOptions: PresetOptions): Job[] {
  const missing = missingProblems(preset);
  if (missing.length > 0)
    throw new DboError(`experiment ${preset.id} needs the ${missing.map((t) => `'${t}'`).join(' and ')} problem type${missing.length > 1 ? 's' : ''}, which this version of dbo does not provide yet (${preset.title})`);
  for (const f of preset.libsvmFiles ?? [])
    if (!existsSync(join(o.libsvmDir, f))) throw new DataError(join(o.libsvmDir, f), `LIBSVM file not found: experiment ${preset.id} needs ${preset.libsvmFiles!.join(', ')} in one folder (pass --libsvm-dir DIR)`);
  const siblingOut = preset.sharesRunsWith && basename(o.out).includes(preset.id) ? join(dirname(o.out), basename(o.out).replace(preset.id, preset.sharesRunsWith)) : null;
  const jobs: Job[] = [];
  for (const run of preset.runs(presetOptions)) {
    for (let seed = 1; seed <= o.seeds; seed++) {
      const key = `${run.id}/seed-${seed}`;
      const dir = join(o.out, run.id, `seed-${seed}`);
      if (isTask(run)) {
        jobs.push({ runId: run.id, seed, key, dir, task: run, found: existsSync(join(dir, 'result.json')) ? dir : null });
        continue;
      }
      const raw = { ...(o.transform ? o.transform(run.id, run.config) : run.config), seed };
      let config: RunConfig;
      try {
        // Paths absolute, as the sweep stores them, so that a resumed run compares equal.
        config = withPathsFrom(resolveConfig(raw), resolve('.'));
      } catch (e) {
        if (e instanceof ConfigError) throw new ConfigError(`${preset.id}: run ${run.id}`, e.message);
        throw e;
      }
      let found: string | null = null;
      if (existsSync(dir)) {
        if (!sameConfig(dir, config)) throw new DboError(`${dir}: holds a run made with a different config (e.g. another --quick, --iterations, --step or --libsvm-dir); choose another --out`);
        found = dir;
      } else if (siblingOut) {
        const other = join(siblingOut, run.id, `seed-${seed}`);
        if (existsSync(other) && sameConfig(other, config)) found = other;
      }
      jobs.push({ runId: run.id, seed, key, dir, config, found });
    }
  }
  return jobs;
}

function writeAtomically(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(`${path}.partial`, text);
  renameSync(`${path}.partial`, path);
}

async function execute(jobs: ReadonlyArray<Job>, o: ReproduceOptions): Promise<void> {
  const pending = jobs.filter((j) => j.found === null);
  const total = pending.reduce((n, j) => n + (j.config?.iterations ?? 0), 0);
  const bar = total > 0 ? o.progress?.('reproduce ', total) : undefined;
  const log = (line: string) => (bar?.log ? bar.log(line) : o.log?.(line));
  let k = 0;
  const tag = (key: string) => `[${++k}/${pending.length}] ${key}`;
  for (const job of pending.filter((j) => j.task)) {
    const start = Date.now();
    const t = tag(job.key);
    log(`${t}: computing`);
    const dir = `${job.dir}.partial`;
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'result.json'), `${JSON.stringify(job.task!.compute(job.seed), null, 2)}\n`);
    renameSync(dir, job.dir);
    log(`${t}: done in ${((Date.now() - start) / 1000).toFixed(1)} s`);
  }
  // Each run's pending seeds are one sweep (<out>/<run>/seed-<s>, sweep.json); two sweeps at a time, one case each.
  const byRun = new Map<string, Job[]>();
  for (const j of pending) if (j.config) byRun.set(j.runId, [...(byRun.get(j.runId) ?? []), j]);
  const progressOf = new Map<string, number>();
  const failures: string[] = [];
  const queue = [...byRun.values()];
  const worker = async (): Promise<void> => {
    for (let group = queue.shift(); group; group = queue.shift()) {
      const first = group[0]!;
      const started = new Map<string, { tag: string; start: number }>();
      const { seed: _seed, ...base } = first.config!;
      await runSweep({ name: first.runId, base, vary: { seed: group.map((j) => j.seed) } }, join(o.out, first.runId), {
        jobs: 1,
        ...(o.inProcess ? { inProcess: true } : {}),
        onEvent: (e) => {
          const key = `${first.runId}/${e.case.id}`;
          if (e.type === 'start') {
            const t = tag(key);
            started.set(key, { tag: t, start: Date.now() });
            log(`${t}: running ${e.case.config.algorithm.name}, ${e.case.config.iterations} iterations → ${e.dir}`);
          } else if (e.type === 'progress') {
            progressOf.set(key, e.iteration);
            bar?.update([...progressOf.values()].reduce((a, b) => a + b, 0), total, e.row);
          } else if (e.type === 'done') {
            const s = started.get(key);
            progressOf.set(key, e.case.config.iterations);
            log(`${s?.tag ?? key}: ${e.status}${e.message ? ` (${e.message})` : ''} in ${s ? ((Date.now() - s.start) / 1000).toFixed(1) : '?'} s`);
            if (e.status === 'failed') failures.push(`${key}: ${e.message ?? 'failed'}`);
          }
        },
      });
    }
  };
  try {
    await Promise.all([worker(), worker()]);
  } finally {
    bar?.stop();
  }
  if (failures.length > 0) throw new DboError(`run(s) failed: ${failures.join('; ')}`);
}

/** The preset's figures under <out>/figures (mean over seeds with a min–max band); a figure that cannot be drawn is reported, not fatal. */
async function writeFigures(preset: Preset, o: ReproduceOptions, presetOptions: PresetOptions, loaded: ReadonlyArray<RunResult>): Promise<string[]> {
  const written: string[] = [];
  for (const fig of preset.figures?.(presetOptions) ?? []) {
    const file = join(o.out, 'figures', fig.file);
    try {
      const runs = fig.runs.flatMap((id) => loaded.filter((r) => r.id === id && r.rows.length > 0)).map((r) => readRun(r.dir));
      mkdirSync(dirname(file), { recursive: true });
      await writePlot(runs, file, { x: fig.x, y: [fig.y], title: fig.title, ...(fig.logY ? { logY: true } : {}) });
      written.push(file);
    } catch (e) {
      o.log?.(`figure ${fig.file} not written: ${(e as Error).message}`);
    }
  }
  return written;
}

function verdictMarkdown(preset: Preset, o: ReproduceOptions, verdict: Verdict, evaluation: { checks: Check[]; details?: string[] }, results: RunResult[]): string {
  const command = `dbo reproduce ${preset.id}${o.seeds !== 1 ? ` --seeds ${o.seeds}` : ''}${o.quick ? ' --quick' : ''}${o.iterations !== undefined ? ` --iterations ${o.iterations}` : ''}${o.step !== undefined ? ` --step ${o.step}` : ''}${o.data !== undefined ? ` --data ${o.data}` : ''}`;
  const lines = [
    `# ${preset.id.toUpperCase()}: ${preset.title}`,
    '',
    `**Verdict: ${verdict}**${o.quick ? ' (quick version: a small version of the experiment; indicative only)' : ''}`,
    '',
    `Command: \`${command}\`; seeds ${Array.from({ length: o.seeds }, (_, i) => i + 1).join(', ')}; written ${new Date().toISOString()}.`,
    '',
    `**Claim (${preset.paper}).** ${preset.claim}`,
    '',
    '## Acceptance criterion',
    '',
    ...preset.acceptance.map((a) => `- ${a}`),
    '',
    '## Setting',
    '',
    ...preset.setting.map((s) => `- ${s}`),
    ...(o.quick ? ['- Quick version: fewer iterations and samples than stated above (see each run\'s config.resolved.json).'] : []),
    ...(o.step !== undefined ? [`- \`--step ${o.step}\`: α = β = ${o.step} in every run instead of the paper's value stated above.`] : []),
    ...(o.data !== undefined ? [`- \`--data ${o.data}\`: only the runs on this data set (the paper's figure has ${preset.dataSets!.join(' and ')}).`] : []),
    '',
    '## Measured',
    '',
    ...(evaluation.details ?? []).flatMap((d) => [d, '']),
    mdTable(
      ['criterion', 'verdict', 'measured', 'reason'],
      evaluation.checks.map((c) => [c.criterion, `**${c.verdict}**`, c.measured, c.reason ?? '']),
    ),
    '',
    '## Runs',
    '',
    mdTable(
      ['run', 'seed', 'status', 'last evaluated iteration', 'directory'],
      results.map((r) => [r.id, String(r.seed), r.status + (r.message ? `: ${r.message}` : ''), r.rows.length ? String(r.rows.at(-1)!.iteration) : '—', r.dir]),
    ),
    '',
  ];
  return lines.join('\n');
}

/** Runs (or resumes) a preset and writes its verdict. */
export async function reproduce(preset: Preset, o: ReproduceOptions): Promise<ReproduceOutcome> {
  if (!Number.isInteger(o.seeds) || o.seeds < 1) throw new ConfigError('--seeds', `expected a positive integer, got ${o.seeds}`);
  if (o.step !== undefined) {
    if (!preset.takesStep) throw new ConfigError('--step', `experiment ${preset.id} does not take --step (only the SEED-001 comparisons e1-2, e1-3 and e1-4 do)`);
    if (!(o.step > 0) || !Number.isFinite(o.step)) throw new ConfigError('--step', `expected a positive number, got ${o.step}`);
  }
  if (o.data !== undefined && !preset.dataSets?.includes(o.data))
    throw new ConfigError('--data', preset.dataSets ? `expected one of ${preset.dataSets.join(', ')} for experiment ${preset.id}, got '${o.data}'` : `experiment ${preset.id} runs on one data set and does not take --data`);
  const presetOptions: PresetOptions = { quick: o.quick, libsvmDir: o.libsvmDir, ...(o.iterations !== undefined ? { iterations: o.iterations } : {}), ...(o.step !== undefined ? { step: o.step } : {}), ...(o.data !== undefined ? { data: o.data } : {}) };
  const jobs = plan(preset, o, presetOptions);
  const log = o.log ?? (() => {});
  for (const j of jobs) if (j.found) log(`${j.key}: complete in ${j.found}, skipped`);
  await execute(jobs, o);
  const loaded = jobs.map(loadResult);
  const results: Results = {
    seeds: Array.from({ length: o.seeds }, (_, i) => i + 1),
    quick: o.quick,
    of: (id) => {
      const r = loaded.filter((x) => x.id === id);
      if (r.length === 0) throw new Error(`${preset.id}: no run '${id}'`);
      return r;
    },
  };
  const evaluated = preset.evaluate(results, presetOptions);
  const evaluation = { checks: evaluated.checks, details: [...(evaluated.details ?? [])] };
  const verdict = overall(evaluation.checks);
  const figures = o.figures === false ? [] : await writeFigures(preset, o, presetOptions, loaded);
  if (figures.length > 0) evaluation.details.push(`Figures: ${figures.map((f) => `\`${basename(f)}\``).join(', ')} in \`${join(o.out, 'figures')}\`.`);
  const verdictFile = join(o.out, 'verdict.md');
  writeAtomically(verdictFile, verdictMarkdown(preset, o, verdict, evaluation, loaded));
  writeAtomically(join(o.out, 'verdict.json'), `${JSON.stringify({ experiment: preset.id, title: preset.title, verdict, quick: o.quick, seeds: o.seeds, checks: evaluation.checks }, null, 2)}\n`);
  return { verdict, checks: evaluation.checks, verdictFile, executed: jobs.filter((j) => !j.found).map((j) => j.key), skipped: jobs.filter((j) => j.found).map((j) => j.key) };
}
