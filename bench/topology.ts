/**
 * Topology set-up at m = 10,000 agents (ring, torus, exponential,
 * Erdős–Rényi): graph, sparse mixing matrix and spectrum (λ, ρ), and the
 * size of topology.json. Goal: each under a second. Part of `npm run bench`
 * (bench/run.ts); DBO_BENCH_AGENTS changes m.
 */
import { performance } from 'node:perf_hooks';
import { buildTopology, topologyJson, type TopologySpec } from '../src/graph/index.ts';

/** Prints one line per topology; returns the slowest set-up in seconds. */
export function topologyCase(m = Number(process.env.DBO_BENCH_AGENTS ?? 10_000)): number {
  const specs: TopologySpec[] = [
    { type: 'ring', agents: m },
    { type: 'torus', agents: m },
    { type: 'exponential', agents: m },
    { type: 'erdos-renyi', agents: m, p: (2 * Math.log(m)) / m },
  ];
  console.log(`\ntopology set-up, m = ${m} agents (goal: < 1 s each; process CPU time, wall time in brackets; metropolis weights)`);
  const rows: string[][] = [['topology', 'set-up CPU (wall), s', 'edges', 'λ', 'method', 'topology.json', 'met']];
  let slowest = 0;
  for (const spec of specs) {
    // Warm the code paths once on a small instance so the figure is the set-up, not the JIT.
    buildTopology({ ...spec, agents: 64, ...(spec.type === 'erdos-renyi' ? { p: 0.2 } : {}) } as TopologySpec, 1);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const t = buildTopology(spec, 1);
    const wall = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    const secs = (c.user + c.system) / 1e6;
    slowest = Math.max(slowest, secs);
    const json = JSON.stringify(topologyJson(t));
    rows.push([spec.type, `${secs.toFixed(3)} (${wall.toFixed(3)})`, String(t.graph.edges.length), t.spectrum.lambda.toPrecision(8), t.spectrum.method, `${(json.length / 1024).toFixed(0)} KiB`, secs < 1 ? 'yes' : 'no']);
  }
  const widths = rows[0]!.map((_, j) => Math.max(...rows.map((r) => r[j]!.length)));
  for (const [i, r] of rows.entries()) {
    console.log('  ' + r.map((cell, j) => cell.padEnd(widths[j]!)).join(' | '));
    if (i === 0) console.log('  ' + widths.map((w) => '-'.repeat(w)).join('-|-'));
  }
  return slowest;
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) topologyCase();
