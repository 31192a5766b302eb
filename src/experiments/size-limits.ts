/**
 * Refuses runs whose size is beyond reason before anything is loaded or
 * written: more than MAX_METRICS_ROWS metrics rows, a trace larger than the
 * free disk, or data/state whose memory estimate exceeds the machine's
 * memory. Setting DBO_NO_SIZE_LIMITS=1 skips these checks.
 */
import { statfsSync } from 'node:fs';
import { totalmem } from 'node:os';
import { dirname, resolve } from 'node:path';
import { ConfigError } from '../errors.ts';
import type { RunConfig } from './config.ts';

export const MAX_METRICS_ROWS = 10_000_000;
/** Bytes one number takes in trace.jsonl (digits, sign, exponent, comma). */
const TRACE_BYTES_PER_NUMBER = 22;
const OVERRIDE = 'set DBO_NO_SIZE_LIMITS=1 to run anyway';

const limitsOff = (): boolean => process.env.DBO_NO_SIZE_LIMITS === '1';
const fmt = (n: number): string => (n >= 1e6 ? n.toExponential(2) : String(Math.round(n)));
const gib = (bytes: number): string => `${(bytes / 2 ** 30).toFixed(1)} GiB`;

/** Metrics rows a run writes: iteration 0, every evalEvery-th, and the last. */
export function metricsRows(config: Pick<RunConfig, 'iterations' | 'evalEvery'>): number {
  return Math.floor(config.iterations / config.evalEvery) + 1 + (config.iterations % config.evalEvery === 0 ? 0 : 1);
}

/** Bytes of Float64 data all agents hold, from the config's data sizes (0 where sizes come from files). */
export function dataBytesEstimate(config: RunConfig): number {
  const p = config.problem;
  const m = config.topology.agents;
  if (p.type === 'logreg-hpo' && p.data.source === 'seed000-synthetic') return m * (p.data.trainPerAgent + p.data.valPerAgent + p.data.testPerAgent) * (p.data.features + 1) * 8;
  if (p.type === 'binary-logreg-hpo') return m * (p.data.trainPerAgent + p.data.valPerAgent) * 785 * 8;
  if (p.type === 'mlp-meta') return m * p.data.perAgent * (p.data.source === 'mnist' ? 785 : 3073) * 8;
  if (p.type === 'hyper-cleaning') return m * (p.data.trainPerAgent + p.data.valPerAgent) * 785 * 8;
  return 0;
}

/** Checks that need only the config: metrics rows and data memory. */
export function checkConfigSize(config: RunConfig): void {
  if (limitsOff()) return;
  const rows = metricsRows(config);
  if (rows > MAX_METRICS_ROWS)
    throw new ConfigError('iterations', `${fmt(config.iterations)} iterations with evalEvery ${config.evalEvery} would write ${fmt(rows)} metrics rows (iterations / evalEvery + 1), more than ${fmt(MAX_METRICS_ROWS)}; lower iterations or raise evalEvery, or ${OVERRIDE}`);
  const data = dataBytesEstimate(config);
  if (data > totalmem())
    throw new ConfigError('problem.data', `the data of ${config.topology.agents} agents would take about ${gib(data)} (${gib(data / config.topology.agents)} per agent), more than this machine's ${gib(totalmem())} of memory; lower the per-agent sample counts or agents, or ${OVERRIDE}`);
}

/** Checks that need the problem's dimensions: iterate memory and trace bytes on the disk holding `dir`. */
export function checkRunSize(config: RunConfig, dims: { dx: number; dy: number }, dir: string): void {
  if (limitsOff()) return;
  const m = config.topology.agents;
  // Each agent keeps a handful of copies of x, y, z (iterates, gradients, trackers, neighbours' messages).
  const state = m * (dims.dx + 2 * dims.dy) * 8 * 16;
  if (state > totalmem())
    throw new ConfigError('problem', `${m} agents with d_x = ${dims.dx}, d_y = ${dims.dy} would need about ${gib(state)} for their iterates (${gib(state / m)} per agent), more than this machine's ${gib(totalmem())} of memory; ${OVERRIDE}`);
  if (!config.output.trace) return;
  const bytes = (config.iterations + 1) * m * (dims.dx + 2 * dims.dy) * TRACE_BYTES_PER_NUMBER;
  const free = freeDiskBytes(dir);
  if (free !== null && bytes > free)
    throw new ConfigError('output.trace', `trace.jsonl for ${fmt(config.iterations)} iterations would take about ${gib(bytes)}, more than the ${gib(free)} free on the disk; lower iterations or turn the trace off, or ${OVERRIDE}`);
}

/** Free bytes on the disk holding `dir` (its nearest existing ancestor), or null when unknown. */
function freeDiskBytes(dir: string): number | null {
  let at = resolve(dir);
  for (;;) {
    try {
      const s = statfsSync(at);
      return s.bavail * s.bsize;
    } catch {
      const up = dirname(at);
      if (up === at) return null;
      at = up;
    }
  }
}
