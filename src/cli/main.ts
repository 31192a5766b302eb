/**
 * The `dbo` command line: run a config, run the demo, list algorithms,
 * inspect a topology. User errors print one line naming the field or file
 * (exit code 2); `--debug` adds the stack trace.
 */
import { Command, CommanderError } from 'commander';
import { ConfigError, environmentError } from '../errors.ts';
import { createUniqueFolder } from '../experiments/run-directory.ts';
import { writeNewFile } from './write-file.ts';
import { versionLine } from './version.ts';
import { runtimeFor, transportParser, type Transport } from './transport.ts';
import { registerPlot } from './plot.ts';
import { registerSweep } from './sweep.ts';
import { serveOption, serveRun, stayOption, type ServeOptions } from './serve.ts';
import { registerReport } from './report.ts';
import { registerReproduce } from './reproduce.ts';
import { registerKeygen } from './keygen.ts';
import { registerAgent } from './agent.ts';
import { registerGather } from './gather.ts';
import { registerResume } from './resume.ts';
import { table } from './format.ts';

// Everything heavier than commander loads inside the action that needs it,
// so `dbo --help` and argument errors start in a few tens of milliseconds.
async function quadraticOptionsSchema() {
  const { z } = await import('zod');
  return z.object({
    agents: z.number().int().min(1),
    dx: z.number().int().min(1),
    dy: z.number().int().min(1),
    class: z.enum(['global', 'personalized']),
    heterogeneity: z.number().min(0),
    noise: z.number().min(0),
    seed: z.number().int().min(0),
  });
}

/** Commander argument parsers that reject bad numbers with a message naming the option. */
function numberParser(option: string, ok: (v: number) => boolean, expected: string): (value: string) => number {
  return (value) => {
    const v = Number(value);
    if (value.trim() === '' || !ok(v)) throw new ConfigError(option, `expected ${expected}, got '${value}'`);
    return v;
  };
}
const positiveInteger = (o: string) => numberParser(o, (v) => Number.isInteger(v) && v >= 1, 'a positive integer');
const nonNegativeInteger = (o: string) => numberParser(o, (v) => Number.isInteger(v) && v >= 0, 'an integer ≥ 0');
const finiteNumber = (o: string) => numberParser(o, Number.isFinite, 'a number');

function defaultRunDir(label: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `runs/${label}-${stamp}`;
}

