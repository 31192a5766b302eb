/**
 * Communication graphs between agents: the standard topologies (complete,
 * ring, path, star, 2-D torus, exponential, Erdős–Rényi) and user-given edge
 * lists, normalized to a sorted, deduplicated undirected edge list plus
 * sorted neighbour lists. Every graph with more than one agent is connected.
 */
import { ConfigError } from '../errors.ts';
import { Rng } from '../random/rng.ts';
import type { GraphStructure } from './closed-form.ts';
import { checkTopologySize } from './limits.ts';

export interface Graph {
  /** Number of agents (vertices 0..m-1). */
  readonly m: number;
  /** Undirected edges [i, j] with i < j, sorted lexicographically, no duplicates, no self loops. */
  readonly edges: ReadonlyArray<readonly [number, number]>;
  /** neighbours[i]: the agents linked to i, sorted ascending (i itself excluded). */
  readonly neighbours: ReadonlyArray<ReadonlyArray<number>>;
}

export type TopologySpec =
  | { type: 'complete' | 'ring' | 'path' | 'star' | 'exponential'; agents: number }
  | { type: 'torus'; agents: number; rows?: number; ringFallback?: boolean }
  | { type: 'erdos-renyi'; agents: number; p: number }
  | { type: 'custom'; agents: number; edges: ReadonlyArray<readonly [number, number]> };

export type TopologyType = TopologySpec['type'];

export const TOPOLOGY_TYPES: ReadonlyArray<TopologyType> = [
  'complete',
  'ring',
  'path',
  'star',
  'torus',
  'exponential',
  'erdos-renyi',
  'custom',
];

/** Most Erdős–Rényi samples drawn before giving up on a connected one. */
export const ERDOS_RENYI_MAX_ATTEMPTS = 1000;

/**
 * Up to this many agents G(m, p) is drawn pair by pair (one uniform per pair);
 * above it by geometric skipping, O(|E|) instead of O(m²). Both sample
 * G(m, p) exactly and deterministically from the seed; they give different
 * graphs for the same seed, so the threshold is part of the format.
 */
export const ERDOS_RENYI_PAIRWISE_MAX = 2048;

/**
 * Builds a graph on m agents from an edge list given in any order, with
 * either orientation and possibly repeated. Indices must already be valid
 * (integers in [0, m), no self loops).
 */
export function graphFromEdges(m: number, edges: Iterable<readonly [number, number]>): Graph {
  const keys = new EdgeKeys(m);
  for (const [a, b] of edges) keys.add(a, b);
  return keys.graph();
}

/** Growable buffer of undirected edges as keys min·m + max (no per-edge allocation while a graph is generated). */
export class EdgeKeys {
  private keys = new Float64Array(64);
  private n = 0;
  constructor(readonly m: number) {}

  add(a: number, b: number): void {
    if (this.n === this.keys.length) {
      const bigger = new Float64Array(this.keys.length * 2);
      bigger.set(this.keys);
      this.keys = bigger;
    }
    this.keys[this.n++] = a < b ? a * this.m + b : b * this.m + a;
  }

  /** The graph of the edges added so far: sorted, deduplicated, neighbour lists ascending. */
  graph(): Graph {
    const m = this.m;
    const keys = this.keys.subarray(0, this.n).sort();
    const list: Array<readonly [number, number]> = [];
    const nbrs: number[][] = Array.from({ length: m }, () => []);
    // Keys ascend by (i, j), so each neighbour list fills in ascending order:
    // agent v first receives its smaller neighbours (edges (i, v)), then its larger ones (edges (v, j)).
    for (let k = 0; k < keys.length; k++) {
      const key = keys[k]!;
      if (k > 0 && key === keys[k - 1]) continue;
      const i = Math.floor(key / m);
      const j = key - i * m;
      list.push([i, j] as const);
      nbrs[i]!.push(j);
      nbrs[j]!.push(i);
    }
    return { m, edges: list, neighbours: nbrs };
  }
}

/** Connected components (each sorted ascending), ordered by their smallest agent. */
export function connectedComponents(m: number, neighbours: ReadonlyArray<ReadonlyArray<number>>): number[][] {
  const seen = new Uint8Array(m);
  const out: number[][] = [];
  for (let s = 0; s < m; s++) {
    if (seen[s]) continue;
    const comp: number[] = [s];
    seen[s] = 1;
    for (let h = 0; h < comp.length; h++)
      for (const v of neighbours[comp[h]!]!)
        if (!seen[v]) {
          seen[v] = 1;
          comp.push(v);
        }
    comp.sort((x, y) => x - y);
    out.push(comp);
  }
  return out;
}

/** True when every agent can reach every other (trivially true for m ≤ 1). */
export function isConnected(m: number, neighbours: ReadonlyArray<ReadonlyArray<number>>): boolean {
  if (m <= 1) return true;
  return connectedComponents(m, neighbours).length === 1;
}

