/**
 * One worker of the worker-thread runtime (see worker.ts). It builds the
 * agents it hosts from the part of the prepared run the main thread sent
 * (worker-part.ts: their oracles, links and the shared start), or, for a
 * problem whose oracles cannot be sent, prepares the run from the resolved
 * config itself; then it steps them in lockstep with the other workers:
 * payloads go through shared slots and the workers meet at one barrier per
 * communication round, nowhere else; whether an iterate became non-finite, or
 * a stop was asked, travels with those barriers (see `advance`), so that every
 * worker stops at the same iteration, as the simulator does.
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
/** Per hosted agent (position k in `hosted`): rounds sent, and the settlers of its pending exchange. */
const sent = new Int32Array(hosted.length);
const resolvers: Array<((r: ReadonlyArray<Vec>) => void) | null> = new Array(hosted.length).fill(null);
const rejecters: Array<((e: unknown) => void) | null> = new Array(hosted.length).fill(null);
/** Per hosted agent and round parity: the array of its neighbours' slot views it receives (reused; valid until its next exchange). */
const inboxes: Float64Array[][] = Array.from({ length: 2 * hosted.length }, () => []);
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

/** Thrown into the hosted agents' steps when another worker's agent became non-finite in the previous iteration (see `advance`). */
const HALT = new Error('worker runtime: halted (another worker found a non-finite iterate)');
/** Set once the agents were halted mid-iteration: their states are then no longer an iteration boundary's. */
let halted = false;

/**
 * The iteration whose end-of-iteration reports (worker-shared.ts) this
 * worker published but has not read yet, or −1. They are read after the next
 * barrier this worker passes, which every worker reaches only after
 * publishing its own report of that iteration.
 */
let unread = -1;
/** Set when a report read asked to stop: every worker then stops after the iteration it is in. */
let stopAgreed = false;

/** Reads every worker's report of iteration `t`: whether some agent was non-finite, whether a stop was asked. */
function readReports(t: number): { bad: boolean; stop: boolean } {
  const base = CTRL_WORKERS + (t & 1) * layout.workers;
  let bad = false;
  let stop = false;
  for (let w = 0; w < layout.workers; w++) {
    const r = Atomics.load(ctrl, base + w);
    if (r >= 0) bad = true;
    else if (r === REPORT_STOP) stop = true;
  }
  unread = -1;
  if (stop) stopAgreed = true;
  return { bad, stop };
}

function settleAll(settle: (k: number) => void): void {
  for (let k = 0; k < hosted.length; k++) if (resolvers[k]) settle(k);
  resolvers.fill(null);
  rejecters.fill(null);
}

function completeRound(): void {
  const parity = round & 1;
  try {
    barrier(ctrl, layout.workers);
  } catch (e) {
    settleAll((k) => rejecters[k]!(e));
    throw e;
  }
  if (unread >= 0 && readReports(unread).bad) {
    // Another worker stopped after the previous iteration; so do these agents, mid-iteration (nothing reads their states again).
    halted = true;
    settleAll((k) => rejecters[k]!(HALT));
    return;
  }
  comm.rounds++;
  for (let k = 0; k < hosted.length; k++) {
    const i = hosted[k]!;
    const nb = neighbours[i]!;
    const len = lengths[i * 2 + parity]!;
    comm.messages += nb.length;
    comm.floats += nb.length * len;
    const inbox = inboxes[2 * k + parity]!;
    for (let n = 0; n < nb.length; n++) inbox[n] = view(nb[n]!, parity);
  }
  comm.bytes = comm.floats * bytesPerFloat;
  arrived = 0;
  round++;
  settleAll((k) => resolvers[k]!(inboxes[2 * k + parity]!));
}

