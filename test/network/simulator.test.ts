import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mixRound } from '../../src/network/link.ts';
import { Simulator, type SimulatorTopology } from '../../src/network/simulator.ts';
import { Rng } from '../../src/random/rng.ts';
import type { Vec } from '../../src/linalg/vector.ts';

const M = 4;
const LEN = 5;

/** 4-agent ring with Metropolis weights (degree 2 everywhere, so 1/3 on self and both neighbours). */
function ring4(): SimulatorTopology {
  const neighbours = [[1, 3], [0, 2], [1, 3], [0, 2]];
  const weights = new Float64Array(M * M);
  for (let i = 0; i < M; i++) {
    weights[i * M + i] = 1 / 3;
    for (const j of neighbours[i]!) weights[i * M + j] = 1 / 3;
  }
  return { m: M, neighbours, weights };
}

/**
 * X_{r+1} = W X_r, rows are agents; what agent i receives from j ≠ i went
 * through the wire, so it is rounded to float32 when bytesPerFloat is 4.
 */
function mixReference(t: SimulatorTopology, xs: ReadonlyArray<Vec>, bytesPerFloat = 4): Float64Array[] {
  const m = t.m;
  const wire = (v: number): number => (bytesPerFloat === 4 ? Math.fround(v) : v);
  return xs.map((_, i) => {
    const out = new Float64Array(xs[i]!.length);
    for (let j = 0; j < m; j++) {
      const w = (t.weights as Float64Array)[i * m + j]!;
      if (w === 0) continue;
      for (let k = 0; k < out.length; k++) out[k]! += w * (j === i ? xs[j]![k]! : wire(xs[j]![k]!));
    }
    return out;
  });
}

function initial(seed: number): Float64Array[] {
  const rng = new Rng(seed, 'sim');
  return Array.from({ length: M }, () => Float64Array.from({ length: LEN }, () => rng.normal()));
}

function assertClose(a: ArrayLike<number>, b: ArrayLike<number>, what: string, tol = 1e-14): void {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let k = 0; k < a.length; k++) assert.ok(Math.abs(a[k]! - b[k]!) <= tol, `${what}[${k}]: ${a[k]} vs ${b[k]}`);
}

/** Yields to the event loop a few times (so agents interleave in different orders). */
async function jitter(rng: Rng): Promise<void> {
  const n = rng.int(4);
  for (let i = 0; i < n; i++) {
    if (rng.uniform() < 0.5) await Promise.resolve();
    else await new Promise<void>((r) => setImmediate(r));
  }
}

/**
 * Runs `rounds` gossip rounds with every agent an independent async task;
 * agents start in `order` and optionally jitter before each round. Returns the
 * state after each round, per agent.
 */
async function runGossip(sim: Simulator, x0: ReadonlyArray<Vec>, rounds: number, order: ReadonlyArray<number>, jitterRng: Rng | null): Promise<Float64Array[][]> {
  const history: Float64Array[][] = Array.from({ length: rounds }, () => new Array<Float64Array>(M));
  const agent = async (i: number): Promise<void> => {
    const x = Float64Array.from(x0[i]!);
    const out = new Float64Array(x.length);
    for (let r = 0; r < rounds; r++) {
      if (jitterRng) await jitter(jitterRng);
      await mixRound(sim.links[i]!, x, out);
      x.set(out);
      history[r]![i] = Float64Array.from(x);
    }
  };
  await Promise.all(order.map((i) => agent(i)));
  return history;
}

test('payloads arrive rounded to float32 at 4 bytes per float and exact at 8', async () => {
  const x = Float64Array.from([0.1, 1 / 3, -2.5e-8, 1e300]);
  for (const bytesPerFloat of [4, 8]) {
    const sim = new Simulator(ring4(), bytesPerFloat);
    const received = await Promise.all(sim.links.map((l) => l.exchange(x)));
    const expected = bytesPerFloat === 4 ? [Math.fround(0.1), Math.fround(1 / 3), Math.fround(-2.5e-8), Infinity] : Array.from(x);
    for (const r of received) for (const v of r) assert.deepEqual(Array.from(v), expected);
    if (bytesPerFloat === 4) assert.notEqual(expected[0], 0.1);
  }
  assert.throws(() => new Simulator(ring4(), 2), /bytesPerFloat must be 4 or 8, got 2/);
});

test('links expose the topology: ids, neighbours, weights', () => {
  const sim = new Simulator(ring4());
  assert.equal(sim.links.length, M);
  for (let i = 0; i < M; i++) {
    const l = sim.links[i]!;
    assert.equal(l.id, i);
    assert.deepEqual([...l.neighbours], ring4().neighbours[i]);
    assert.equal(l.selfWeight, 1 / 3);
    assert.deepEqual([...l.neighbourWeights], [1 / 3, 1 / 3]);
  }
  assert.equal(sim.bytesPerFloat, 4, 'fp32 accounting by default');
  assert.deepEqual(sim.counters, { rounds: 0, messages: 0, floats: 0, bytes: 0, wireBytes: 0 });
});

