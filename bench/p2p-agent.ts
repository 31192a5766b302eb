/**
 * One agent process of bench/p2p.ts: a libp2p node (TCP, Noise, yamux, the
 * gater) and a PeerLink on a ring, timing gossip rounds (mixRound) of a given
 * payload size on command from the parent over IPC.
 */
import { performance } from 'node:perf_hooks';
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys';
import { mixRound } from '../src/network/link.ts';
import { PeerLink } from '../src/network/peer-link.ts';
import type { BytesPerFloat } from '../src/network/wire.ts';
import { generateKeyFile, type PeerEntry } from '../src/runtime/libp2p/keys.ts';
import { AgentNode } from '../src/runtime/libp2p/node.ts';

export type BenchParent =
  | { type: 'init'; id: number; neighbours: number[]; selfWeight: number; weights: number[]; bytesPerFloat: BytesPerFloat; maxFloats: number }
  | { type: 'peers'; peers: PeerEntry[] }
  | { type: 'rounds'; floats: number; warmup: number; rounds: number }
  | { type: 'stop' };
export type BenchChild =
  | { type: 'ready'; peerId: string; address: string }
  | { type: 'connected' }
  | { type: 'done'; ms: number[]; wireBytes: number; bytes: number }
  | { type: 'error'; message: string };

let node: AgentNode | null = null;
let link: PeerLink | null = null;
const send = (m: BenchChild) => process.send!(m);

async function handle(msg: BenchParent): Promise<void> {
  if (msg.type === 'init') {
    const k = await generateKeyFile();
    const key = privateKeyFromProtobuf(Buffer.from(k.privateKey, 'base64'));
    link = new PeerLink({ id: msg.id, m: msg.neighbours.length + 2, neighbours: msg.neighbours, selfWeight: msg.selfWeight, neighbourWeights: msg.weights, bytesPerFloat: msg.bytesPerFloat, maxFloats: msg.maxFloats });
    node = await AgentNode.start({ id: msg.id, key, listen: '/ip4/127.0.0.1/tcp/0', neighbours: msg.neighbours, maxFloats: msg.maxFloats, bytesPerFloat: msg.bytesPerFloat, log: () => {} });
    send({ type: 'ready', peerId: node.peerId, address: node.addresses[0]! });
  } else if (msg.type === 'peers') {
    await node!.connect(link!, msg.peers, 30_000);
    send({ type: 'connected' });
  } else if (msg.type === 'rounds') {
    const x = Float64Array.from({ length: msg.floats }, (_, i) => Math.sin(i));
    const out = new Float64Array(msg.floats);
    for (let r = 0; r < msg.warmup; r++) await mixRound(link!, x, out);
    const wire0 = node!.wireBytesSent;
    const bytes0 = link!.counters.bytes;
    const ms: number[] = [];
    for (let r = 0; r < msg.rounds; r++) {
      const t0 = performance.now();
      await mixRound(link!, x, out);
      ms.push(performance.now() - t0);
    }
    send({ type: 'done', ms, wireBytes: node!.wireBytesSent - wire0, bytes: link!.counters.bytes - bytes0 });
  } else {
    await node?.stop().catch(() => {});
    process.exit(0);
  }
}

let queue = Promise.resolve();
process.on('message', (msg: BenchParent) => {
  queue = queue.then(() => handle(msg)).catch((e: unknown) => {
    send({ type: 'error', message: e instanceof Error ? e.message : String(e) });
    setTimeout(() => process.exit(1), 100);
  });
});
process.on('disconnect', () => process.exit(0));