function exchange(k: number, payload: Vec): Promise<ReadonlyArray<Vec>> {
  const i = hosted[k]!;
  if (sent[k] !== round) throw new Error(`worker runtime: agent ${i} sent twice in round ${round}`);
  if (payload.length > cap)
    throw new Error(`worker runtime: agent ${i} sends ${payload.length} floats, more than the ${cap} a slot holds; run with --threads 1`);
  const parity = round & 1;
  const slot = i * 2 + parity;
  // The same rounding as the simulator (a value as the wire would carry it), so the iterates match bit for bit.
  roundThroughWire(payload, slots.subarray(slot * cap, slot * cap + payload.length), bytesPerFloat);
  lengths[slot] = payload.length;
  sent[k] = round + 1;
  const done = new Promise<ReadonlyArray<Vec>>((resolve, reject) => {
    resolvers[k] = resolve;
    rejecters[k] = reject;
  });
  arrived++;
  if (arrived === hosted.length) completeRound();
  return done;
}

const links = new Map<number, AgentLink>();
init.links.forEach((l, k) => {
  const i = hosted[k]!;
  links.set(i, { id: i, neighbours: l.neighbours, selfWeight: l.selfWeight, neighbourWeights: l.neighbourWeights, exchange: (payload: Vec) => exchange(k, payload) });
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

function checkUsable(what: string): void {
  if (halted) throw new Error(`worker runtime: ${what} after the agents were halted by a non-finite iterate`);
}

/**
 * Runs the hosted agents to iteration `to` in lockstep with the other
 * workers, with no barrier of its own in an iteration that has a
 * communication round. After each iteration a worker publishes a report (an
 * agent id whose iterate is non-finite, a stop request, or nothing) and reads
 * everyone's after the next barrier it passes, the first round of the next
 * iteration (or an explicit barrier at the end of an iteration without one):
 *   - a worker with a non-finite agent stops; it meets the others at that
 *     next barrier, after which they halt the iteration they had begun (their
 *     states are not read again: the run ends there, as in the simulator) and
 *     all report the same iteration;
 *   - a stop request makes every worker stop after the iteration in which the
 *     reports were read, at an iteration boundary, for a checkpoint;
 *   - at `to`, or once a stop is agreed, nobody needs the others' reports:
 *     the main thread merges what each worker returns.
 */
async function advance(to: number): Promise<{ iteration: number; bad: { id: number; message: string } | null; computeMs: number }> {
  checkUsable('advance');
  let computeMs = 0;
  // Every worker returned at the same iteration last time: nothing is pending.
  unread = -1;
  stopAgreed = false;
  while (iteration < to) {
    const start = performance.now();
    try {
      await group.step();
    } catch (e) {
      if (e === HALT) return { iteration, bad: null, computeMs: computeMs + performance.now() - start };
      throw e;
    }
    computeMs += performance.now() - start;
    if (arrived !== 0) throw new Error(`${run.algorithm.name}: agents finished iteration ${iteration + 1} with a communication round half done`);
    iteration++;
    // An iteration without a communication round passed no barrier: the previous reports are read at one here.
    if (unread >= 0) {
      barrier(ctrl, layout.workers);
      if (readReports(unread).bad) {
        halted = true;
        return { iteration: iteration - 1, bad: null, computeMs };
      }
    }
    const bad = firstNonFinite();
    if (iteration === to || stopAgreed) return { iteration, bad, computeMs };
    const report = bad !== null ? bad.id : Atomics.load(ctrl, CTRL_STOP) !== 0 ? REPORT_STOP : REPORT_NONE;
    Atomics.store(ctrl, CTRL_WORKERS + (iteration & 1) * layout.workers + init.index, report);
    unread = iteration;
    if (bad !== null) {
      // Stand in for this worker's part of the next barrier, where the others read this report and halt.
      barrier(ctrl, layout.workers);
      return { iteration, bad, computeMs };
    }
  }
  return { iteration, bad: null, computeMs };
}

port.on('message', (req: WorkerRequest) => {
  void (async () => {
    try {
      switch (req.cmd) {
        case 'advance':
          port.postMessage({ ok: true, result: await advance(req.to) });
          break;
        case 'snapshot': {
          checkUsable('snapshot');
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
          checkUsable('checkpoint');
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
