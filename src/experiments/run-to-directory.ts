/** Runs a config and stores it as a run directory (see RunDirectory). */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataRecordJson } from '../data/record.ts';
import { topologyJson } from '../graph/index.ts';
import type { RunConfig } from './config.ts';
import { runProvenance } from './provenance.ts';
import { RunDirectory } from './run-directory.ts';
import { checkConfigSize, checkRunSize } from './size-limits.ts';
import { execute, prepareRun, type MetricsRow, type PreparedRun, type RunOutcome, type RunSinks, type RuntimeFactory } from './runner.ts';

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
  /** Watches the run as it goes (the live view): the prepared run, each row, the agents at each evaluation. */
  readonly observe?: { prepared?(run: PreparedRun): void } & Pick<RunSinks, 'row' | 'agents'>;
}

/**
 * Validates and prepares everything (data loaded, topology checked) before
 * the directory is created; then streams rows to disk. A run that diverges
 * keeps its rows and says so in summary.json; any other failure removes the
 * partial directory.
 */
export async function runToDirectory(config: RunConfig, dir: string, options: RunToDirectoryOptions = {}): Promise<StoredRun> {
  checkConfigSize(config);
  const prepared = prepareRun(config);
  checkRunSize(config, prepared.problem, dir);
  const provenance = runProvenance(config, prepared.problem.data);
  const rd = options.unique ? RunDirectory.createUnique(dir) : RunDirectory.create(dir, options.force ?? false);
  try {
    rd.writeJson('config.resolved.json', config);
    rd.writeJson('topology.json', topologyJson(prepared.topology));
    // What every agent holds (data.json; see src/data/record.ts).
    if (prepared.problem.data) writeFileSync(join(rd.partial, 'data.json'), dataRecordJson(prepared.problem.data));
    options.observe?.prepared?.(prepared);
    const started = new Date().toISOString();
    const sinks: RunSinks = {
      row: (row: MetricsRow) => {
        rd.appendLine('metrics.jsonl', row);
        options.observe?.row?.(row);
      },
      ...(options.observe?.agents ? { agents: options.observe.agents } : {}),
      // View changes on real transports (docs/faults.md).
      event: (e) => rd.appendLine('events.jsonl', e),
      ...(config.output.trace ? { trace: (row) => rd.appendLine('trace.jsonl', row) } : {}),
      ...(options.progress ? { progress: options.progress } : {}),
    };
    const outcome = await execute(prepared, sinks, options.runtime);
    rd.writeJson('summary.json', {
      status: outcome.status,
      ...(outcome.message ? { message: outcome.message } : {}),
      ...(outcome.divergence ? { divergence: outcome.divergence } : {}),
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
    });
    rd.finish(options.force ?? false);
    return { ...outcome, dir: rd.dir };
  } catch (e) {
    rd.discard();
    throw e;
  }
}
