/**
 * libp2p transport on loopback: gossip round latency and wire overhead.
 *
 * m = 4 agent processes on a ring over 127.0.0.1 (TCP, Noise, yamux, the
 * connection gater — the transport of `--transport libp2p` and `dbo agent`)
 * run mixRound with payloads of 1 kB, 100 kB and 1 MB (float32 on the wire).
 * Per size it prints the median and p95 round time over libp2p (all agents'
 * rounds pooled), the same rounds on the in-process simulator, and
 * wireBytes / bytes: what the agents wrote to their sockets during the timed
 * rounds (length prefix, frame header, yamux headers and window updates,
 * Noise tags) over the payload bytes. Goal: wireBytes / bytes ≤ 1.1 for
 * messages of ≥ 100 kB.
 *
 * Run: npm run bench (this is its last part), or node --import tsx bench/p2p.ts [--quick].
 */
import { fork, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { buildTopology } from '../src/graph/index.ts';
import { mixRound } from '../src/network/link.ts';
import { Simulator } from '../src/network/simulator.ts';
import type { PeerEntry } from '../src/runtime/libp2p/keys.ts';
import type { BenchChild, BenchParent } from './p2p-agent.ts';

const quick = process.argv.includes('--quick');
const m = 4;
const BYTES_PER_FLOAT = 4;
const SIZES = [
  { label: '1 kB', bytes: 1_000, rounds: quick ? 50 : 300 },
  { label: '100 kB', bytes: 100_000, rounds: quick ? 30 : 150 },
  { label: '1 MB', bytes: 1_000_000, rounds: quick ? 10 : 40 },
];
const GOAL = 1.1;

const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

class Child {
  private waiting: Array<(m: BenchChild) => void> = [];
  constructor(readonly proc: ChildProcess) {
    proc.on('message', (msg: BenchChild) => {
      if (msg.type === 'error') throw new Error(`bench agent: ${msg.message}`);
      this.waiting.shift()?.(msg);
    });
  }
  ask<T extends BenchChild['type']>(msg: BenchParent): Promise<Extract<BenchChild, { type: T }>> {
    return new Promise((resolve) => {
      this.waiting.push(resolve as (m: BenchChild) => void);
      this.proc.send(msg);
    });
  }
}

async function simulatorRounds(floats: number, warmup: number, rounds: number): Promise<number[]> {
  const t = buildTopology({ type: 'ring', agents: m }, 1);
  const sim = new Simulator({ m, neighbours: t.graph.neighbours, weights: t.mixing }, BYTES_PER_FLOAT);
  const x = Array.from({ length: m }, () => Float64Array.from({ length: floats }, (_, i) => Math.sin(i)));
  const out = Array.from({ length: m }, () => new Float64Array(floats));
  const round = () => Promise.all(sim.links.map((l, i) => mixRound(l, x[i]!, out[i]!)));
  for (let r = 0; r < warmup; r++) await round();
  const ms: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    await round();
    ms.push(performance.now() - t0);
  }
  return ms;
}

async function main(): Promise<void> {
  const t = buildTopology({ type: 'ring', agents: m }, 1);
  const maxFloats = Math.max(...SIZES.map((s) => s.bytes / BYTES_PER_FLOAT));
  const entry = fileURLToPath(new URL('p2p-agent.ts', import.meta.url));
  const children = Array.from({ length: m }, () => new Child(fork(entry, [], { execArgv: ['--import', 'tsx'], serialization: 'advanced' })));
  try {
    const ready = await Promise.all(
      children.map((c, id) => {
        const neighbours = [...t.graph.neighbours[id]!];
        const weights = Array.from(t.mixing.values.subarray(t.mixing.rowStart[id]!, t.mixing.rowStart[id + 1]!));
        return c.ask<'ready'>({ type: 'init', id, neighbours, selfWeight: t.mixing.self[id]!, weights, bytesPerFloat: BYTES_PER_FLOAT, maxFloats });
      }),
    );
    const peers: PeerEntry[] = ready.map((r, id) => ({ id, peerId: r.peerId, address: r.address }));
    await Promise.all(children.map((c) => c.ask<'connected'>({ type: 'peers', peers })));

    console.log(`\nlibp2p on loopback: m = ${m} agent processes on a ring, one mixRound per round, float32 payloads (goal: wireBytes / bytes ≤ ${GOAL} for ≥ 100 kB)`);
    console.log('message   rounds   libp2p median / p95 (ms)   simulator median / p95 (ms)   libp2p / simulator   wireBytes / bytes   goal');
    for (const s of SIZES) {
      const floats = s.bytes / BYTES_PER_FLOAT;
      const warmup = Math.max(3, Math.round(s.rounds / 10));
      const done = await Promise.all(children.map((c) => c.ask<'done'>({ type: 'rounds', floats, warmup, rounds: s.rounds })));
      const ms = done.flatMap((d) => d.ms);
      const ratio = done.reduce((a, d) => a + d.wireBytes, 0) / done.reduce((a, d) => a + d.bytes, 0);
      const sim = await simulatorRounds(floats, warmup, s.rounds);
      const goal = s.bytes >= 100_000 ? (ratio <= GOAL ? 'met' : 'NOT MET') : '(none below 100 kB)';
      const [p50, p95, s50, s95] = [quantile(ms, 0.5), quantile(ms, 0.95), quantile(sim, 0.5), quantile(sim, 0.95)];
      console.log(
        `${s.label.padEnd(8)}  ${String(s.rounds).padStart(6)}   ${`${p50.toFixed(2)} / ${p95.toFixed(2)}`.padStart(24)}   ${`${s50.toFixed(3)} / ${s95.toFixed(3)}`.padStart(27)}   ${`${(p50 / s50).toFixed(0)}×`.padStart(18)}   ${ratio.toFixed(4).padStart(17)}   ${goal}`,
      );
    }
  } finally {
    for (const c of children) c.proc.send({ type: 'stop' } satisfies BenchParent);
  }
}

await main();