test('3 concurrent mixRound rounds compute W·X each round; counters and bytes', async () => {
  for (const bytesPerFloat of [4, 8]) {
    const topo = ring4();
    const sim = new Simulator(topo, bytesPerFloat);
    const x0 = initial(1);
    const history = await runGossip(sim, x0, 3, [0, 1, 2, 3], null);
    let expected = x0;
    for (let r = 0; r < 3; r++) {
      expected = mixReference(topo, expected, bytesPerFloat);
      for (let i = 0; i < M; i++) assertClose(history[r]![i]!, expected[i]!, `round ${r} agent ${i}`);
    }
    assert.deepEqual(sim.counters, { rounds: 3, messages: 3 * 8, floats: 3 * 8 * LEN, bytes: 3 * 8 * LEN * bytesPerFloat, wireBytes: 0 });
    assert.equal(sim.pendingAgents, 0);
    // Mixing preserves the average (W is doubly stochastic) up to the wire's rounding.
    const tol = bytesPerFloat === 8 ? 1e-14 : 1e-6;
    for (let k = 0; k < LEN; k++) {
      const mean0 = x0.reduce((s, v) => s + v[k]!, 0) / M;
      const mean3 = history[2]!.reduce((s, v) => s + v[k]!, 0) / M;
      assert.ok(Math.abs(mean0 - mean3) < tol, `mean drift ${Math.abs(mean0 - mean3)} at ${bytesPerFloat} bytes per float`);
    }
  }
});

test('mixRound with out aliasing payload', async () => {
  const topo = ring4();
  const sim = new Simulator(topo);
  const x0 = initial(2);
  const xs = x0.map((v) => Float64Array.from(v));
  await Promise.all(xs.map((x, i) => mixRound(sim.links[i]!, x, x)));
  const expected = mixReference(topo, x0);
  for (let i = 0; i < M; i++) assertClose(xs[i]!, expected[i]!, `agent ${i}`);
});

test('a payload reused and modified by the sender right after exchange does not corrupt what receivers got', async () => {
  const sim = new Simulator(ring4());
  const x0 = initial(3);
  const bufs = x0.map((v) => Float64Array.from(v));
  const results = await Promise.all(
    bufs.map(async (buf, i) => {
      const pending = sim.links[i]!.exchange(buf);
      buf.fill(999); // reuse before the round completes
      const received = await pending;
      buf.fill(-1); // and after
      return received;
    }),
  );
  for (let i = 0; i < M; i++) {
    const nb = sim.links[i]!.neighbours;
    assert.equal(results[i]!.length, nb.length);
    nb.forEach((j, k) => assert.deepEqual(Array.from(results[i]![k]!), Array.from(x0[j]!, Math.fround), `agent ${i} from ${j} (rounded to float32 on the wire)`));
  }
});

test('received arrays stay valid while a faster neighbour already sends the next round', async () => {
  const sim = new Simulator(ring4());
  const links = sim.links;
  const r0 = [0, 1, 2, 3].map((i) => Float64Array.from({ length: LEN }, () => i));
  const round0 = await Promise.all(links.map((l, i) => l.exchange(r0[i]!)));
  const got1 = round0[1]!.map((v) => Array.from(v));
  // Agents 0 and 2 (agent 1's neighbours) start round 1 with new values.
  const p0 = links[0]!.exchange(new Float64Array(LEN).fill(100));
  const p2 = links[2]!.exchange(new Float64Array(LEN).fill(102));
  assert.equal(sim.pendingAgents, 2);
  assert.equal(sim.counters.rounds, 1);
  // Agent 1 still reads its round-0 inbox: unchanged.
  assert.deepEqual(round0[1]!.map((v) => Array.from(v)), got1);
  assert.deepEqual(got1, [new Array(LEN).fill(0), new Array(LEN).fill(2)]);
  const p1 = links[1]!.exchange(new Float64Array(LEN).fill(101));
  const p3 = links[3]!.exchange(new Float64Array(LEN).fill(103));
  const [in0, in1, in2, in3] = await Promise.all([p0, p1, p2, p3]);
  assert.deepEqual(in1!.map((v) => v[0]), [100, 102]);
  assert.deepEqual(in0!.map((v) => v[0]), [101, 103]);
  assert.deepEqual(in2!.map((v) => v[0]), [101, 103]);
  assert.deepEqual(in3!.map((v) => v[0]), [100, 102]);
  assert.equal(sim.counters.rounds, 2);
  assert.equal(sim.pendingAgents, 0);
});