/**
 * Human-readable description of a disconnected graph's components, e.g.
 * "2 components {0, 1, 2}, {3, 4}; agent 3 cannot reach agent 0".
 */
export function describeComponents(components: ReadonlyArray<ReadonlyArray<number>>): string {
  const maxComps = 6;
  const maxMembers = 10;
  const fmt = (c: ReadonlyArray<number>): string =>
    c.length <= maxMembers ? `{${c.join(', ')}}` : `{${c.slice(0, maxMembers).join(', ')}, … (${c.length} agents)}`;
  const shown = components.slice(0, maxComps).map(fmt).join(', ');
  const more = components.length > maxComps ? `, … (${components.length - maxComps} more)` : '';
  const hint = components.length >= 2 ? `; agent ${components[1]![0]} cannot reach agent ${components[0]![0]}` : '';
  return `${components.length} components ${shown}${more}${hint}`;
}

function checkInteger(value: unknown, field: string, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min)
    throw new ConfigError(field, `expected an integer ≥ ${min}, got ${formatValue(value)}`);
  return value;
}

function formatValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return JSON.stringify(value);
  return String(value);
}

function largestDivisorAtMostSqrt(m: number): number {
  let best = 1;
  for (let d = 1; d * d <= m; d++) if (m % d === 0) best = d;
  return best;
}

function torusGraph(m: number, rows: number): Graph {
  const cols = m / rows;
  const out = new EdgeKeys(m);
  const id = (r: number, c: number): number => r * cols + c;
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) {
      const here = id(r, c);
      const down = id((r + 1) % rows, c);
      const right = id(r, (c + 1) % cols);
      if (down !== here) out.add(here, down);
      if (right !== here) out.add(here, right);
    }
  return out.graph();
}

/**
 * G(m, p) by geometric skipping (Batagelj & Brandes, Phys. Rev. E 71, 036113,
 * 2005): the gap to the next present pair (i < j, row-major) is geometric,
 * ⌊ln(1 − u) / ln(1 − p)⌋.
 */
function erdosRenyiSkipping(m: number, p: number, rng: Rng, edges: EdgeKeys): void {
  const logq = Math.log1p(-p);
  let i = 0;
  let j = 0; // candidate pair (i, i + 1 + j)
  for (;;) {
    const skip = p >= 1 ? 0 : Math.floor(Math.log1p(-rng.uniform()) / logq);
    j += skip;
    while (i < m - 1 && j >= m - 1 - i) {
      j -= m - 1 - i;
      i++;
    }
    if (i >= m - 1) break;
    edges.add(i, i + 1 + j);
    j++;
  }
}

function erdosRenyi(m: number, p: number, seed: number, field: string): Graph {
  for (let attempt = 0; attempt < ERDOS_RENYI_MAX_ATTEMPTS; attempt++) {
    const rng = new Rng(seed, 'topology', 'erdos-renyi', attempt);
    const edges = new EdgeKeys(m);
    if (m <= ERDOS_RENYI_PAIRWISE_MAX) {
      for (let i = 0; i < m; i++) for (let j = i + 1; j < m; j++) if (rng.uniform() < p) edges.add(i, j);
    } else erdosRenyiSkipping(m, p, rng, edges);
    const g = edges.graph();
    if (isConnected(m, g.neighbours)) return g;
  }
  const threshold = Math.log(m) / m;
  throw new ConfigError(
    `${field}.p`,
    `no connected Erdős–Rényi graph G(${m}, ${p}) found in ${ERDOS_RENYI_MAX_ATTEMPTS} attempts; ` +
      `increase p (connectivity threshold ln(m)/m ≈ ${threshold.toPrecision(3)})`,
  );
}

function customEdges(m: number, edges: unknown, field: string): Array<readonly [number, number]> {
  if (!Array.isArray(edges)) throw new ConfigError(`${field}.edges`, `expected a list of [i, j] pairs, got ${formatValue(edges)}`);
  const out: Array<readonly [number, number]> = [];
  edges.forEach((e: unknown, k: number) => {
    const f = `${field}.edges[${k}]`;
    if (!Array.isArray(e) || e.length !== 2) throw new ConfigError(f, `expected a pair [i, j] of agent indices, got ${formatValue(e)}`);
    const [a, b] = e as unknown[];
    for (const x of [a, b])
      if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x >= m)
        throw new ConfigError(f, `agent index ${formatValue(x)} is not an integer in [0, ${m - 1}] (agents = ${m})`);
    if (a === b) throw new ConfigError(f, `self loop [${a}, ${b}] is not allowed`);
    out.push([a as number, b as number]);
  });
  return out;
}

