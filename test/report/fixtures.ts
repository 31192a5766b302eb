/** Test fixtures for plots, sweeps and reports: tiny real runs, and the one-line error check of main()'s output. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { resolveConfig, type RunConfig } from '../../src/experiments/config.ts';
import { runToDirectory } from '../../src/experiments/run-to-directory.ts';
import { writeQuadratic } from '../helpers.ts';

/** A noisy 5-agent quadratic instance in `dir`, and a tiny config over it. */
export function tinyConfig(instance: string, overrides: Record<string, unknown> = {}): RunConfig {
  return resolveConfig({
    seed: 1,
    iterations: 60,
    evalEvery: 5,
    problem: { type: 'quadratic', file: instance, noise: 0.2 },
    topology: { type: 'ring', agents: 5 },
    algorithm: { name: 'd-soba', alpha: 0.2 },
    ...overrides,
  });
}

export function tinyInstance(dir: string): string {
  return writeQuadratic(dir, { agents: 5, dx: 3, dy: 4, problemClass: 'global', heterogeneity: 0.5, noise: 0.2 }, 31);
}

/** Runs `config` into `dir/name` and returns the run directory. */
export async function tinyRun(dir: string, name: string, config: RunConfig): Promise<string> {
  const out = join(dir, name);
  await runToDirectory(config, out);
  return out;
}

export { runMain, type CliResult } from '../cli-run.ts';
import type { CliResult } from '../cli-run.ts';

/** Exit 2 and exactly one stderr line `dbo: error: …` matching `message`. */
export function assertOneLineError(r: CliResult, message: RegExp, label: string): void {
  assert.equal(r.code, 2, `${label}: exit code 2 (stderr: ${r.stderr})`);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `${label}: exactly one stderr line, got:\n${r.stderr}`);
  assert.ok(lines[0]!.startsWith('dbo: error: '), `${label}: ${lines[0]}`);
  assert.match(lines[0]!, message, label);
}
