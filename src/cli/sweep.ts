/** `dbo sweep SWEEP.yaml [--out DIR] [--jobs N] [--quiet]`: run (or resume) a sweep; see src/experiments/sweep.ts. */
import { existsSync, readFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import type { Command } from 'commander';
import { ConfigError, DboError } from '../errors.ts';
import type { SweepEvent } from '../experiments/sweep.ts';
import { megabytes, sci, table } from './format.ts';
import { progressReporter, type ProgressReporter } from './progress.ts';
import { serveOption, serveSweep, stayOption, type ServeOptions } from './serve.ts';

function jobsOption(value: string): number {
  const v = Number(value);
  if (!Number.isInteger(v) || v < 1) throw new ConfigError('--jobs', `expected a positive integer, got '${value}'`);
  return v;
}

/** Default sweep directory: runs/<name in the file, or the file's base name>, so that rerunning resumes it. */
export function defaultSweepDir(file: string, name?: string): string {
  return join('runs', name ?? basename(file, extname(file)));
}

interface SweepCliOptions extends ServeOptions {
  out?: string;
  jobs: number;
  quiet?: boolean;
}

export function registerSweep(program: Command): void {
  program
    .command('sweep')
    .description('expand a base config over lists of values and run every case (resumable)')
    .argument('<sweep>', 'sweep file (.yaml or .json): base, vary, optional cases and name')
    .option('--out <dir>', 'sweep directory (default runs/<name>); rerunning with the same one runs only missing cases')
    .option('--jobs <n>', 'cases run in parallel, each in its own process', jobsOption, 2)
    .option('--quiet', 'no progress output')
    .addOption(serveOption())
    .addOption(stayOption())
    .action(async (file: string, opts: SweepCliOptions) => {
      const { loadSweepSpec, expandSweep, runSweep } = await import('../experiments/sweep.ts');
      const spec = loadSweepSpec(file);
      const cases = expandSweep(spec, file);
      const dir = opts.out ?? defaultSweepDir(file, spec.name);
      const total = cases.reduce((s, c) => s + c.config.iterations, 0);
      const progressOf = new Map<string, number>();
      let progress: ProgressReporter | undefined;
      let skippedIterations = 0;
      const live = await serveSweep(opts, spec.name ?? basename(file, extname(file)), dir, cases);
      const onEvent = (e: SweepEvent) => {
        live?.onEvent(e);
        if (e.type === 'skip') skippedIterations += e.case.config.iterations;
        else if (e.type === 'start') {
          progress ??= opts.quiet ? undefined : progressReporter(total - skippedIterations, 'sweep ');
          progress?.log(`started ${e.case.id}`);
        } else if (e.type === 'progress') {
          progressOf.set(e.case.id, e.iteration);
          let sum = 0;
          for (const v of progressOf.values()) sum += v;
          progress?.update(sum, total - skippedIterations, null);
        } else if (e.type === 'done') {
          progressOf.set(e.case.id, e.case.config.iterations);
          progress?.log(`${e.status} ${e.case.id}${e.message ? `: ${e.message}` : ''}`);
        }
      };
      const result = await runSweep(spec, dir, { jobs: opts.jobs, onEvent }).catch(async (e: unknown) => {
        await live?.close();
        throw e;
      });
      progress?.stop();
      const rows = result.index.cases.map((c) => {
        const summaryFile = join(dir, c.dir, 'summary.json');
        const final = existsSync(summaryFile) ? ((JSON.parse(readFileSync(summaryFile, 'utf8')) as { final?: Record<string, number> }).final ?? {}) : {};
        return [c.id, c.status, String(final.iteration ?? '—'), sci(final.hypergradNormSq), final.testAccuracy !== undefined ? final.testAccuracy.toFixed(4) : '—', final.bytes !== undefined ? megabytes(final.bytes) : '—'];
      });
      console.log(table(['case', 'status', 'iter', '‖∇Φ(x̄)‖²', 'test acc', 'MB sent'], rows));
      console.log(`ran ${result.ran.length} case(s), skipped ${result.skipped.length} already complete; index ${join(dir, 'sweep.json')}`);
      await live?.end(opts.stay ?? false);
      const failed = result.index.cases.filter((c) => c.status === 'failed');
      if (failed.length > 0) throw new DboError(`${failed.length} of ${result.index.cases.length} case(s) failed (rerun to retry them): ${failed[0]!.id}: ${failed[0]!.message ?? ''}`);
    });
}
