/**
 * The "1,000 agents" case of `npm run bench`: the whole
 * `dbo run bench/dsoba-a9a-agents.yaml` (D-SOBA on LIBSVM a9a, 1,000 agents on
 * a ring, 1,000 iterations; start-up, data loading, set-up, iterations,
 * evaluations and the run directory's files included) against a vectorised
 * NumPy implementation of the same run (bench/numpy_dsoba_agents.py: agents
 * stacked, batched products, reading the same text files), each started as
 * its own process. The two alternate round by round so that both see the
 * same machine load; medians are reported.
 *
 * Clock: CPU time of the whole process (user + system of the child, as the
 * shell's `times` reports it: Node or Python start-up included), which on a
 * shared, loaded machine measures the work done rather than the wait for a
 * core; wall times are printed too. dbo runs with `--threads 1` (the CPU
 * comparison) and `--threads 2` (its wall time, for the 2-core goal).
 *
 * Data: a9a and a9a.t from --libsvm-dir DIR, else ../shared/data/libsvm or
 * data/libsvm at the repository root; without them the case is skipped with a
 * note. Fewer iterations (--agents-iterations N) shorten both sides alike.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { resolveConfig } from '../src/experiments/config.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

interface Timed {
  readonly cpu: number;
  readonly wall: number;
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `argv` under /bin/sh and reads the child's user + system time from `times`. */
function timed(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<Timed> {
  const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  // The command's stdout goes to fd 3's file; `times` (children's user and system time) to stdout.
  const script = `${quoted} 1>&3; code=$?; times; exit $code`;
  return new Promise((resolvePromise, reject) => {
    const start = performance.now();
    const child = spawn('/bin/sh', ['-c', script], { env, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    let timesText = '';
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (b: Buffer) => (timesText += b.toString()));
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const wall = (performance.now() - start) / 1e3;
      // `times` prints two lines: the shell's own user/system time, then its children's.
      const lines = timesText.trim().split('\n');
      const seconds = [...(lines.at(-1) ?? '').matchAll(/(\d+)m([\d.]+)s/g)].map((m) => 60 * Number(m[1]) + Number(m[2]));
      resolvePromise({ cpu: seconds.length === 2 ? seconds[0]! + seconds[1]! : NaN, wall, code: code ?? 1, stdout, stderr });
    });
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
}

/** The folder holding a9a and a9a.t, or null. */
function findLibsvm(dir: string | undefined): string | null {
  const candidates = dir ? [resolve(dir)] : [join(root, '..', 'shared', 'data', 'libsvm'), join(root, 'data', 'libsvm')];
  return candidates.find((d) => existsSync(join(d, 'a9a')) && existsSync(join(d, 'a9a.t'))) ?? null;
}

export interface AgentsOptions {
  readonly iterations?: number;
  readonly rounds: number;
  readonly libsvmDir?: string;
  readonly threads: ReadonlyArray<number>;
}

/** Runs the case and prints its lines; returns the CPU ratio dbo/NumPy (threads 1), or null when skipped. */
export async function agentsCase(o: AgentsOptions): Promise<number | null> {
  const goal = '1,000 agents × 1,000 D-SOBA iterations on a9a (ring), whole run ≤ 1.0× vectorised NumPy';
  console.log(`\n${goal}`);
  const dir = findLibsvm(o.libsvmDir);
  if (!dir) {
    console.log(`  skipped: a9a and a9a.t not found (looked in ${o.libsvmDir ?? '../shared/data/libsvm and data/libsvm'}; pass --libsvm-dir DIR)`);
    return null;
  }
  const raw = parseYaml(readFileSync(join(root, 'bench', 'dsoba-a9a-agents.yaml'), 'utf8')) as Record<string, any>;
  raw.problem.data.file = join(dir, 'a9a');
  raw.problem.data.testFile = join(dir, 'a9a.t');
  if (o.iterations) raw.iterations = o.iterations;
  const config = resolveConfig(raw);
  const work = mkdtempSync(join(tmpdir(), 'dbo-bench-agents-'));
  try {
    const configPath = join(work, 'config.yaml');
    writeFileSync(configPath, stringifyYaml(raw));
    const alg = config.algorithm as Record<string, unknown>;
    const p = config.problem as Extract<typeof config.problem, { type: 'logreg-hpo' }>;
    const split = p.split as { valFraction: number };
    const numpyConfig = {
      train: raw.problem.data.file,
      test: raw.problem.data.testFile,
      agents: config.topology.agents,
      iterations: config.iterations,
      evalEvery: config.evalEvery,
      batch: p.batch,
      valFraction: split.valFraction,
      alpha: alg.alpha,
      beta: alg.beta,
      gamma: alg.gamma,
      theta: alg.theta,
      seed: config.seed,
    };
    const m = config.topology.agents;
    const T = config.iterations;
    console.log(`  ${m} agents, ${T} iterations${T < 1000 ? ' (shortened run: both sides alike)' : ''}, evaluation every ${config.evalEvery}; ${o.rounds} alternating round(s); CPU time = user + system of the whole process`);
    const npEnv: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
    delete npEnv.OPENBLAS_CORETYPE;
    const dboCpu = new Map<number, number[]>();
    const dboWall = new Map<number, number[]>();
    const npCpu: number[] = [];
    const npWall: number[] = [];
    let npNote: string | null = null;
    let dboRows: Array<Record<string, number>> = [];
    let npResult: Record<string, any> | null = null;
    for (let r = 0; r < o.rounds; r++) {
      for (const threads of o.threads) {
        const out = join(work, `run-${threads}`);
        const t = await timed([process.execPath, join(root, 'bin', 'dbo.mjs'), 'run', configPath, '--out', out, '--force', '--quiet', '--threads', String(threads)]);
        if (t.code !== 0) throw new Error(`dbo run (threads ${threads}) exited with ${t.code}: ${t.stderr.trim().split('\n').at(-1)}`);
        (dboCpu.get(threads) ?? dboCpu.set(threads, []).get(threads)!).push(t.cpu);
        (dboWall.get(threads) ?? dboWall.set(threads, []).get(threads)!).push(t.wall);
        dboRows = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
        rmSync(out, { recursive: true, force: true });
      }
      if (npNote !== null) continue;
      const n = await timed(['python3', join(root, 'bench', 'numpy_dsoba_agents.py'), '--config-json', JSON.stringify(numpyConfig)], npEnv);
      if (n.code !== 0) {
        npNote = `NumPy side skipped: ${(n.stderr.trim().split('\n').at(-1) ?? '').slice(0, 200)} (install python3 and NumPy to compare)`;
        continue;
      }
      npResult = JSON.parse(n.stdout) as Record<string, any>;
      npCpu.push(n.cpu);
      npWall.push(n.wall);
    }
    const last = dboRows.at(-1)!;
    const calls = (k: string) => last[k]! / (m * T);
    const ours = { gradF: calls('gradF'), gradG: calls('gradG'), hvp: calls('hvp'), jvp: calls('jvp') };
    const rows: string[][] = [['side', 'CPU (s)', 'wall (s)', 'ratio (CPU)', 'target', 'met']];
    const npMedian = npCpu.length ? median(npCpu) : null;
    let ratio1: number | null = null;
    for (const threads of o.threads) {
      const cpu = median(dboCpu.get(threads)!);
      const ratio = npMedian === null ? null : cpu / npMedian;
      if (threads === 1) ratio1 = ratio;
      const wallRatio = npWall.length ? ` (wall ${(median(dboWall.get(threads)!) / median(npWall)).toFixed(2)}×)` : '';
      rows.push([`dbo run --threads ${threads}`, cpu.toFixed(1), median(dboWall.get(threads)!).toFixed(1), ratio === null ? '–' : `${ratio.toFixed(2)}× NumPy${wallRatio}`, '≤ 1.00', ratio === null ? '–' : ratio <= 1 ? 'yes' : 'no']);
    }
    rows.push(['NumPy (vectorised, 1 BLAS thread)', npMedian === null ? 'skipped' : npMedian.toFixed(1), npWall.length ? median(npWall).toFixed(1) : '–', '', '', '']);
    const widths = rows[0]!.map((_, j) => Math.max(...rows.map((row) => row[j]!.length)));
    for (const [i, row] of rows.entries()) {
      console.log('  ' + row.map((cell, j) => cell.padEnd(widths[j]!)).join(' | '));
      if (i === 0) console.log('  ' + widths.map((w) => '-'.repeat(w)).join('-|-'));
    }
    if (npNote) console.log(`  ${npNote}`);
    if (npResult) {
      const theirs = npResult.callsPerAgentIteration as Record<string, number>;
      const same = Object.entries(ours).every(([k, v]) => Math.abs(v - theirs[k]!) < 1e-12);
      console.log(`  oracle calls per agent-iteration: dbo ${JSON.stringify(ours)}${same ? ' = NumPy' : `, NumPy ${JSON.stringify(theirs)} (DIFFER)`}`);
      const np = (npResult.rows as Array<Record<string, number>>).at(-1)!;
      console.log(`  last row (iteration ${T}): upper loss dbo ${last.upperLoss!.toFixed(4)} / NumPy ${np.upperLoss!.toFixed(4)}, test accuracy ${last.testAccuracy!.toFixed(4)} / ${np.testAccuracy!.toFixed(4)} (each side draws its own random split)`);
      console.log(`  NumPy set-up (read, split, stack): ${(npResult.setupCpuSeconds as number).toFixed(2)} s CPU`);
    }
    return ratio1;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
