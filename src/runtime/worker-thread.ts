/**
 * One worker of the worker-thread runtime (see worker.ts). It builds the
 * agents it hosts from the part of the prepared run the main thread sent
 * (worker-part.ts: their oracles, links and the shared start), or, for a
 * problem whose oracles cannot be sent, prepares the run from the resolved
 * config itself; then it steps them in lockstep with the other workers:
 * payloads go through shared slots, one barrier per communication round, and
 * one more at the end of each iteration where the workers publish whether an
 * iterate became non-finite (so that every worker stops at the same
 * iteration, as the simulator does).
 */
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import type { RunConfig } from '../experiments/config.ts';
import { prepareRun } from '../experiments/runner.ts';
import { allFinite, type Vec } from '../linalg/vector.ts';
import type { AgentLink } from '../network/link.ts';
import { checkBytesPerFloat, roundThroughWire } from '../network/wire.ts';
import { AgentGroup } from './agent.ts';
import { emptyCommCounters, type AgentCheckpoint } from './types.ts';
import { barrier, CTRL_ABORT, CTRL_STOP, CTRL_WORKERS, REPORT_NONE, REPORT_STOP, type SharedLayout } from './worker-shared.ts';
import { hostedRun, type HostedPart } from './worker-part.ts';

/** A hosted agent's place in the topology: its neighbours (ascending) and its row of the mixing matrix. */
export interface LinkSpec {
  readonly neighbours: ReadonlyArray<number>;
  readonly selfWeight: number;
  readonly neighbourWeights: ReadonlyArray<number>;
}

export interface WorkerInit {
  readonly config: RunConfig;
  /** Hosted agent ids, ascending. */
  readonly ids: ReadonlyArray<number>;
  readonly index: number;
  readonly layout: SharedLayout;
  /** The hosted agents' links, in `ids` order. */
  readonly links: ReadonlyArray<LinkSpec>;
  /** The hosted agents' part of the prepared run; null: prepare the whole run from `config`. */
  readonly part: HostedPart | null;
}

export type WorkerRequest =
  | { cmd: 'advance'; to: number }
  | { cmd: 'snapshot' }
  | { cmd: 'counters' }
  | { cmd: 'checkpoint' }
  | { cmd: 'restore'; iteration: number; agents: ReadonlyArray<AgentCheckpoint> }
  | { cmd: 'close' };

const init = workerData as WorkerInit;
const port = parentPort!;
const { layout } = init;
const cap = layout.capacity;
const slots = new Float64Array(layout.payload);
const lengths = new Int32Array(layout.lengths);
const ctrl = new Int32Array(layout.control);

const hosted = init.ids;
for (let k = 1; k < hosted.length; k++) if (!(hosted[k]! > hosted[k - 1]!)) throw new Error('worker runtime: hosted agent ids must be ascending');
const run = init.part ? hostedRun(init.config, hosted, init.part) : prepareRun(init.config);
const neighbours: Array<ReadonlyArray<number>> = [];
init.links.forEach((l, k) => (neighbours[hosted[k]!] = l.neighbours));
const bytesPerFloat = checkBytesPerFloat(run.config.output.bytesPerFloat);
const comm = emptyCommCounters();

let round = 0;
let arrived = 0;
const sentRound = new Map<number, number>();
const waiting = new Map<number, { resolve: (r: ReadonlyArray<Vec>) => void; reject: (e: unknown) => void }>();
/** Cached read views of each agent's slot per parity (recreated when its length changes). */
const views: Float64Array[] = new Array(layout.m * 2);

function view(j: number, parity: number): Float64Array {
  const k = j * 2 + parity;
  const len = lengths[k]!;
  let v = views[k];
  if (v === undefined || v.length !== len) {
    v = slots.subarray(k * cap, k * cap + len);
    views[k] = v;
  }
  return v;
}

function completeRound(): void {
  const parity = round & 1;
  try {
    barrier(ctrl, layout.workers);
  } catch (e) {
    for (const w of waiting.values()) w.reject(e);
    waiting.clear();
    throw e;
  }
  comm.rounds++;
  const inboxes = new Map<number, Vec[]>();
  for (const i of hosted) {
    const nb = neighbours[i]!;
    const len = lengths[i * 2 + parity]!;
    comm.messages += nb.length;
    comm.floats += nb.length * len;
    inboxes.set(i, nb.map((j) => view(j, parity)));
  }
  comm.bytes = comm.floats * bytesPerFloat;
  arrived = 0;
  round++;
  const resolvers = [...waiting.entries()];
  waiting.clear();
  for (const [i, w] of resolvers) w.resolve(inboxes.get(i)!);
}

