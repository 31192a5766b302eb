/**
 * `dbo demo`: the embedded default job. D-SOBA (SEED-004 Algorithm 1) on the
 * SEED-000 synthetic hyperparameter-optimization problem (8 workers, d = 200,
 * Gaussian and χ² workers), run over the paper's path graph and over the
 * complete graph, then a short comparison. Needs no download.
 *
 * Features are standardized with the pooled training statistics (a choice of
 * the demo, not of the paper): with raw χ²(k) features the lower level is so
 * ill-conditioned that step sizes small enough to be stable barely move in a
 * demo's 300 iterations. Step sizes were picked by a short manual scan.
 */
import { join } from 'node:path';
import { resolveConfig, type RunConfig } from '../experiments/config.ts';
import { RunDirectory } from '../experiments/run-directory.ts';
import { runToDirectory, type StoredRun } from '../experiments/run-to-directory.ts';
import { megabytes, sci, table } from './format.ts';
import { progressReporter } from './progress.ts';

export const DEMO_TOPOLOGIES = ['path', 'complete'] as const;

export function demoConfig(topology: (typeof DEMO_TOPOLOGIES)[number], iterations = 300): RunConfig {
  return resolveConfig({
    name: `demo-d-soba-${topology}`,
    seed: 1,
    iterations,
    evalEvery: Math.max(1, Math.floor(iterations / 5)),
    problem: {
      type: 'logreg-hpo',
      data: { source: 'seed000-synthetic', trainPerAgent: 6250, valPerAgent: 6250, testPerAgent: 1000, features: 200 },
      standardize: true,
      batch: 100,
    },
    topology: { type: topology, agents: 8, mixing: 'metropolis' },
    algorithm: { name: 'd-soba', alpha: 10, beta: 0.05, gamma: 0.01, theta: 0.5 },
    output: { trace: false, bytesPerFloat: 4 },
  });
}

/**
 * Runs the demo into `dir/path` and `dir/complete`. With `force`, previous
 * demo runs there are replaced (only dbo run directories, never other
 * files); a `.partial` left by an interrupted demo is cleared on the next one.
 */
export async function runDemo(options: { dir: string; quiet: boolean; force?: boolean; iterations?: number }): Promise<StoredRun[]> {
  for (const topology of DEMO_TOPOLOGIES) RunDirectory.check(join(options.dir, topology), options.force ?? false);
  const runs: StoredRun[] = [];
  for (const topology of DEMO_TOPOLOGIES) {
    const config = demoConfig(topology, options.iterations);
    const progress = options.quiet ? undefined : progressReporter(config.iterations, `${topology.padEnd(8)} `);
    if (!progress && !options.quiet) console.log(`running D-SOBA over the ${topology} graph (${config.iterations} iterations)...`);
    const run = await runToDirectory(config, join(options.dir, topology), { force: options.force ?? false, ...(progress ? { progress: progress.update } : {}) });
    progress?.stop();
    runs.push(run);
  }
  console.log('\nD-SOBA on the SEED-000 synthetic hyperparameter problem (8 agents, d = 200, batch 100)\n');
  const rows = runs.map((run, i) => {
    const last = run.rows.at(-1)!;
    return [DEMO_TOPOLOGIES[i]!, run.status, String(last.iteration), sci(last.hypergradNormSq), sci(last.consensusX), sci(last.lowerError), last.lowerLoss.toFixed(4), last.testAccuracy?.toFixed(4) ?? '—', megabytes(last.bytes)];
  });
  console.log(table(['topology', 'status', 'iter', '‖∇Φ(x̄)‖²', 'consensus x', '‖ȳ−y*‖²', 'train loss', 'test acc', 'MB sent'], rows));
  console.log(`\nrun directories: ${runs.map((r) => r.dir).join(', ')}`);
  const { writeReport } = await import('../report/report.ts');
  console.log(`report: ${await writeReport(options.dir)}`);
  return runs;
}
