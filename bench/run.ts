/**
 * `npm run bench`: every speed goal of dbo measured side by side with a
 * hand-written NumPy implementation of the same work (bench/numpy_side.py),
 * in one run, with the ratio and the goal printed per line.
 *
 * The machine may be shared and noisy, so the two sides are interleaved
 * (one dbo sample, one NumPy sample, per case and round) and medians are
 * reported. NumPy runs single-threaded (OPENBLAS_NUM_THREADS=1) with
 * OpenBLAS's own choice of kernel for this processor; without python3 and
 * NumPy only dbo's figures are printed, with a note.
 *
 * Clock: by default both sides measure the CPU time of their own process
 * (process.cpuUsage, time.process_time), which on an idle machine equals the
 * wall time of these single-threaded workloads and on a loaded one leaves
 * out the time spent waiting for a core; `--clock wall` measures wall time.
 *
 * After the table: topology set-up at m = 10,000 (bench/topology.ts) and the
 * whole-run "1,000 agents" case (bench/dsoba-agents.ts), each with its ratio.
 *
 * Usage: npm run bench [-- --rounds N] [--only SUBSTRING] [--quick] [--clock cpu|wall]
 *   [--agents-iterations N] [--agents-rounds N] [--libsvm-dir DIR] [--no-agents]
 * (--quick: 3 rounds, shorter iteration cases, and a 200-iteration agents run;
 * --only skips the topology and agents sections unless it names them:
 * `--only topology`, `--only agents`.)
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { resolveConfig } from '../src/experiments/config.ts';
import { execute, prepareRun, type PreparedRun } from '../src/experiments/runner.ts';
import { kernels, pinTable } from '../src/linalg/kernels.ts';
import { BatchSampler } from '../src/problems/batch.ts';
import { Rng } from '../src/random/rng.ts';
import { agentsCase } from './dsoba-agents.ts';
import { mlpCases } from './mlp.ts';
import { realMlpCases } from './mlp-real.ts';
import { topologyCase } from './topology.ts';

const argv = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const quick = argv.includes('--quick');
const rounds = Number(opt('--rounds') ?? (quick ? 3 : 7));
const only = opt('--only');
const clockName = opt('--clock') ?? 'cpu';
if (clockName !== 'cpu' && clockName !== 'wall') throw new Error(`--clock must be cpu or wall, got ${clockName}`);
/** Seconds on the chosen clock. */
const clock = (): number => {
  if (clockName === 'wall') return performance.now() / 1e3;
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

// ---------------------------------------------------------------- NumPy side

class NumpySide {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly pending: Array<(line: string | null) => void> = [];
  private dead: string | null = null;
  private stderr = '';

  constructor() {
    const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
    // Let OpenBLAS pick its kernel for this processor: a forced core type
    // (set on some machines as a workaround for old builds) slows a current NumPy.
    delete env.OPENBLAS_CORETYPE;
    delete env.OPENBLAS_L2_SIZE;
    this.proc = spawn('python3', [fileURLToPath(new URL('numpy_side.py', import.meta.url))], { env });
    this.proc.on('error', (e) => this.fail(e.message));
    this.proc.on('exit', (code) => this.fail(`python3 exited with code ${code}: ${this.stderr.trim().split('\n').at(-1) ?? ''}`));
    this.proc.stderr.on('data', (b: Buffer) => (this.stderr += b.toString()));
    createInterface({ input: this.proc.stdout }).on('line', (line) => this.pending.shift()?.(line));
  }

  private fail(why: string): void {
    this.dead ??= why;
    for (const p of this.pending.splice(0)) p(null);
  }

  get failure(): string | null {
    return this.dead;
  }

  async ask(cmd: Record<string, unknown>): Promise<Record<string, unknown> | null> {
    if (this.dead) return null;
    const line = await new Promise<string | null>((resolve) => {
      this.pending.push(resolve);
      this.proc.stdin.write(JSON.stringify(cmd) + '\n');
    });
    if (line === null) return null;
    const out = JSON.parse(line) as Record<string, unknown>;
    if (typeof out.error === 'string') throw new Error(`NumPy side, case ${String(cmd.case)}: ${out.error}`);
    return out;
  }

  close(): void {
    this.proc.stdin.end();
  }
}

// ---------------------------------------------------------------- cases

/** Sends one command to the NumPy side; null when NumPy is unavailable. */
export type Ask = (cmd: Record<string, unknown>) => Promise<Record<string, unknown> | null>;

/** One benchmark case: a dbo sample and the NumPy command of the same work. */
export interface Case {
  readonly goal: string;
  readonly name: string;
  /** 'gflops' cases report flops/second (higher is better); 'time' cases report seconds (lower is better). */
  readonly kind: 'gflops' | 'time';
  /** Flops of one call, for 'gflops' cases. */
  readonly flops?: number;
  /** Display unit of time cases. */
  readonly unit?: 'ms' | 'µs';
  /** The goal on the ratio: dbo/NumPy time ≤ target, or dbo/NumPy GFLOP/s ≥ target. */
  readonly target: number;
  /**
   * Runs once before timing, with the NumPy side: loads inputs there and
   * checks its results against dbo's. `valid: false` marks the case invalid
   * (its ratio is printed but the goal is not counted as met).
   */
  prepare?(ask: Ask): Promise<{ valid: boolean; note: string | null }>;
  /** Runs once before timing (JIT warm-up, tables made resident). */
  warm?(): Promise<void> | void;
  /** One timing sample: seconds per unit of work, plus anything to check. */
  dbo(): Promise<Sample> | Sample;
  readonly numpy: Record<string, unknown>;
  /** Checks dbo's sample against NumPy's answer (e.g. identical oracle-call counts); returns a note or null. */
  check?(dbo: Sample, numpy: Record<string, unknown>): string | null;
}

export interface Sample {
  readonly seconds: number;
  readonly callsPerAgentIteration?: Record<string, number>;
}

const HPO = { n: 6250, d: 200, c: 2, batch: 100 };

function kernelCases(): Case[] {
  const { n, d, c, batch } = HPO;
  const tables = 16;
  const rng = new Rng(1, 'bench', 'kernels');
  const data = Array.from({ length: tables }, () => Float64Array.from({ length: n * d }, () => rng.normal()));
  data.forEach(pinTable); // data tables, as the problems pin theirs
  const y = Float64Array.from({ length: d * c }, () => rng.normal());
  const r = Float64Array.from({ length: batch * c }, () => rng.normal());
  const rFull = Float64Array.from({ length: n * c }, () => rng.normal());
  const x = Float64Array.from({ length: d }, () => rng.normal());
  const out = new Float64Array(n * c);
  const outT = new Float64Array(d * c);
  const outV = new Float64Array(n);
  const scratch = new Float64Array(2 * d * c + 2 * c);
  const sampler = new BatchSampler(n, batch);
  const batches = Array.from({ length: 64 }, () => {
    const b = sampler.create();
    sampler.draw(b, rng);
    return b.indices;
  });
  let k = 0;
  const timed = (calls: number, f: (a: Float64Array, rows: Int32Array) => void): Sample => {
    const t0 = clock();
    for (let j = 0; j < calls; j++, k++) f(data[k % tables]!, batches[k % batches.length]!);
    return { seconds: (clock() - t0) / calls };
  };
  const goal = 'dense kernels ≥ 60 % of NumPy GFLOP/s';
  const np = (kind: string, calls: number) => ({ case: kind, n, d, c, batch, tables, calls });
  const gathered = 2 * batch * d * c;
  const full = 2 * n * d * c;
  const make = (name: string, kind: string, flops: number, calls: number, f: (a: Float64Array, rows: Int32Array) => void): Case => ({
    goal,
    name,
    kind: 'gflops',
    flops,
    target: 0.6,
    warm: () => void timed(tables * 4, f),
    dbo: () => timed(calls, f),
    numpy: { ...np(kind, calls), clock: clockName },
  });
  return [
    make(`gathered A[B]·Y (B=${batch} of ${n}×${d}, c=${c}, 16 tables)`, 'gather', gathered, 2000, (a, rows) => kernels().gatherGemm(out, a, d, rows, batch, y, c, scratch)),
    make(`gathered A[B]ᵀ·R (B=${batch} of ${n}×${d}, c=${c}, 16 tables)`, 'gatherT', gathered, 2000, (a, rows) => {
      outT.fill(0);
      kernels().gatherGemmTAcc(outT, a, d, rows, batch, r, c, 1, scratch);
    }),
    make(`full-batch A·Y (${n}×${d}, c=${c})`, 'fullBatch', full, 40, (a) => kernels().gatherGemm(out, a, d, null, n, y, c, scratch)),
    make(`full-batch Aᵀ·R (${n}×${d}, c=${c})`, 'fullT', full, 40, (a) => {
      outT.fill(0);
      kernels().gatherGemmTAcc(outT, a, d, null, n, rFull, c, 1, scratch);
    }),
    make(`matvec A·x (${n}×${d})`, 'matvec', 2 * n * d, 80, (a) => kernels().gemv(outV, a, n, d, x)),
  ];
}

/** D-SOBA / CD-BSVRGD on the SEED-000 synthetic HPO problem, m = 8 on a ring, batch 100. */
function iterationCase(name: 'd-soba' | 'cd-bsvrgd', algorithm: Record<string, unknown>, half: number): Case {
  const m = 8;
  let run: PreparedRun | null = null;
  const prepared = (): PreparedRun => {
    run ??= prepareRun(
      resolveConfig({
        seed: 1,
        iterations: 2 * half,
        evalEvery: half,
        evaluation: { groundTruth: false },
        problem: { type: 'logreg-hpo', data: { source: 'seed000-synthetic', trainPerAgent: HPO.n, valPerAgent: HPO.n, testPerAgent: 0, features: HPO.d }, standardize: true, batch: HPO.batch },
        topology: { type: 'ring', agents: m },
        algorithm,
      }),
    );
    return run;
  };
  // Time iterations half+1 … 2·half−1 of a fresh run (between the progress
  // calls after iteration half, which follows its evaluation, and after
  // iteration 2·half−1, which precedes the last evaluation): steady-state
  // iterations only (CD-BSVRGD's first iteration evaluates one point, not
  // two). Counts come from the rows after iterations half and 2·half.
  const sample = async (): Promise<Sample> => {
    let t0 = 0;
    let t1 = 0;
    const outcome = await execute(prepared(), {
      progress: (t) => {
        if (t === half) t0 = clock();
        if (t === 2 * half - 1) t1 = clock();
      },
    });
    if (outcome.status !== 'completed') throw new Error(`${name}: ${outcome.message}`);
    const [, mid, end] = outcome.rows as [unknown, Record<string, number>, Record<string, number>];
    const per = (k: string) => (end[k]! - mid[k]!) / (half * m);
    return {
      seconds: (t1 - t0) / (half - 1),
      callsPerAgentIteration: { gradF: per('gradF'), gradG: per('gradG'), hvp: per('hvp'), jvp: per('jvp') },
    };
  };
  return {
    goal: 'D-SOBA / CD-BSVRGD per iteration ≤ 0.5× NumPy',
    name: `${name}, SEED-000 synthetic (m=${m}, d=${HPO.d}, c=${HPO.c}, batch ${HPO.batch}, ring), per iteration`,
    kind: 'time',
    unit: 'ms',
    target: 0.5,
    warm: async () => void (await sample()),
    dbo: sample,
    numpy: { case: name, m, ...HPO, iterations: half, clock: clockName },
    check: (ours, theirs) => {
      const a = ours.callsPerAgentIteration!;
      const b = theirs.callsPerAgentIteration as Record<string, number>;
      const same = Object.keys(a).every((k) => Math.abs(a[k]! - b[k]!) < 1e-9);
      return same ? null : `oracle calls per agent-iteration differ: dbo ${JSON.stringify(a)}, NumPy ${JSON.stringify(b)}`;
    },
  };
}

// ---------------------------------------------------------------- driver

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
}