function exchange(i: number, payload: Vec): Promise<ReadonlyArray<Vec>> {
  if ((sentRound.get(i) ?? 0) !== round) throw new Error(`worker runtime: agent ${i} sent twice in round ${round}`);
  if (payload.length > cap)
    throw new Error(`worker runtime: agent ${i} sends ${payload.length} floats, more than the ${cap} a slot holds; run with --threads 1`);
  const parity = round & 1;
  const k = i * 2 + parity;
  // The same rounding as the simulator (a value as the wire would carry it), so the iterates match bit for bit.
  roundThroughWire(payload, slots.subarray(k * cap, k * cap + payload.length), bytesPerFloat);
  lengths[k] = payload.length;
  sentRound.set(i, round + 1);
  const done = new Promise<ReadonlyArray<Vec>>((resolve, reject) => waiting.set(i, { resolve, reject }));
  arrived++;
  if (arrived === hosted.length) completeRound();
  return done;
}

const links = new Map<number, AgentLink>();
init.links.forEach((l, k) => {
  const i = hosted[k]!;
  links.set(i, { id: i, neighbours: l.neighbours, selfWeight: l.selfWeight, neighbourWeights: l.neighbourWeights, exchange: (payload: Vec) => exchange(i, payload) });
});
const group = new AgentGroup(run, hosted, (id) => links.get(id)!);
let iteration = 0;

/** The first hosted agent (by id) with a non-finite iterate: its id and description. */
function firstNonFinite(): { id: number; message: string } | null {
  const vs = group.views();
  for (let k = 0; k < vs.length; k++)
    for (const key of ['x', 'y', 'z'] as const) {
      const vec = vs[k]![key];
      if (vec && !allFinite(vec)) return { id: group.agents[k]!.id, message: `agent ${group.agents[k]!.id}'s ${key} has non-finite entries` };
    }
  return null;
}

async function advance(to: number): Promise<{ iteration: number; bad: { id: number; message: string } | null; stoppedBy: boolean; computeMs: number }> {
  let computeMs = 0;
  while (iteration < to) {
    const start = performance.now();
    await group.step();
    computeMs += performance.now() - start;
    if (arrived !== 0) throw new Error(`${run.algorithm.name}: agents finished iteration ${iteration + 1} with a communication round half done`);
    iteration++;
    const bad = firstNonFinite();
    const base = CTRL_WORKERS + (iteration & 1) * layout.workers;
    // A stop request is published like a non-finite iterate, so that every worker stops after the same iteration.
    Atomics.store(ctrl, base + init.index, bad !== null ? bad.id : Atomics.load(ctrl, CTRL_STOP) !== 0 ? REPORT_STOP : REPORT_NONE);
    barrier(ctrl, layout.workers);
    let any = false;
    for (let w = 0; w < layout.workers; w++) if (Atomics.load(ctrl, base + w) !== REPORT_NONE) any = true;
    if (any) return { iteration, bad, stoppedBy: true, computeMs };
  }
  return { iteration, bad: null, stoppedBy: false, computeMs };
}

port.on('message', (req: WorkerRequest) => {
  void (async () => {
    try {
      switch (req.cmd) {
        case 'advance':
          port.postMessage({ ok: true, result: await advance(req.to) });
          break;
        case 'snapshot': {
          const out = group.views().map((v, k) => ({
            id: group.agents[k]!.id,
            x: Float64Array.from(v.x),
            y: Float64Array.from(v.y),
            ...(v.z ? { z: Float64Array.from(v.z) } : {}),
            ...(v.xTilde ? { xTilde: Float64Array.from(v.xTilde) } : {}),
          }));
          port.postMessage({ ok: true, result: out });
          break;
        }
        case 'counters':
          port.postMessage({ ok: true, result: { comm: { ...comm }, oracle: group.oracleCounts() } });
          break;
        case 'checkpoint':
          port.postMessage({ ok: true, result: group.checkpoint() });
          break;
        case 'restore':
          if (iteration !== 0) throw new Error('worker runtime: restore is only for workers that have not advanced');
          group.restore(req.agents);
          iteration = req.iteration;
          port.postMessage({ ok: true, result: null });
          break;
        case 'close':
          port.close();
          break;
      }
    } catch (e) {
      Atomics.store(ctrl, CTRL_ABORT, 1);
      Atomics.notify(ctrl, 1);
      const err = e as Error;
      port.postMessage({ ok: false, error: err.message, stack: err.stack });
    }
  })();
});
port.postMessage({ ok: true, result: 'ready' });
