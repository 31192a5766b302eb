/**
 * The `faults` and `network` config sections (docs/faults.md).
 *
 *   network: {roundTimeoutMs}   a neighbour whose frame for a round is this late
 *                               is declared gone (default 10000; real transports only)
 *   faults: [                   injected faults, for tests and demos (libp2p transport only)
 *     {agent, crash: {atIteration}},                    the agent's process SIGKILLs itself
 *                                                       after `atIteration` iterations
 *     {agent, delay: {ms, fromIteration, toIteration}}, the agent sleeps `ms` before each of
 *                                                       those iterations (a straggler)
 *     {link: [i, j], partition: {fromIteration, toIteration}},  frames between i and j are
 *                                                       dropped in those iterations
 *   ]
 * Iterations are numbered from 1 (iteration t takes the state from t − 1 to t).
 */
import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import type { Graph } from '../graph/topology.ts';
import { toConfigError } from './zod-errors.ts';

export const DEFAULT_ROUND_TIMEOUT_MS = 10_000;

const int = (name: string, min: number) => z.number({ error: `${name} must be an integer ≥ ${min}` }).int({ error: `${name} must be an integer ≥ ${min}` }).min(min, { error: `${name} must be an integer ≥ ${min}` });

const window = z
  .strictObject({ fromIteration: int('fromIteration', 1), toIteration: int('toIteration', 1) })
  .refine((w) => w.toIteration >= w.fromIteration, { error: 'toIteration must be ≥ fromIteration', path: ['toIteration'] });

const crashFault = z.strictObject({ agent: int('agent', 0), crash: z.strictObject({ atIteration: int('atIteration', 1) }) });
const delayFault = z.strictObject({
  agent: int('agent', 0),
  delay: z
    .strictObject({ ms: z.number({ error: 'ms must be a number > 0' }).positive({ error: 'ms must be > 0' }), fromIteration: int('fromIteration', 1), toIteration: int('toIteration', 1) })
    .refine((w) => w.toIteration >= w.fromIteration, { error: 'toIteration must be ≥ fromIteration', path: ['toIteration'] }),
});
const partitionFault = z.strictObject({ link: z.tuple([int('link[0]', 0), int('link[1]', 0)], { error: 'expected two agent ids [i, j]' }), partition: window });

export type CrashFault = z.infer<typeof crashFault>;
export type DelayFault = z.infer<typeof delayFault>;
export type PartitionFault = z.infer<typeof partitionFault>;
export type Fault = CrashFault | DelayFault | PartitionFault;

const EXPECTED = 'expected {agent, crash: {atIteration}}, {agent, delay: {ms, fromIteration, toIteration}} or {link: [i, j], partition: {fromIteration, toIteration}}';

/** One fault: the branch is chosen by its key (crash, delay or partition), so errors name the field inside it. */
const faultEntry = z.unknown().transform((value, ctx): Fault => {
  const v = typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  const keys = v ? ['crash', 'delay', 'partition'].filter((k) => k in v) : [];
  if (keys.length !== 1) {
    ctx.addIssue({ code: 'custom', message: EXPECTED });
    return z.NEVER;
  }
  const schema = keys[0] === 'crash' ? crashFault : keys[0] === 'delay' ? delayFault : partitionFault;
  const r = schema.safeParse(v);
  if (r.success) return r.data;
  const e = toConfigError(r.error);
  ctx.addIssue({ code: 'custom', path: r.error.issues[0]!.path as PropertyKey[], message: e.message.slice(e.field.length + 2) });
  return z.NEVER;
});

export const faultsSchema = z.array(faultEntry, { error: `expected a list of faults (${EXPECTED})` });

export const networkSchema = z.strictObject({
  roundTimeoutMs: z.number({ error: 'expected a number of milliseconds > 0' }).positive({ error: 'roundTimeoutMs must be > 0' }).optional(),
});

export const isCrash = (f: Fault): f is CrashFault => 'crash' in f;
export const isDelay = (f: Fault): f is DelayFault => 'delay' in f;
export const isPartition = (f: Fault): f is PartitionFault => 'partition' in f;

/** Checks the faults against the run's graph and length: agents exist, partitioned links are edges, windows lie within the run. */
export function checkFaults(faults: ReadonlyArray<Fault> | undefined, graph: Graph, iterations: number): void {
  if (!faults) return;
  const m = graph.m;
  const agent = (id: number, field: string) => {
    if (id >= m) throw new ConfigError(field, `agent ${id} is not in 0…${m - 1}`);
  };
  const within = (t: number, field: string) => {
    if (t > iterations) throw new ConfigError(field, `iteration ${t} is after the run's last iteration ${iterations}`);
  };
  const crashed = new Set<number>();
  faults.forEach((f, k) => {
    const at = `faults[${k}]`;
    if (isCrash(f)) {
      agent(f.agent, `${at}.agent`);
      if (f.crash.atIteration >= iterations) throw new ConfigError(`${at}.crash.atIteration`, `must be < iterations (${iterations}) for the crash to happen during the run`);
      if (crashed.has(f.agent)) throw new ConfigError(`${at}.agent`, `agent ${f.agent} already crashes in an earlier fault`);
      crashed.add(f.agent);
    } else if (isDelay(f)) {
      agent(f.agent, `${at}.agent`);
      within(f.delay.fromIteration, `${at}.delay.fromIteration`);
    } else {
      const [i, j] = f.link;
      agent(i, `${at}.link[0]`);
      agent(j, `${at}.link[1]`);
      if (!graph.neighbours[i]!.includes(j)) throw new ConfigError(`${at}.link`, `agents ${i} and ${j} are not neighbours in the topology`);
      within(f.partition.fromIteration, `${at}.partition.fromIteration`);
    }
  });
  if (crashed.size >= m) throw new ConfigError('faults', 'every agent crashes; at least one must survive');
}

/** Refuses faults on a transport that cannot inject them. */
export function refuseFaults(faults: ReadonlyArray<Fault> | undefined, transport: string): void {
  if (faults && faults.length > 0) throw new ConfigError('faults', `injected faults need --transport libp2p (one process per agent); the ${transport} transport cannot run them`);
}
