/**
 * The part of a prepared run that one worker thread needs (worker.ts): the
 * oracles of the agents it hosts, sent as their constructor arguments (data
 * sets, matrices, options) so that the worker rebuilds exactly those oracles
 * without reading, splitting and partitioning the whole data set again, plus
 * the sizes, class and start every agent shares. The main thread prepares the
 * run once; each worker builds only its own agents.
 *
 * An oracle rebuilt from its constructor arguments is the oracle the main
 * thread built from the same arguments, so the agents compute what they
 * compute in the simulator bit for bit. Problems whose oracles are not listed
 * here (those built around shared network state, the MLP problems) send
 * nothing: their workers prepare the whole run from the config, as before.
 */
import type { Dataset } from '../data/dataset.ts';
import { getAlgorithm } from '../algorithms/registry.ts';
import type { RunConfig } from '../experiments/config.ts';
import type { AgentsRun, PreparedRun } from '../experiments/runner.ts';
import { BinaryLogregHpoOracle, type Reduction } from '../problems/binary-logreg-hpo.ts';
import { LogregHpoOracle } from '../problems/logreg-hpo.ts';
import { QuadraticOracle, type QuadraticAgentData } from '../problems/quadratic.ts';
import type { AgentOracle, BilevelProblem } from '../problems/types.ts';
import type { Vec } from '../linalg/vector.ts';

/** An oracle as its class and constructor arguments (structured-clone safe). */
export type PortableOracle =
  | { readonly kind: 'logreg-hpo'; readonly train: Dataset; readonly val: Dataset; readonly sparse: { readonly train: boolean; readonly val: boolean } }
  | { readonly kind: 'binary-logreg-hpo'; readonly train: Dataset; readonly val: Dataset; readonly reduction: Reduction }
  | { readonly kind: 'quadratic'; readonly data: QuadraticAgentData; readonly noise: number };

/** What a worker needs of a prepared run to build its hosted agents. */
export interface HostedPart {
  readonly problem: Pick<BilevelProblem, 'type' | 'problemClass' | 'm' | 'dx' | 'dy'>;
  /** The hosted agents' oracles, in the order of the ids given to `hostedPart`. */
  readonly oracles: ReadonlyArray<PortableOracle>;
  readonly init: { readonly x: Vec; readonly y: Vec; readonly z: Vec };
}

/**
 * A typed array that owns its whole buffer: structured cloning a view copies
 * the whole buffer it looks into, so a view into a larger table is copied out.
 */
function owned<T extends Float64Array | Int32Array>(a: T): T {
  return a.byteOffset === 0 && a.byteLength === a.buffer.byteLength ? a : (a.slice() as T);
}

function ownedDataset(ds: Dataset): Dataset {
  return { n: ds.n, d: ds.d, classes: ds.classes, features: owned(ds.features), labels: owned(ds.labels) };
}

function ownedQuadratic(q: QuadraticAgentData): QuadraticAgentData {
  const m = (a: QuadraticAgentData['Pyy']) => ({ rows: a.rows, cols: a.cols, data: owned(a.data) });
  return { Pyy: m(q.Pyy), Pyx: m(q.Pyx), Pxx: m(q.Pxx), py: owned(q.py), px: owned(q.px), Ayy: m(q.Ayy), Ayx: m(q.Ayx), ay: owned(q.ay) };
}

/** The oracle as constructor arguments, or null when its class is not one a worker can rebuild. */
export function portableOracle(o: AgentOracle): PortableOracle | null {
  // Exact classes only: a subclass could hold more than its constructor arguments.
  if (o.constructor === LogregHpoOracle) {
    const l = o as LogregHpoOracle;
    return { kind: 'logreg-hpo', train: ownedDataset(l.train), val: ownedDataset(l.val), sparse: l.sparseRows };
  }
  if (o.constructor === BinaryLogregHpoOracle) {
    const b = o as BinaryLogregHpoOracle;
    return { kind: 'binary-logreg-hpo', train: ownedDataset(b.train), val: ownedDataset(b.val), reduction: b.reduction };
  }
  if (o.constructor === QuadraticOracle) {
    const q = o as QuadraticOracle;
    return { kind: 'quadratic', data: ownedQuadratic(q.data), noise: q.noise };
  }
  return null;
}

/** Rebuilds an oracle in a worker. */
export function rebuildOracle(p: PortableOracle): AgentOracle {
  switch (p.kind) {
    case 'logreg-hpo': {
      const o = new LogregHpoOracle(p.train, p.val);
      const s = o.sparseRows;
      if (s.train !== p.sparse.train || s.val !== p.sparse.val) throw new Error('worker runtime: a rebuilt logreg-hpo oracle chose other row layouts than the original');
      return o;
    }
    case 'binary-logreg-hpo':
      return new BinaryLogregHpoOracle(p.train, p.val, p.reduction);
    case 'quadratic':
      return new QuadraticOracle(p.data, p.noise);
  }
}

/** The part of `run` that hosts agents `ids` need, or null when some of their oracles cannot be sent. */
export function hostedPart(run: PreparedRun, ids: ReadonlyArray<number>): HostedPart | null {
  const oracles: PortableOracle[] = [];
  for (const id of ids) {
    const p = portableOracle(run.problem.agents[id]!);
    if (p === null) return null;
    oracles.push(p);
  }
  const { type, problemClass, m, dx, dy } = run.problem;
  return { problem: { type, problemClass, m, dx, dy }, oracles, init: run.init };
}

/**
 * In a worker: the run as far as building agents `ids` goes — the config, the
 * algorithm configured from it, the shared start and a problem that holds the
 * hosted agents' oracles only.
 */
export function hostedRun(config: RunConfig, ids: ReadonlyArray<number>, part: HostedPart): AgentsRun {
  if (part.oracles.length !== ids.length) throw new Error(`worker runtime: ${part.oracles.length} oracles sent for ${ids.length} agents`);
  const agents: AgentOracle[] = new Array(part.problem.m);
  ids.forEach((id, k) => (agents[id] = rebuildOracle(part.oracles[k]!)));
  const { name, ...params } = config.algorithm;
  return { config, algorithm: getAlgorithm(name).configure(params, 'algorithm'), init: part.init, problem: { ...part.problem, agents } };
}
