/**
 * A reproduction preset: one experiment of the five source papers (see
 * docs/reproductions.md and docs/papers.md for SEED-000 … SEED-004) as a set
 * of runs, an estimated cost, the acceptance criterion and a verdict function
 * that reads the measured rows and says PASS, FAIL or NOT COMPARABLE, with
 * the numbers and the reason.
 */
import type { MetricsRow } from '../runner.ts';

export type Verdict = 'PASS' | 'FAIL' | 'NOT COMPARABLE';

export interface PresetOptions {
  /** The small version of the experiment (minutes, for first-time users and tests). */
  readonly quick: boolean;
  /** Folder holding the LIBSVM files (a9a, a9a.t, ijcnn1, covtype.libsvm.binary.bz2). */
  readonly libsvmDir: string;
  /** Iterations per run, overriding the preset's (e.g. `dbo reproduce l-pdbo-table1 --iterations N`). */
  readonly iterations?: number;
  /** α = β of every run, overriding the paper's (presets with `takesStep` only; `dbo reproduce e1-2 --step 0.1`). */
  readonly step?: number;
  /** Only the runs on this data set (presets with `dataSets` only; `dbo reproduce e1-2 --data mnist`). */
  readonly data?: string;
}

/** One run of a preset: a config (without `seed`, which the driver sets per seed). */
export interface ConfigRun {
  readonly id: string;
  readonly config: Record<string, unknown>;
}

/** A computation that is not an optimization run (e.g. a Monte Carlo study); its JSON result is stored. */
export interface TaskRun {
  readonly id: string;
  compute(seed: number): unknown;
}

export type PresetRun = ConfigRun | TaskRun;

export function isTask(run: PresetRun): run is TaskRun {
  return 'compute' in run;
}

/** The measured results of one run and seed. */
export interface RunResult {
  readonly id: string;
  readonly seed: number;
  readonly dir: string;
  readonly status: 'completed' | 'diverged';
  readonly message?: string;
  readonly rows: MetricsRow[];
  /** Task runs: the stored result. */
  readonly result?: unknown;
  /** config.resolved.json of config runs. */
  readonly config?: Record<string, unknown>;
  /** The problem's dimensions (summary.json of config runs). */
  readonly dims?: { dx: number; dy: number; agents: number };
  /** topology.json of config runs (ρ, λ of the sampled graph). */
  readonly topology?: { rho: number; lambda: number; edges: unknown[] };
}

export interface Results {
  readonly seeds: number[];
  readonly quick: boolean;
  /** Every seed's result of run `id` (in seed order). */
  of(id: string): RunResult[];
}

/** One acceptance criterion checked against the measurements. */
export interface Check {
  readonly criterion: string;
  readonly verdict: Verdict;
  /** The measured numbers behind the verdict. */
  readonly measured: string;
  readonly reason?: string;
}

export interface Evaluation {
  readonly checks: Check[];
  /** Markdown tables or notes placed before the checks. */
  readonly details?: string[];
}

/** A figure: one y column against one x column, one curve per run (mean over seeds, min–max band). */
export interface FigureSpec {
  readonly file: string;
  readonly title: string;
  readonly x: string;
  readonly y: string;
  readonly runs: string[];
  readonly logY?: boolean;
}

export interface Preset {
  /** Experiment ID, e.g. 'e0-1' (SEED-000 Fig. 1). */
  readonly id: string;
  readonly aliases?: readonly string[];
  readonly paper: 'SEED-000' | 'SEED-001' | 'SEED-002' | 'SEED-003' | 'SEED-004';
  readonly title: string;
  /** The paper's claim, in one or two sentences. */
  readonly claim: string;
  /** Estimated wall-clock cost on 2 cores, one seed: the full and the quick version. */
  readonly cost: { readonly full: string; readonly quick: string };
  /** The acceptance criterion, item by item. */
  readonly acceptance: readonly string[];
  /** The setting and the choices the paper leaves open, as stated in verdict.md. */
  readonly setting: readonly string[];
  /** Problem types the runs need (a clear error names a missing one). */
  readonly problems?: readonly string[];
  /** Data files the runs need, relative to the LIBSVM folder. */
  readonly libsvmFiles?: readonly string[];
  /** Whether `--step` (one α = β for every run) applies; the setting then states the override. */
  readonly takesStep?: boolean;
  /** The data sets of a preset that runs on several: `--data` picks one of them (runs, checks and figures). */
  readonly dataSets?: readonly string[];
  /** Another preset whose runs are identical: its complete runs are reused. */
  readonly sharesRunsWith?: string;
  runs(options: PresetOptions): PresetRun[];
  evaluate(results: Results, options: PresetOptions): Evaluation;
  figures?(options: PresetOptions): FigureSpec[];
}

/** FAIL beats NOT COMPARABLE beats PASS. */
export function overall(checks: ReadonlyArray<Check>): Verdict {
  if (checks.some((c) => c.verdict === 'FAIL')) return 'FAIL';
  if (checks.length === 0 || checks.some((c) => c.verdict === 'NOT COMPARABLE')) return 'NOT COMPARABLE';
  return 'PASS';
}

export function check(criterion: string, ok: boolean, measured: string, reason?: string): Check {
  return { criterion, verdict: ok ? 'PASS' : 'FAIL', measured, ...(reason && !ok ? { reason } : {}) };
}

export function notComparable(criterion: string, measured: string, reason: string): Check {
  return { criterion, verdict: 'NOT COMPARABLE', measured, reason };
}