function figure(c: Case, seconds: number): string {
  if (c.kind === 'gflops') return `${(c.flops! / seconds / 1e9).toFixed(2)} GFLOP/s`;
  return c.unit === 'µs' ? `${(seconds * 1e6).toFixed(0)} µs` : `${(seconds * 1e3).toFixed(3)} ms`;
}

async function main(): Promise<void> {
  const half = quick ? 10 : 25;
  let cases: Case[] = [
    ...kernelCases(),
    iterationCase('d-soba', { name: 'd-soba' }, half),
    iterationCase('cd-bsvrgd', { name: 'cd-bsvrgd', eta: 0.1, alpha1: 90, alpha2: 90, alpha3: 90, beta1: 1, beta2: 1, beta3: 0.1 }, half),
    ...realMlpCases(clock, clockName),
    ...mlpCases(clock, clockName),
  ];
  if (only) cases = cases.filter((c) => c.name.includes(only) || String(c.numpy.case).includes(only));
  if (cases.length > 0) await table(cases);
  if (!only || only === 'topology') topologyCase();
  if ((!only || only === 'agents') && !argv.includes('--no-agents')) {
    const iterations = opt('--agents-iterations');
    await agentsCase({
      ...(iterations ? { iterations: Number(iterations) } : quick ? { iterations: 200 } : {}),
      rounds: Number(opt('--agents-rounds') ?? (quick ? 1 : 2)),
      ...(opt('--libsvm-dir') ? { libsvmDir: opt('--libsvm-dir')! } : {}),
      threads: [1, 2],
    });
  }
}

