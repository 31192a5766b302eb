/**
 * `dbo resume DIR`: continues a run that was stopped (Ctrl-C, SIGTERM) or
 * killed, from its last checkpoint, on the transport it was started with
 * (`--transport`, `--threads`, `--psk` override it: every transport gives the
 * same rows). Also the end-of-run report shared with `dbo run`.
 */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import type { LaunchInfo } from '../experiments/checkpoint.ts';
import type { StoredRun } from '../experiments/run-to-directory.ts';
import { ConfigError } from '../errors.ts';
import { summaryLines } from './format.ts';
import { exitCodeFor, type SignalStop } from './interrupt.ts';
import { runtimeFor, transportParser, type Transport } from './transport.ts';

/** How `dbo run` records its launch options in checkpoints. */
export function launchInfo(transport: Transport, threads: number | undefined, psk: string | undefined): LaunchInfo {
  return { transport, ...(threads !== undefined ? { threads } : {}), ...(psk !== undefined ? { psk: resolve(psk) } : {}) };
}

/** Prints the end of a run (summary, where it is, why it stopped) and returns the exit status. */
export function reportStoredRun(result: StoredRun, stop: SignalStop): number {
  const last = result.rows.at(-1);
  if (last) console.log(summaryLines(last, result.timing));
  console.log(`results in ${result.dir}`);
  if (result.status === 'diverged') {
    console.error(`dbo: ${result.message}`);
    return 3;
  }
  if (result.status === 'interrupted') {
    console.error(`dbo: stopped at iteration ${result.iteration}; resume with: dbo resume ${result.dir}`);
    return exitCodeFor(stop.signal());
  }
  return 0;
}

function positiveInteger(option: string): (value: string) => number {
  return (value) => {
    const v = Number(value);
    if (value.trim() === '' || !Number.isInteger(v) || v < 1) throw new ConfigError(option, `expected a positive integer, got '${value}'`);
    return v;
  };
}

export function registerResume(program: Command, setExitCode: (code: number) => void): void {
  program
    .command('resume')
    .description('continue a run that was stopped (Ctrl-C, SIGTERM) or killed, from its last checkpoint')
    .argument('<dir>', 'the run directory (as given to dbo run --out; its .partial folder is found too)')
    .option('--quiet', 'no progress bar')
    .option('--checkpoint-every <n>', 'checkpoint interval from now on (default: the run\'s)', positiveInteger('--checkpoint-every'))
    .option('--transport <name>', "continue on another transport: 'simulator' or 'libp2p' (default: the run's)", transportParser)
    .option('--threads <n>', 'worker threads (default: the run\'s, else the number of cores)', positiveInteger('--threads'))
    .option('--psk <file>', 'libp2p: pre-shared key file (default: the run\'s)')
    .action(async (dir: string, opts: { quiet?: boolean; checkpointEvery?: number; transport?: Transport; threads?: number; psk?: string }) => {
      const { resumeRun } = await import('../experiments/run-to-directory.ts');
      const { defaultThreads, workerRuntimeFactory } = await import('../runtime/worker.ts');
      const { progressReporter } = await import('./progress.ts');
      const { stopOnSignals } = await import('./interrupt.ts');
      let progress: ReturnType<typeof progressReporter> | undefined;
      const stop = stopOnSignals();
      try {
        const result = await resumeRun(dir, {
          ...(opts.checkpointEvery !== undefined ? { checkpointEvery: opts.checkpointEvery } : {}),
          stopRequested: stop.requested,
          progress: (i, total, row) => progress?.update(i, total, row),
          onStart: ({ dir: at, iteration, config, launch }) => {
            console.log(`resuming ${at} at iteration ${iteration} of ${config.iterations} (${opts.transport ?? launch.transport})`);
            if (!opts.quiet) progress = progressReporter(config.iterations);
          },
          runtime: (launch) => {
            const transport = opts.transport ?? launch.transport;
            if (transport === 'libp2p' && opts.threads !== undefined) throw new ConfigError('--threads', 'applies to --transport simulator only');
            const psk = opts.psk ?? (transport === 'libp2p' ? launch.psk : undefined);
            const threads = opts.threads ?? (opts.transport === undefined ? launch.threads : undefined);
            return runtimeFor(transport, psk) ?? workerRuntimeFactory(threads ?? defaultThreads()) ?? undefined;
          },
        });
        progress?.stop();
        setExitCode(reportStoredRun(result, stop));
      } finally {
        progress?.stop();
        stop.dispose();
      }
    });
}