test('sending twice in one round is a protocol error', async () => {
  const sim = new Simulator(ring4());
  const p = sim.links[0]!.exchange(new Float64Array(1));
  assert.throws(() => sim.links[0]!.exchange(new Float64Array(1)), /agent 0 sent twice in round 0/);
  assert.equal(sim.pendingAgents, 1);
  await Promise.all([p, ...[1, 2, 3].map((i) => sim.links[i]!.exchange(new Float64Array(1)))]);
  assert.equal(sim.counters.rounds, 1);
});

test('payloads of different lengths are counted per sender', async () => {
  const sim = new Simulator(ring4(), 8);
  const payloads = [0, 1, 2, 3].map((i) => Float64Array.from({ length: i + 1 }, (_, k) => 10 * i + k));
  const got = await Promise.all(sim.links.map((l, i) => l.exchange(payloads[i]!)));
  // Each agent sends its payload to its 2 neighbours.
  const floats = 2 * (1 + 2 + 3 + 4);
  assert.deepEqual(sim.counters, { rounds: 1, messages: 8, floats, bytes: floats * 8, wireBytes: 0 });
  for (let i = 0; i < M; i++)
    sim.links[i]!.neighbours.forEach((j, k) => assert.deepEqual(Array.from(got[i]![k]!), Array.from(payloads[j]!)));
  // Lengths may change between rounds (slots are resized), including to zero.
  const round2 = [3, 0, 1, 2].map((n, i) => new Float64Array(n).fill(i));
  const got2 = await Promise.all(sim.links.map((l, i) => l.exchange(round2[i]!)));
  assert.deepEqual(sim.counters, { rounds: 2, messages: 16, floats: floats + 2 * 6, bytes: (floats + 2 * 6) * 8, wireBytes: 0 });
  assert.deepEqual(got2[0]!.map((v) => v.length), [0, 2]);
  assert.deepEqual(got2[1]!.map((v) => v.length), [3, 1]);
});

test('counting follows the topology: star with different degrees', async () => {
  // Agent 0 is the hub with 3 neighbours; leaves have 1.
  const neighbours = [[1, 2, 3], [0], [0], [0]];
  const w = new Float64Array(16);
  for (let i = 1; i < 4; i++) {
    w[i * 4] = 0.25;
    w[i] = 0.25;
    w[i * 4 + i] = 0.75;
  }
  w[0] = 0.25;
  const topo = { m: 4, neighbours, weights: w };
  const sim = new Simulator(topo);
  const x0 = initial(4);
  const history = await runGossip(sim, x0, 2, [3, 2, 1, 0], null);
  let expected = x0;
  for (let r = 0; r < 2; r++) {
    expected = mixReference(topo, expected);
    for (let i = 0; i < 4; i++) assertClose(history[r]![i]!, expected[i]!, `round ${r} agent ${i}`);
  }
  assert.deepEqual(sim.counters, { rounds: 2, messages: 2 * 6, floats: 2 * 6 * LEN, bytes: 2 * 6 * LEN * 4, wireBytes: 0 });
});

test('results are bitwise identical regardless of which agent calls first', async () => {
  const x0 = initial(5);
  const reference = await runGossip(new Simulator(ring4()), x0, 6, [0, 1, 2, 3], null);
  const shuffler = new Rng(6, 'order');
  for (let trial = 0; trial < 8; trial++) {
    const order = Array.from(shuffler.permutation(M));
    const sim = new Simulator(ring4());
    const h = await runGossip(sim, x0, 6, order, new Rng(trial, 'jitter'));
    for (let r = 0; r < 6; r++)
      for (let i = 0; i < M; i++) assert.deepEqual(Array.from(h[r]![i]!), Array.from(reference[r]![i]!), `order ${order}, round ${r}, agent ${i}`);
    assert.deepEqual(sim.counters, { rounds: 6, messages: 48, floats: 48 * LEN, bytes: 48 * LEN * 4, wireBytes: 0 });
  }
});

test('a single agent with no neighbours completes rounds alone and sends nothing', async () => {
  const sim = new Simulator({ m: 1, neighbours: [[]], weights: Float64Array.from([1]) });
  const x = Float64Array.from([1, 2, 3]);
  const out = new Float64Array(3);
  for (let r = 0; r < 3; r++) await mixRound(sim.links[0]!, x, out);
  assert.deepEqual(Array.from(out), [1, 2, 3]);
  assert.deepEqual(sim.counters, { rounds: 3, messages: 0, floats: 0, bytes: 0, wireBytes: 0 });
});