async function table(cases: Case[]): Promise<void> {
  const numpy = new NumpySide();
  const info = await numpy.ask({ case: 'info', clock: clockName });
  console.log(`dbo kernels: ${kernels().name} · Node ${process.version} · ${info ? `NumPy ${String(info.numpy)}, OpenBLAS core ${String(info.openblasCore)}, 1 thread` : `NumPy unavailable (${numpy.failure})`}`);
  console.log(`${rounds} interleaved rounds per case; medians of ${clockName === 'cpu' ? 'process CPU time' : 'wall time'}.\n`);
  const ours = new Map<Case, number[]>();
  const theirs = new Map<Case, number[]>();
  const notes = new Map<Case, string>();
  const invalid = new Set<Case>();
  const ask: Ask = (cmd) => (info ? numpy.ask(cmd) : Promise.resolve(null));
  for (const c of cases) {
    if (c.prepare) {
      const { valid, note } = await c.prepare(ask);
      if (!valid) invalid.add(c);
      if (note) notes.set(c, valid ? note : `INVALID: ${note}`);
    }
    await c.warm?.();
    if (info) await numpy.ask(c.numpy); // NumPy's warm-up sample (discarded)
  }
  for (let r = 0; r < rounds; r++)
    for (const c of cases) {
      const s = await c.dbo();
      (ours.get(c) ?? ours.set(c, []).get(c)!).push(s.seconds);
      const t = info ? await numpy.ask(c.numpy) : null;
      if (t) {
        (theirs.get(c) ?? theirs.set(c, []).get(c)!).push(t.seconds as number);
        const note = c.check?.(s, t) ?? null;
        if (note) notes.set(c, note);
      }
    }
  numpy.close();

  const rows: string[][] = [['goal', 'case', 'dbo', 'NumPy', 'ratio', 'target', 'met']];
  for (const c of cases) {
    const a = median(ours.get(c)!);
    const b = theirs.has(c) ? median(theirs.get(c)!) : null;
    const ratio = b === null ? null : c.kind === 'gflops' ? b / a : a / b;
    const met = invalid.has(c) ? 'INVALID' : ratio === null ? '–' : (c.kind === 'gflops' ? ratio >= c.target : ratio <= c.target) ? 'yes' : 'no';
    const ratioText = ratio === null ? '–' : c.kind === 'gflops' ? `${ratio.toFixed(2)} of NumPy's GFLOP/s` : `${ratio.toFixed(2)}× NumPy's time`;
    const targetText = c.kind === 'gflops' ? `≥ ${c.target.toFixed(2)}` : `≤ ${c.target.toFixed(2)}`;
    rows.push([c.goal, c.name, figure(c, a), b === null ? 'skipped' : figure(c, b), ratioText, targetText, met]);
  }
  const widths = rows[0]!.map((_, j) => Math.max(...rows.map((r) => r[j]!.length)));
  for (const [i, r] of rows.entries()) {
    console.log(r.map((cell, j) => cell.padEnd(widths[j]!)).join(' | '));
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
  }
  for (const [c, note] of notes) console.log(`note (${c.name}): ${note}`);
  if (!info) console.log(`\nNumPy cases skipped: ${numpy.failure} (install python3 and NumPy to compare).`);
}

await main();
