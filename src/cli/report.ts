/** `dbo report DIR [--out FILE.html]`: a self-contained HTML report of a run, sweep or reproduction directory. */
import type { Command } from 'commander';

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('write a self-contained report.html (figures, final metrics, topology, configs, verdict) for a run, sweep or reproduction')
    .argument('<dir>', 'run directory, sweep directory, or a directory of runs')
    .option('--out <file>', 'output file (default DIR/report.html)')
    .option('--force', 'replace an existing file not written by dbo report')
    .action(async (dir: string, opts: { out?: string; force?: boolean }) => {
      const { writeReport } = await import('../report/report.ts');
      const file = await writeReport(dir, { ...(opts.out ? { out: opts.out } : {}), force: opts.force ?? false });
      console.log(`report: ${file}`);
    });
}