function isPrime(n: number): boolean {
  if (n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

/** Nearest agent counts below and above m that have an r × c torus with r, c ≥ 2 (composite numbers ≥ 4), with their factorization. */
export function nearestTorusSizes(m: number): string[] {
  const describe = (n: number): string => `${n} (${largestDivisorAtMostSqrt(n)} × ${n / largestDivisorAtMostSqrt(n)})`;
  const out: string[] = [];
  for (let n = m - 1; n >= 4; n--)
    if (!isPrime(n)) {
      out.push(describe(n));
      break;
    }
  for (let n = Math.max(m + 1, 4); ; n++)
    if (!isPrime(n)) {
      out.push(describe(n));
      break;
    }
  return out;
}

/** Graph with, where one exists, the structure whose Laplacian spectrum is known in closed form. */
export interface StructuredGraph {
  readonly graph: Graph;
  readonly structure: GraphStructure | null;
  /** Set when the graph built is not the type asked for (a torus built as a ring on request). */
  readonly note?: string;
}

/**
 * Builds the communication graph described by `spec`. `seed` is used only by
 * Erdős–Rényi. `field` is the config path used in error messages.
 */
export function buildGraph(spec: TopologySpec, seed: number, field = 'topology'): Graph {
  return buildStructuredGraph(spec, seed, field).graph;
}

/** buildGraph, also returning the graph's closed-form structure (ring, torus, exponential, complete, path, star). */
export function buildStructuredGraph(spec: TopologySpec, seed: number, field = 'topology'): StructuredGraph {
  if (spec === null || typeof spec !== 'object') throw new ConfigError(field, `expected a topology description, got ${formatValue(spec)}`);
  const m = checkInteger(spec.agents, `${field}.agents`, 1);
  checkTopologySize(spec, field);
  let graph: Graph;
  let structure: GraphStructure | null = null;
  let note: string | undefined;
  switch (spec.type) {
    case 'complete': {
      const e = new EdgeKeys(m);
      for (let i = 0; i < m; i++) for (let j = i + 1; j < m; j++) e.add(i, j);
      graph = e.graph();
      structure = { kind: 'complete', m };
      break;
    }
    case 'ring': {
      const e = new EdgeKeys(m);
      for (let i = 0; i < m; i++) if ((i + 1) % m !== i) e.add(i, (i + 1) % m);
      graph = e.graph();
      structure = { kind: 'circulant', m, offsets: [1] };
      break;
    }
    case 'path': {
      const e = new EdgeKeys(m);
      for (let i = 0; i + 1 < m; i++) e.add(i, i + 1);
      graph = e.graph();
      structure = { kind: 'path', m };
      break;
    }
    case 'star': {
      const e = new EdgeKeys(m);
      for (let i = 1; i < m; i++) e.add(0, i);
      graph = e.graph();
      structure = { kind: 'star', m };
      break;
    }
    case 'torus': {
      let rows: number;
      if (spec.rows === undefined) {
        rows = largestDivisorAtMostSqrt(m);
        if (rows === 1 && m > 1) {
          if (spec.ringFallback !== true)
            throw new ConfigError(
              `${field}.agents`,
              `a 2-D torus needs rows × cols = agents with rows, cols ≥ 2, but ${m} is prime; ` +
                `nearest valid sizes: ${nearestTorusSizes(m).join(' and ')}` +
                ` (or set ${field}.ringFallback: true to build a ring of ${m} agents instead)`,
            );
          note = `torus of ${m} agents (a prime number) built as a ring, as ${field}.ringFallback asks`;
        }
      } else {
        rows = checkInteger(spec.rows, `${field}.rows`, 1);
        if (m % rows !== 0)
          throw new ConfigError(`${field}.rows`, `rows = ${rows} does not divide agents = ${m}; a torus needs rows × cols = agents`);
      }
      graph = torusGraph(m, rows);
      structure = { kind: 'torus', rows, cols: m / rows };
      break;
    }
    case 'exponential': {
      const e = new EdgeKeys(m);
      const offsets: number[] = [];
      for (let s = 1; s < m; s *= 2) offsets.push(s);
      for (let i = 0; i < m; i++)
        for (const s of offsets) {
          const j = (i + s) % m;
          if (j !== i) e.add(i, j);
        }
      graph = e.graph();
      structure = { kind: 'circulant', m, offsets };
      break;
    }
    case 'erdos-renyi': {
      const p = spec.p;
      if (typeof p !== 'number' || !(p > 0 && p <= 1))
        throw new ConfigError(`${field}.p`, `edge probability must be a number in (0, 1], got ${formatValue(p)}`);
      graph = m === 1 ? graphFromEdges(1, []) : erdosRenyi(m, p, seed, field);
      break;
    }
    case 'custom': {
      graph = graphFromEdges(m, customEdges(m, spec.edges, field));
      break;
    }
    default: {
      const t = (spec as { type?: unknown }).type;
      throw new ConfigError(`${field}.type`, `unknown topology ${formatValue(t)}; expected one of ${TOPOLOGY_TYPES.join(', ')}`);
    }
  }
  if (!isConnected(graph.m, graph.neighbours))
    throw new ConfigError(`${field}.edges`, `graph is disconnected: ${describeComponents(connectedComponents(graph.m, graph.neighbours))}`);
  return note === undefined ? { graph, structure } : { graph, structure, note };
}
