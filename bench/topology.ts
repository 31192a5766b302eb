/**
 * Topology set-up at m = 10,000 agents (ring, torus, exponential,
 * Erdős–Rényi): graph, sparse mixing matrix and spectrum (λ, ρ), and the
 * size of topology.json. Goal: each under a second. Run: npm run bench.
 */
import { performance } from 'node:perf_hooks';
import { buildTopology, topologyJson, type TopologySpec } from '../src/graph/index.ts';

const m = Number(process.env.DBO_BENCH_AGENTS ?? 10_000);
const specs: TopologySpec[] = [
  { type: 'ring', agents: m },
  { type: 'torus', agents: m },
  { type: 'exponential', agents: m },
  { type: 'erdos-renyi', agents: m, p: (2 * Math.log(m)) / m },
];
console.log(`\ntopology set-up, m = ${m} agents (goal: < 1 s each; metropolis weights)`);
console.log('topology       set-up (s)   edges     lambda            method        topology.json');
for (const spec of specs) {
  // Warm the code paths once on a small instance so the figure is the set-up, not the JIT.
  buildTopology({ ...spec, agents: 64, ...(spec.type === 'erdos-renyi' ? { p: 0.2 } : {}) } as TopologySpec, 1);
  const t0 = performance.now();
  const t = buildTopology(spec, 1);
  const secs = (performance.now() - t0) / 1000;
  const json = JSON.stringify(topologyJson(t));
  console.log(
    `${spec.type.padEnd(14)} ${secs.toFixed(3).padStart(9)}   ${String(t.graph.edges.length).padEnd(8)}  ${t.spectrum.lambda.toPrecision(12).padEnd(16)}  ${t.spectrum.method.padEnd(12)}  ${(json.length / 1024).toFixed(0)} KiB`,
  );
}
