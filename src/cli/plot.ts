/** `dbo plot RUN_DIR... [--x COL] [--y COL,COL] [--log-y] [--out FILE.svg|.png]`. */
import { join } from 'node:path';
import type { Command } from 'commander';
import { ConfigError } from '../errors.ts';

function pixels(option: string): (value: string) => number {
  return (value) => {
    const v = Number(value);
    if (!Number.isInteger(v) || v < 16 || v > 20000) throw new ConfigError(option, `expected a size in pixels (16–20000), got '${value}'`);
    return v;
  };
}

interface PlotCliOptions {
  x: string;
  y?: string;
  logY?: boolean;
  out?: string;
  width?: number;
  title?: string;
  force?: boolean;
}

export function registerPlot(program: Command): void {
  program
    .command('plot')
    .description('plot metrics.jsonl columns of runs or sweeps: one curve per setting, seeds as mean and min–max band')
    .argument('<dirs...>', 'run directories, sweep directories, or directories of runs')
    .option('--x <column>', 'x column: iteration, rounds, bytes (shown in MB), gradF, hvp, ...Samples, elapsedMs, ...', 'iteration')
    .option('--y <columns>', 'y columns, comma-separated (one panel each; default hypergradNormSq)')
    .option('--log-y', 'log-scale y axis (default: log when the values span two decades or more)')
    .option('--no-log-y', 'linear y axis')
    .option('--out <file>', 'output image, .svg or .png (default plot.svg in the directory, or here for several)')
    .option('--width <px>', 'PNG width in pixels (default twice the chart width)', pixels('--width'))
    .option('--title <text>', 'chart title')
    .option('--force', 'replace an existing output file not written by dbo plot')
    .action(async (dirs: string[], opts: PlotCliOptions) => {
      const { collectRuns } = await import('../report/run-data.ts');
      const { writePlot } = await import('../report/plot.ts');
      const collected = dirs.map((d) => collectRuns(d));
      const runs = collected.flatMap((c) => c.runs);
      const out = opts.out ?? (dirs.length === 1 ? join(dirs[0]!, 'plot.svg') : 'plot.svg');
      const y = opts.y
        ?.split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const result = await writePlot(runs, out, {
        x: opts.x,
        ...(y ? { y } : {}),
        ...(opts.logY !== undefined ? { logY: opts.logY } : {}),
        ...(opts.width ? { pngWidth: opts.width } : {}),
        ...(opts.title ? { title: opts.title } : {}),
        force: opts.force ?? false,
      });
      for (const c of collected) if (c.missing.length > 0) console.log(`${c.dir}: ${c.missing.length} case(s) not complete yet, not plotted: ${c.missing.join(', ')}`);
      for (const n of result.notes) console.log(`note: ${n}`);
      const curves = result.groups.map((g) => (g.runs.length > 1 ? `${g.label} (mean of ${g.runs.length})` : g.label));
      console.log(`${curves.length} curve(s): ${curves.join('; ')}`);
      console.log(`wrote ${result.files.join(' and ')}${result.size ? ` (${result.size.width}×${result.size.height} px)` : ''}`);
    });
}
