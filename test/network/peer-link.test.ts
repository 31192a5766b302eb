/**
 * PeerLink over in-memory pipes: gossip gives the simulator's values bit for
 * bit (float32 and float64 on the wire), and malformed frames — wrong size,
 * round, type, version, width, sender, degree, truncated or random bytes —
 * are rejected without a crash and without changing what is mixed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeDataFrame, FrameSplitter, LENGTH_PREFIX_BYTES } from '../../src/network/frame.ts';
import { mixRound } from '../../src/network/link.ts';
import { PeerLink } from '../../src/network/peer-link.ts';
import { Simulator } from '../../src/network/simulator.ts';
import { Rng } from '../../src/random/rng.ts';

const M = 4;
const LEN = 6;
const NEIGHBOURS = [[1, 3], [0, 2], [1, 3], [0, 2]];
const W = 1 / 3;

function ring(bytesPerFloat: 4 | 8, rejects: string[] = []): PeerLink[] {
  const links = NEIGHBOURS.map((nb, id) => new PeerLink({ id, m: M, neighbours: nb, selfWeight: W, neighbourWeights: nb.map(() => W), bytesPerFloat, maxFloats: 1000, onReject: (from, reason) => rejects.push(`${from}: ${reason}`) }));
  // Each pipe delivers through a splitter, in small chunks, asynchronously.
  links.forEach((link, i) =>
    NEIGHBOURS[i]!.forEach((j) => {
      const splitter = new FrameSplitter(10_000);
      link.connect(j, (frame) => {
        queueMicrotask(() => {
          for (let k = 0; k < frame.length; k += 7) for (const body of splitter.push(frame.subarray(k, k + 7))) links[j]!.receive(i, body);
        });
      });
    }),
  );
  return links;
}

function initial(seed: number): Float64Array[] {
  const rng = new Rng(seed, 'peer-link');
  return Array.from({ length: M }, () => Float64Array.from({ length: LEN }, () => rng.normal()));
}

async function gossip(links: ReadonlyArray<{ exchange: PeerLink['exchange']; selfWeight: number; neighbourWeights: ReadonlyArray<number> }>, rounds: number, x0: Float64Array[]): Promise<Float64Array[]> {
  const xs = x0.map((v) => Float64Array.from(v));
  await Promise.all(
    xs.map(async (x, i) => {
      for (let r = 0; r < rounds; r++) await mixRound(links[i] as never, x, x);
    }),
  );
  return xs;
}

for (const bytesPerFloat of [4, 8] as const) {
  test(`peer links give the simulator's gossip bit for bit at ${bytesPerFloat} bytes per float, with the same counters`, async () => {
    const x0 = initial(bytesPerFloat);
    const sim = new Simulator({ m: M, neighbours: NEIGHBOURS, weights: Float64Array.from({ length: M * M }, (_, k) => (Math.floor(k / M) === k % M || NEIGHBOURS[Math.floor(k / M)]!.includes(k % M) ? W : 0)) }, bytesPerFloat);
    const links = ring(bytesPerFloat);
    const a = await gossip(sim.links as never, 5, x0);
    const b = await gossip(links, 5, x0);
    assert.deepEqual(b.map((v) => Array.from(v)), a.map((v) => Array.from(v)));
    const total = { rounds: 0, messages: 0, floats: 0, bytes: 0 };
    for (const l of links) {
      total.rounds = Math.max(total.rounds, l.counters.rounds);
      total.messages += l.counters.messages;
      total.floats += l.counters.floats;
      total.bytes += l.counters.bytes;
    }
    const { wireBytes: _w, ...simCounters } = sim.counters;
    assert.deepEqual(total, simCounters);
  });
}

/** A frame that differs from a valid one in at least one checked field, or is garbage. */
function malformed(rng: Rng, sender: number, round: number): Uint8Array {
  const payload = Float64Array.from({ length: LEN }, () => rng.normal());
  const kind = rng.int(9);
  const frame = (s: number, r: number, d: number, p: Float64Array, b: 4 | 8) => encodeDataFrame(s, r, d, p, b).subarray(LENGTH_PREFIX_BYTES);
  switch (kind) {
    case 0: // wrong size (shorter or longer payload)
      return frame(sender, round, 2, payload.subarray(0, rng.int(LEN)), 4);
    case 1: // wrong round (stale or too far ahead)
      return frame(sender, rng.uniform() < 0.5 ? round + 2 + rng.int(100) : Math.max(0, round - 1 - rng.int(3)) === round ? round + 5 : Math.max(0, round - 1 - rng.int(3)), 2, payload, 4);
    case 2: {
      // wrong type or version or reserved byte
      const f = frame(sender, round, 2, payload, 4).slice();
      f[rng.int(2) === 0 ? 1 : rng.int(2) === 0 ? 0 : 3] = 2 + rng.int(200);
      return f;
    }
    case 3: // wrong width
      return frame(sender, round, 2, payload, 8);
    case 4: // claims another sender
      return frame((sender + 1 + rng.int(M - 1)) % M, round, 2, payload, 4);
    case 5: // impossible degree
      return frame(sender, round, rng.uniform() < 0.5 ? 0 : M + rng.int(10), payload, 4);
    case 6: {
      // truncated
      const f = frame(sender, round, 2, payload, 4);
      return f.subarray(0, rng.int(f.length));
    }
    case 7: {
      // length field inconsistent with the body
      const f = frame(sender, round, 2, payload, 4).slice();
      new DataView(f.buffer).setUint32(16, LEN + 1 + rng.int(50), true);
      return f;
    }
    default: // random bytes
      return Uint8Array.from({ length: rng.int(64) }, () => rng.int(256));
  }
}

