/**
 * `dbo reproduce --list` and `dbo reproduce ID [--seeds N] [--quick] [--out DIR]`:
 * the 15 experiments of the five source papers as presets (see
 * src/experiments/reproduce/registry.ts and docs/reproductions.md).
 */
import type { Command } from 'commander';
import { ConfigError } from '../errors.ts';
// The preset registry, the driver (and through it the runner) and the
// progress bars are imported inside the action, so that `dbo --help` and the
// other commands do not load them (start-up time).

function positiveInteger(option: string): (value: string) => number {
  return (value) => {
    const v = Number(value);
    if (value.trim() === '' || !Number.isInteger(v) || v < 1) throw new ConfigError(option, `expected a positive integer, got '${value}'`);
    return v;
  };
}

function positiveNumber(option: string): (value: string) => number {
  return (value) => {
    const v = Number(value);
    if (value.trim() === '' || !Number.isFinite(v) || v <= 0) throw new ConfigError(option, `expected a positive number, got '${value}'`);
    return v;
  };
}

/** The `--list` text: one block per experiment with its estimated cost. */
export async function listPresets(): Promise<string> {
  const { PRESETS } = await import('../experiments/reproduce/registry.ts');
  const { missingProblems } = await import('../experiments/reproduce/driver.ts');
  const lines = ['The 15 experiments of the five source papers (estimated wall-clock cost on 2 cores, one seed):', ''];
  for (const p of PRESETS) {
    const missing = missingProblems(p);
    lines.push(`${p.id.padEnd(5)} ${p.title}`);
    lines.push(`      cost: ${p.cost.full}; --quick: ${p.cost.quick}`);
    if (missing.length > 0) lines.push(`      not runnable in this build: needs the ${missing.join(', ')} problem`);
  }
  lines.push('', 'Run one with: dbo reproduce ID [--seeds 3] [--quick] [--out DIR] [--iterations N] [--step A] [--data SOURCE]; aliases: l-pdbo-table1 = e2-3, estimator-variance = e3-1.');
  return lines.join('\n');
}

export function registerReproduce(program: Command): void {
  program
    .command('reproduce')
    .description('reproduce a paper experiment (a preset): its runs, then verdict.md with the acceptance criterion, the measured numbers and PASS / FAIL / NOT COMPARABLE')
    .argument('[experiment]', 'experiment ID (e0-1 … e4-2) or alias; see --list')
    .option('--list', 'list the 15 experiments with their estimated cost')
    .option('--seeds <n>', 'seeds 1..n per run', positiveInteger('--seeds'), 1)
    .option('--quick', 'a small version of the experiment (minutes)')
    .option('--out <dir>', 'output folder (default runs/reproduce/<id>, or <id>-quick); a rerun resumes, skipping complete runs')
    .option('--libsvm-dir <dir>', 'folder holding the LIBSVM files a9a, a9a.t, ijcnn1, covtype.libsvm.binary.bz2 (default $DBO_LIBSVM_DIR or data/libsvm)')
    .option('--iterations <n>', 'iterations per run, overriding the preset (changes the experiment; stated in verdict.md)', positiveInteger('--iterations'))
    .option('--step <a>', 'α = β of every run instead of the paper\'s 0.5 (e1-2, e1-3, e1-4 only; stated in verdict.md)', positiveNumber('--step'))
    .option('--data <source>', 'only the runs on this data set (e1-2, e1-3, e3-2, e3-3: mnist or cifar10-synthetic; stated in verdict.md)')
    .option('--quiet', 'no progress bars')
    .action(async (experiment: string | undefined, opts: { list?: boolean; seeds: number; quick?: boolean; out?: string; libsvmDir?: string; iterations?: number; step?: number; data?: string; quiet?: boolean }) => {
      if (opts.list || experiment === undefined) {
        if (!opts.list) throw new ConfigError('experiment', 'expected an experiment ID or --list');
        console.log(await listPresets());
        return;
      }
      const { findPreset } = await import('../experiments/reproduce/registry.ts');
      const { defaultOutDir, reproduce } = await import('../experiments/reproduce/driver.ts');
      const { progressReporter } = await import('./progress.ts');
      const preset = findPreset(experiment);
      const quick = opts.quick ?? false;
      const out = opts.out ?? defaultOutDir(preset, quick);
      console.log(`${preset.id}: ${preset.title}${quick ? ' (quick)' : ''} → ${out}`);
      const outcome = await reproduce(preset, {
        out,
        seeds: opts.seeds,
        quick,
        libsvmDir: opts.libsvmDir ?? process.env.DBO_LIBSVM_DIR ?? 'data/libsvm',
        ...(opts.iterations !== undefined ? { iterations: opts.iterations } : {}),
        ...(opts.step !== undefined ? { step: opts.step } : {}),
        ...(opts.data !== undefined ? { data: opts.data } : {}),
        log: (line) => console.log(line),
        ...(opts.quiet ? {} : { progress: (label: string, total: number) => progressReporter(total, label) }),
      });
      console.log('');
      for (const c of outcome.checks) console.log(`${c.verdict.padEnd(14)} ${c.criterion}\n${' '.repeat(15)}${c.measured}${c.reason ? `\n${' '.repeat(15)}reason: ${c.reason}` : ''}`);
      console.log(`\nverdict: ${outcome.verdict} (${outcome.executed.length} run(s) computed, ${outcome.skipped.length} found complete); ${outcome.verdictFile}`);
    });
}