/** A ring of `m` agents with Metropolis weights (1/3 each), dense W. */
function ring(m: number): SimulatorTopology {
  const neighbours = Array.from({ length: m }, (_, i) => [(i + m - 1) % m, (i + 1) % m].sort((a, b) => a - b));
  const weights = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    weights[i * m + i] = 1 / 3;
    for (const j of neighbours[i]!) weights[i * m + j] = 1 / 3;
  }
  return { m, neighbours, weights };
}

/**
 * `rounds` gossip rounds of every agent of `topo` as concurrent tasks, each
 * agent's vectors its own; with `scheduled`, the host settles each agent when
 * it is done. Returns every agent's iterate after each round, the order in
 * which agents resumed (agent, round) and the counters.
 */
async function gossipRun(topo: SimulatorTopology, rounds: number, bytesPerFloat: number, scheduled: boolean) {
  const sim = new Simulator(topo, bytesPerFloat);
  if (scheduled) sim.schedule(true);
  const rng = new Rng(7, 'scheduled');
  const x0 = Array.from({ length: topo.m }, () => Float64Array.from({ length: LEN }, () => rng.normal()));
  const history = Array.from({ length: rounds }, () => new Array<Float64Array>(topo.m));
  const resumed: Array<[number, number]> = [];
  let inside = 0;
  let overlapped = false;
  const agent = async (i: number): Promise<void> => {
    const x = Float64Array.from(x0[i]!);
    try {
      for (let r = 0; r < rounds; r++) {
        inside--;
        await mixRound(sim.links[i]!, x, x);
        if (++inside > 1) overlapped = true;
        // A hop through the microtask queue: any other agent already resumed would run here.
        await Promise.resolve();
        resumed.push([i, r]);
        history[r]![i] = Float64Array.from(x);
      }
    } finally {
      inside--;
      sim.settle(i);
    }
  };
  inside = topo.m;
  await Promise.all(Array.from({ length: topo.m }, (_, i) => agent(i)));
  return { history, resumed, counters: { ...sim.counters }, pending: sim.pendingAgents, overlapped };
}

test('scheduled dispatch: each agent resumes as soon as its neighbours sent, one at a time, with the lockstep iterates and counters bit for bit', async () => {
  const rounds = 40;
  // A ring long enough for several tiles, and a directed graph (agent i hears i + 1 and i + 3 only).
  const directed: SimulatorTopology = {
    m: 9,
    neighbours: Array.from({ length: 9 }, (_, i) => [(i + 1) % 9, (i + 3) % 9].sort((a, b) => a - b)),
    weights: (() => {
      const w = new Float64Array(81);
      for (let i = 0; i < 9; i++) for (const j of [i, (i + 1) % 9, (i + 3) % 9]) w[i * 9 + j] = 1 / 3;
      return w;
    })(),
  };
  for (const topo of [ring(70), directed])
    for (const bytesPerFloat of [4, 8]) {
      const lockstep = await gossipRun(topo, rounds, bytesPerFloat, false);
      const scheduled = await gossipRun(topo, rounds, bytesPerFloat, true);
      for (let r = 0; r < rounds; r++)
        for (let i = 0; i < topo.m; i++) assert.deepEqual(scheduled.history[r]![i], lockstep.history[r]![i], `m = ${topo.m}, round ${r}, agent ${i}`);
      assert.deepEqual(scheduled.counters, lockstep.counters);
      assert.equal(scheduled.pending, 0);
      assert.equal(scheduled.overlapped, false, 'one agent at a time between its resumption and its next exchange');
      assert.equal(lockstep.overlapped, true, 'lockstep resumes every agent of a round at once');
      // Lockstep resumes every agent for round r before any for round r + 1; scheduled dispatch does not wait for the whole network.
      const lockRounds = lockstep.resumed.map(([, r]) => r);
      assert.deepEqual(lockRounds, [...lockRounds].sort((a, b) => a - b));
      const schedRounds = scheduled.resumed.map(([, r]) => r);
      assert.notDeepEqual(schedRounds, [...schedRounds].sort((a, b) => a - b));
    }
});

test('scheduled dispatch on a ring resumes an agent again after about a tile of others, not after all of them', async () => {
  const m = 200;
  const { resumed } = await gossipRun(ring(m), 64, 8, true);
  const last = new Map<number, number>();
  const gaps: number[] = [];
  resumed.forEach(([i], t) => {
    if (last.has(i)) gaps.push(t - last.get(i)!);
    last.set(i, t);
  });
  gaps.sort((a, b) => a - b);
  // The median distance between two resumptions of the same agent (lockstep: m).
  assert.ok(gaps[gaps.length >> 1]! <= 32, `median gap ${gaps[gaps.length >> 1]}`);
});