export async function main(argv: string[]): Promise<number> {
  const debug = argv.includes('--debug');
  let exitCode = 0;
  const program = new Command();
  program.name('dbo').description('Decentralized stochastic bilevel optimization: run, compare and measure algorithms.').option('--debug', 'print stack traces on errors').exitOverride();
  // The version line runs git, so it is built only when asked for.
  program.option('-V, --version', 'print the dbo version, git commit and Node version');
  if (argv.length === 3 && (argv[2] === '--version' || argv[2] === '-V')) {
    console.log(versionLine());
    return 0;
  }
  program.configureOutput({ writeErr: (s) => process.stderr.write(s) });

  program
    .command('run')
    .description('run the experiment described by a YAML or JSON config')
    .argument('<config>', 'config file (.yaml, .yml or .json)')
    .option('--out <dir>', 'run directory (default runs/<algorithm>-<time>)')
    .option('--force', 'replace the run directory if it is a previous dbo run (anything else is refused)')
    .option('--quiet', 'no progress bar')
    .option('--threads <n>', 'worker threads hosting the agents (default: the number of cores; 1 = in-process simulator); rows are identical either way', positiveInteger('--threads'))
    .option('--transport <name>', "where agents run: 'simulator' (in process or worker threads) or 'libp2p' (one process per agent on 127.0.0.1)", transportParser, 'simulator')
    .option('--psk <file>', 'libp2p: pre-shared key file of a private network')
    .addOption(serveOption())
    .addOption(stayOption())
    .option('--checkpoint-every <n>', 'save checkpoint.json every n iterations (atomically), so that dbo resume DIR can continue a killed run', positiveInteger('--checkpoint-every'))
    .action(async (file: string, opts: { out?: string; force?: boolean; quiet?: boolean; threads?: number; transport: Transport; psk?: string; checkpointEvery?: number } & ServeOptions) => {
      const { loadConfig } = await import('../experiments/config.ts');
      const { runToDirectory } = await import('../experiments/run-to-directory.ts');
      const { progressReporter } = await import('./progress.ts');
      if (opts.transport === 'libp2p' && opts.threads !== undefined) throw new ConfigError('--threads', 'applies to --transport simulator only');
      const { defaultThreads, workerRuntimeFactory } = await import('../runtime/worker.ts');
      const runtime = runtimeFor(opts.transport, opts.psk) ?? workerRuntimeFactory(opts.threads ?? defaultThreads()) ?? undefined;
      const config = loadConfig(file);
      const dir = opts.out ?? defaultRunDir(config.name ?? config.algorithm.name);
      const live = await serveRun(opts, config);
      const progress = opts.quiet ? undefined : progressReporter(config.iterations);
      // Ctrl-C / SIGTERM: stop at an iteration boundary, checkpoint, say how to resume (src/cli/interrupt.ts).
      const { stopOnSignals } = await import('./interrupt.ts');
      const { launchInfo, reportStoredRun } = await import('./resume.ts');
      const stop = stopOnSignals();
      try {
        const launch = launchInfo(opts.transport, opts.threads, opts.psk);
        const checkpointing = { launch, stopRequested: stop.requested, ...(opts.checkpointEvery !== undefined ? { checkpointEvery: opts.checkpointEvery } : {}) };
        const result = await runToDirectory(config, dir, { force: opts.force ?? false, unique: opts.out === undefined, ...(progress ? { progress: progress.update } : {}), ...(runtime ? { runtime } : {}), ...(live ? { observe: live.observe } : {}), ...checkpointing }).catch(async (e: unknown) => {
          await live?.close();
          throw e;
        });
        progress?.stop();
        exitCode = reportStoredRun(result, stop);
      } finally {
        stop.dispose();
      }
      // A run stopped by Ctrl-C does not stay.
      await live?.end((opts.stay ?? false) && !stop.requested());
    });

  registerResume(program, (code) => (exitCode = code));

  program
    .command('demo')
    .description('run the embedded default: D-SOBA on the SEED-000 synthetic problem over two topologies')
    .option('--out <dir>', 'parent directory of the two runs (default runs/demo-<time>)')
    .option('--iterations <n>', 'iterations per run (default 300)', positiveInteger('--iterations'))
    .option('--force', 'replace the two runs if they are previous dbo runs (anything else is refused)')
    .option('--quiet', 'no progress bar')
    .action(async (opts: { out?: string; iterations?: number; force?: boolean; quiet?: boolean }) => {
      const { runDemo } = await import('./demo.ts');
      const dir = opts.out ?? createUniqueFolder(defaultRunDir('demo'));
      await runDemo({ dir, quiet: opts.quiet ?? false, force: opts.force ?? false, ...(opts.iterations !== undefined ? { iterations: opts.iterations } : {}) });
    });

  program
    .command('algorithms')
    .description('list the registered algorithms with their parameters and communication')
    .action(async () => {
      const { ALGORITHMS } = await import('../algorithms/registry.ts');
      const { describeParams } = await import('./describe-params.ts');
      for (const a of ALGORITHMS) {
        console.log(`${a.name}  [class ${a.problemClass === 'global' ? 'G' : 'P'}]${a.reconstruction ? '  (reconstruction: update rule not verified against a primary source)' : ''}`);
        console.log(`  ${a.summary}`);
        console.log(`  paper: ${a.paper}`);
        console.log(`  communicates: ${a.communicates}`);
        console.log(`  parameters:`);
        for (const line of describeParams(a.params)) console.log(`    ${line}`);
        console.log('');
      }
    });

  program
    .command('topology')
    .description('build a topology and print its mixing matrix and spectral quantities')
    .requiredOption('--type <type>', 'complete | ring | path | star | torus | exponential | erdos-renyi')
    .requiredOption('--agents <m>', 'number of agents', positiveInteger('--agents'))
    .option('--mixing <rule>', 'laplacian | metropolis | uniform')
    .option('--p <p>', 'edge probability (erdos-renyi)', finiteNumber('--p'))
    .option('--rows <r>', 'torus rows', positiveInteger('--rows'))
    .option('--seed <s>', 'seed (erdos-renyi)', nonNegativeInteger('--seed'), 1)
    .option('--ring-fallback', 'torus: build a ring when agents is prime (otherwise an error)')
    .action(async (opts: { type: string; agents: number; mixing?: string; p?: number; rows?: number; seed: number; ringFallback?: boolean }) => {
      const { topologySchema } = await import('../experiments/config.ts');
      const { parseWith } = await import('../experiments/zod-errors.ts');
      const { buildRunTopology } = await import('../experiments/topology.ts');
      const spec = parseWith(
        topologySchema,
        { type: opts.type, agents: opts.agents, ...(opts.mixing ? { mixing: opts.mixing } : {}), ...(opts.p !== undefined ? { p: opts.p } : {}), ...(opts.rows !== undefined ? { rows: opts.rows } : {}), ...(opts.ringFallback ? { ringFallback: true } : {}) },
        'topology',
      );
      const t = buildRunTopology(spec, opts.seed);
      console.log(`agents ${t.graph.m}, edges ${t.graph.edges.length}, directed messages per round ${2 * t.graph.edges.length}`);
      if (t.note) console.log(`note: ${t.note}`);
      console.log(`lambda = max(|λ2|, |λm|) = ${t.spectrum.lambda.toPrecision(6)}   rho = ‖W − 11ᵀ/m‖₂ = ${t.spectrum.rho.toPrecision(6)}   spectral gap 1 − lambda = ${(1 - t.spectrum.lambda).toPrecision(6)}`);
      console.log(`spectrum by ${t.spectrum.method}${t.spectrum.errorBound !== undefined ? ` (eigenvalues within ${t.spectrum.errorBound.toExponential(1)})` : ''}`);
      if (t.graph.m <= 16) {
        const rows = Array.from({ length: t.graph.m }, (_, i) => [String(i), ...Array.from(t.weights.data.subarray(i * t.graph.m, (i + 1) * t.graph.m), (w) => (w === 0 ? '·' : w.toFixed(3)))]);
        console.log(table(['W', ...Array.from({ length: t.graph.m }, (_, j) => String(j))], rows));
      }
    });

  registerReproduce(program);

  program
    .command('estimator-variance')
    .description('SEED-003 §5.1 / Fig. 1: mean and variance of the Hessian-inverse estimators on A = 0.25·I₂')
    .option('--trials <n>', 'Monte Carlo trials', positiveInteger('--trials'), 10000)
    .option('--K <k>', 'Neumann terms K', positiveInteger('--K'), 10)
    .option('--sigma <s>', 'standard deviation of the Hessian noise', finiteNumber('--sigma'), 0.05)
    .option('--seed <s>', 'seed', nonNegativeInteger('--seed'), 1)
    .action(async (opts: { trials: number; K: number; sigma: number; seed: number }) => {
      const { estimatorVariance, estimatorVarianceSchema, formatEstimatorVariance } = await import('../experiments/estimator-variance.ts');
      const { parseWith } = await import('../experiments/zod-errors.ts');
      const parsed = parseWith(estimatorVarianceSchema, { trials: opts.trials, K: opts.K, sigma: opts.sigma, seed: opts.seed }, '--');
      console.log(formatEstimatorVariance(estimatorVariance(parsed)));
    });

  program
    .command('quadratic')
    .description('write a random quadratic bilevel instance (JSON) with a strongly convex lower level and a unique x*')
    .requiredOption('--out <file>', 'instance file to write (an existing file is refused without --force)')
    .option('--force', 'overwrite an existing instance file')
    .option('--agents <m>', 'number of agents', positiveInteger('--agents'), 8)
    .option('--dx <n>', 'upper-level dimension', positiveInteger('--dx'), 5)
    .option('--dy <n>', 'lower-level dimension', positiveInteger('--dy'), 5)
    .option('--class <c>', 'global | personalized', 'global')
    .option('--heterogeneity <h>', '0 = identical agents', finiteNumber('--heterogeneity'), 1)
    .option('--noise <sigma>', 'oracle noise σ', finiteNumber('--noise'), 0)
    .option('--seed <s>', 'seed', nonNegativeInteger('--seed'), 1)
    .action(async (opts: { out: string; force?: boolean; agents: number; dx: number; dy: number; class: string; heterogeneity: number; noise: number; seed: number }) => {
      const { randomQuadraticInstance } = await import('../problems/quadratic-generator.ts');
      const { parseWith } = await import('../experiments/zod-errors.ts');
      const { out, force, ...rest } = opts;
      const o = parseWith(await quadraticOptionsSchema(), rest, '--');
      const instance = randomQuadraticInstance({ agents: o.agents, dx: o.dx, dy: o.dy, problemClass: o.class, heterogeneity: o.heterogeneity, noise: o.noise }, o.seed);
      writeNewFile(out, `${JSON.stringify(instance)}\n`, force ?? false);
      console.log(`wrote ${opts.out}: ${o.class} class, ${o.agents} agents, d_x = ${o.dx}, d_y = ${o.dy}`);
    });

  registerPlot(program);
  registerSweep(program);
  registerReport(program);
  registerKeygen(program);
  registerAgent(program);
  registerGather(program, (code) => (exitCode = code));

  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    const known = environmentError(e);
    if (known) {
      console.error(`dbo: error: ${known.message}`);
      if (debug) console.error((e as Error).stack);
      return 2;
    }
    const err = e as Error;
    console.error(`dbo: internal error: ${err.message}${debug ? '' : ' (run with --debug for the stack trace)'}`);
    if (debug) console.error(err.stack);
    return 1;
  }
}