test('1,200 random malformed frames are rejected, logged and never mixed; the run goes on unchanged', async () => {
  const x0 = initial(9);
  const reference = await gossip(ring(4), 6, x0);
  const rejects: string[] = [];
  const links = ring(4, rejects);
  const rng = new Rng(17, 'fuzz');
  let injected = 0;
  const xs = x0.map((v) => Float64Array.from(v));
  await Promise.all(
    xs.map(async (x, i) => {
      for (let r = 0; r < 6; r++) {
        // Before each round, 50 malformed frames from each neighbour's connection.
        for (const j of NEIGHBOURS[i]!) {
          for (let k = 0; k < 25; k++) {
            links[i]!.receive(j, malformed(rng, j, r));
            injected++;
          }
        }
        await mixRound(links[i]!, x, x);
      }
    }),
  );
  assert.ok(injected >= 1000, `${injected} frames injected`);
  assert.equal(links.reduce((s, l) => s + l.rejected, 0), injected, 'every malformed frame rejected');
  assert.equal(rejects.length, injected, 'and logged');
  assert.deepEqual(xs.map((v) => Array.from(v)), reference.map((v) => Array.from(v)), 'iterates unchanged');
});

test('a frame from a non-neighbour, or more than four frames for one round, is rejected', async () => {
  const rejects: string[] = [];
  const links = ring(8, rejects);
  links[0]!.receive(2, encodeDataFrame(2, 0, 2, new Float64Array(LEN), 8).subarray(4));
  assert.match(rejects[0]!, /agent 2 is not a neighbour/);
  const good = encodeDataFrame(1, 0, 2, new Float64Array(LEN).fill(1), 8).subarray(4);
  links[0]!.receive(1, good);
  links[0]!.receive(1, good);
  links[0]!.receive(1, good);
  links[0]!.receive(1, good);
  links[0]!.receive(1, good);
  assert.match(rejects.at(-1)!, /too many frames for round 0/);
});

test('the frame splitter refuses a length prefix beyond its limit and stays refused', () => {
  const s = new FrameSplitter(100);
  const bad = new Uint8Array(8);
  new DataView(bad.buffer).setUint32(0, 101, true);
  assert.throws(() => s.push(bad), /length prefix of 101 bytes exceeds the 100-byte frame limit/);
  assert.throws(() => s.push(new Uint8Array(4)), /exceeds/);
});

test('a departure noticed after this agent sent its frame of the departure round gives the same counters as one noticed before', async () => {
  // Agent 0 of the ring (neighbours 1 and 3); neighbour 1 delivers round 0 and then departs.
  const frameFrom = (sender: number, round: number, payload: Float64Array) => encodeDataFrame(sender, round, 2, payload, 8).subarray(LENGTH_PREFIX_BYTES);
  const run = async (noticedAfterSend: boolean) => {
    const link = new PeerLink({ id: 0, m: M, neighbours: [1, 3], selfWeight: W, neighbourWeights: [W, W], bytesPerFloat: 8, maxFloats: 1000 });
    let toDeparted = 0;
    for (const j of [1, 3]) link.connect(j, () => void (j === 1 && toDeparted++));
    const x = Float64Array.from({ length: LEN }, (_, i) => i + 1);
    const round0 = link.exchange(x);
    for (const j of [1, 3]) link.receive(j, frameFrom(j, 0, x));
    await round0;
    if (!noticedAfterSend) link.gone(1, 'closed before the send');
    const round1 = link.exchange(x);
    if (noticedAfterSend) link.gone(1, 'closed after the send');
    link.receive(3, frameFrom(3, 1, x));
    await round1;
    return { counters: { ...link.counters }, toDeparted, live: link.live };
  };
  const before = await run(false);
  const after = await run(true);
  // The frame of round 1 did go out to agent 1 in the second case, but it is not counted.
  assert.equal(before.toDeparted, 1);
  assert.equal(after.toDeparted, 2);
  assert.deepEqual(after.live, [3]);
  assert.deepEqual(before.live, [3]);
  assert.deepEqual({ ...after.counters, wireBytes: 0 }, { ...before.counters, wireBytes: 0 });
  assert.equal(before.counters.messages, 3);
  assert.equal(before.counters.floats, 3 * LEN);
  assert.equal(before.counters.bytes, 3 * LEN * 8);
});
