/**
 * Communication graphs between agents: the standard topologies (complete,
 * ring, path, star, 2-D torus, exponential, Erdős–Rényi) and user-given edge
 * lists, normalized to a sorted, deduplicated undirected edge list plus
 * sorted neighbour lists. Every graph with more than one agent is connected.
 */
import { ConfigError } from '../errors.ts';
import { Rng } from '../random/rng.ts';

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
  | { type: 'torus'; agents: number; rows?: number }
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
 * Builds a graph on m agents from an edge list given in any order, with
 * either orientation and possibly repeated. Indices must already be valid
 * (integers in [0, m), no self loops).
 */
export function graphFromEdges(m: number, edges: Iterable<readonly [number, number]>): Graph {
  const keys = new Set<number>();
  for (const [a, b] of edges) {
    const i = Math.min(a, b);
    const j = Math.max(a, b);
    keys.add(i * m + j);
  }
  const sorted = Array.from(keys).sort((x, y) => x - y);
  const list: Array<readonly [number, number]> = [];
  const nbrs: number[][] = Array.from({ length: m }, () => []);
  for (const k of sorted) {
    const i = Math.floor(k / m);
    const j = k - i * m;
    list.push([i, j] as const);
    nbrs[i]!.push(j);
    nbrs[j]!.push(i);
  }
  for (const n of nbrs) n.sort((x, y) => x - y);
  return { m, edges: list, neighbours: nbrs };
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

function torusEdges(m: number, rows: number): Array<readonly [number, number]> {
  const cols = m / rows;
  const out: Array<readonly [number, number]> = [];
  const id = (r: number, c: number): number => r * cols + c;
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) {
      const here = id(r, c);
      const down = id((r + 1) % rows, c);
      const right = id(r, (c + 1) % cols);
      if (down !== here) out.push([here, down]);
      if (right !== here) out.push([here, right]);
    }
  return out;
}

function erdosRenyi(m: number, p: number, seed: number, field: string): Graph {
  for (let attempt = 0; attempt < ERDOS_RENYI_MAX_ATTEMPTS; attempt++) {
    const rng = new Rng(seed, 'topology', 'erdos-renyi', attempt);
    const edges: Array<readonly [number, number]> = [];
    for (let i = 0; i < m; i++) for (let j = i + 1; j < m; j++) if (rng.uniform() < p) edges.push([i, j]);
    const g = graphFromEdges(m, edges);
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

/**
 * Builds the communication graph described by `spec`. `seed` is used only by
 * Erdős–Rényi. `field` is the config path used in error messages.
 */
export function buildGraph(spec: TopologySpec, seed: number, field = 'topology'): Graph {
  if (spec === null || typeof spec !== 'object') throw new ConfigError(field, `expected a topology description, got ${formatValue(spec)}`);
  const m = checkInteger(spec.agents, `${field}.agents`, 1);
  let graph: Graph;
  switch (spec.type) {
    case 'complete': {
      const e: Array<readonly [number, number]> = [];
      for (let i = 0; i < m; i++) for (let j = i + 1; j < m; j++) e.push([i, j]);
      graph = graphFromEdges(m, e);
      break;
    }
    case 'ring': {
      const e: Array<readonly [number, number]> = [];
      for (let i = 0; i < m; i++) if ((i + 1) % m !== i) e.push([i, (i + 1) % m]);
      graph = graphFromEdges(m, e);
      break;
    }
    case 'path': {
      const e: Array<readonly [number, number]> = [];
      for (let i = 0; i + 1 < m; i++) e.push([i, i + 1]);
      graph = graphFromEdges(m, e);
      break;
    }
    case 'star': {
      const e: Array<readonly [number, number]> = [];
      for (let i = 1; i < m; i++) e.push([0, i]);
      graph = graphFromEdges(m, e);
      break;
    }
    case 'torus': {
      let rows: number;
      if (spec.rows === undefined) rows = largestDivisorAtMostSqrt(m);
      else {
        rows = checkInteger(spec.rows, `${field}.rows`, 1);
        if (m % rows !== 0)
          throw new ConfigError(`${field}.rows`, `rows = ${rows} does not divide agents = ${m}; a torus needs rows × cols = agents`);
      }
      graph = graphFromEdges(m, torusEdges(m, rows));
      break;
    }
    case 'exponential': {
      const e: Array<readonly [number, number]> = [];
      for (let i = 0; i < m; i++)
        for (let s = 1; s < m; s *= 2) {
          const j = (i + s) % m;
          if (j !== i) e.push([i, j]);
        }
      graph = graphFromEdges(m, e);
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
  return graph;
}
