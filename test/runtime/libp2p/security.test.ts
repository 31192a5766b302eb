/**
 * Who may talk to an agent (capability 5 of the libp2p transport), on
 * 127.0.0.1 with real sockets, Noise handshakes and the connection gater:
 * only the neighbours the peers file names connect. A key that is not in the
 * peers file, the listed key of an agent that is not a neighbour, another key
 * presented for a known id (inbound or at its address), and a different
 * pre-shared key are all refused. Each case has a positive control: the
 * right keys (and the same pre-shared key) connect. Malformed frames are
 * covered by test/network/peer-link.test.ts. Skips without 127.0.0.1.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { resolveConfig, type RunConfig } from '../../../src/experiments/config.ts';
import { NetworkAgent } from '../../../src/runtime/libp2p/agent.ts';
import { generateKeyFile, generatePskText, type PeerEntry } from '../../../src/runtime/libp2p/keys.ts';
import { tempDir, writeQuadratic } from '../../helpers.ts';
import { freePorts, loopbackUsable } from './loopback.ts';

const skip = (await loopbackUsable()) ? false : 'cannot listen on 127.0.0.1';
const root = tempDir('dbo-libp2p-security-');
const TIMEOUT = 1500;

interface Identity {
  readonly key: PrivateKey;
  readonly peerId: string;
}
async function identity(): Promise<Identity> {
  const k = await generateKeyFile();
  return { key: privateKeyFromProtobuf(Buffer.from(k.privateKey, 'base64')), peerId: k.peerId };
}

function config(agents: number, topology: 'complete' | 'path'): RunConfig {
  const file = writeQuadratic(root, { agents, dx: 2, dy: 2, problemClass: 'global', heterogeneity: 0.2, noise: 0 }, agents);
  return resolveConfig({ seed: 1, iterations: 2, problem: { type: 'quadratic', file }, topology: { type: topology, agents }, algorithm: { name: 'd-soba' } });
}

const running: NetworkAgent[] = [];
after(async () => {
  await Promise.all(running.map((a) => a.stop().catch(() => {})));
});

/** Starts agent `id` with `who`'s key on 127.0.0.1; `logs` collects its diagnostics. */
async function start(cfg: RunConfig, id: number, who: Identity, port: number, psk?: string): Promise<{ agent: NetworkAgent; logs: string[] }> {
  const logs: string[] = [];
  const agent = await NetworkAgent.start({ config: cfg, id, key: who.key, listen: `/ip4/127.0.0.1/tcp/${port}`, log: (s) => logs.push(s), ...(psk ? { psk: new TextEncoder().encode(psk) } : {}) });
  running.push(agent);
  return { agent, logs };
}

const peers = (ids: Identity[], ports: number[]): PeerEntry[] => ids.map((p, id) => ({ id, peerId: p.peerId, address: `/ip4/127.0.0.1/tcp/${ports[id]}` }));

async function stopAll(...agents: NetworkAgent[]): Promise<void> {
  await Promise.all(agents.map((a) => a.stop()));
}

test('the right keys connect; a key not in the peers file, or another key for a known id, is refused', { skip, timeout: 60_000 }, async () => {
  const cfg = config(2, 'complete');
  const [k0, k1, stranger] = await Promise.all([identity(), identity(), identity()]);

  // Positive control: both agents hold the keys the peers file lists.
  {
    const ports = await freePorts(2);
    const list = peers([k0, k1], ports);
    const a0 = await start(cfg, 0, k0, ports[0]!);
    const a1 = await start(cfg, 1, k1, ports[1]!);
    await Promise.all([a0.agent.connect(list, 20_000), a1.agent.connect(list, 20_000)]);
    await stopAll(a0.agent, a1.agent);
  }

  // A key that is not in the peers file dials agent 1 (claiming to be agent 0): refused at agent 1's gater.
  {
    const ports = await freePorts(2);
    const a1 = await start(cfg, 1, k1, ports[1]!);
    const intruder = await start(cfg, 0, stranger, ports[0]!);
    const [own, theirs] = await Promise.allSettled([a1.agent.connect(peers([k0, k1], ports), TIMEOUT), intruder.agent.connect(peers([stranger, k1], ports), TIMEOUT)]);
    assert.equal(theirs.status, 'rejected');
    assert.match(String((theirs as PromiseRejectedResult).reason), /could not connect to agent 1/);
    assert.equal(own.status, 'rejected', 'agent 1 never got a gossip stream');
    assert.match(String((own as PromiseRejectedResult).reason), /agents 0 did not connect/);
    assert.ok(a1.logs.some((l) => l.includes(`refused a connection from ${stranger.peerId}`)), `agent 1 logged the refusal: ${a1.logs.join(' | ')}`);
    await stopAll(a1.agent, intruder.agent);
  }

  // Another key at agent 1's address: agent 0 expects agent 1's peer id there, so the Noise handshake fails.
  {
    const ports = await freePorts(2);
    const a0 = await start(cfg, 0, k0, ports[0]!);
    const impostor = await start(cfg, 1, stranger, ports[1]!);
    const [own, theirs] = await Promise.allSettled([a0.agent.connect(peers([k0, k1], ports), TIMEOUT), impostor.agent.connect(peers([k0, stranger], ports), TIMEOUT)]);
    assert.equal(own.status, 'rejected');
    assert.match(String((own as PromiseRejectedResult).reason), /could not connect to agent 1/);
    assert.equal(theirs.status, 'rejected', 'the impostor never got a gossip stream');
    await stopAll(a0.agent, impostor.agent);
  }
});

test('only graph neighbours connect: a listed agent that is not a neighbour is refused at the gater', { skip, timeout: 60_000 }, async () => {
  const path = config(3, 'path'); // 0 — 1 — 2
  const complete = config(3, 'complete'); // what agent 0 wrongly believes
  const ids = await Promise.all([identity(), identity(), identity()]);
  const ports = await freePorts(3);
  const list = peers(ids, ports);
  const a2 = await start(path, 2, ids[2]!, ports[2]!);
  const a0 = await start(complete, 0, ids[0]!, ports[0]!);
  const [own, theirs] = await Promise.allSettled([a2.agent.connect(list, TIMEOUT), a0.agent.connect(list, TIMEOUT)]);
  assert.equal(theirs.status, 'rejected');
  assert.equal(own.status, 'rejected');
  assert.ok(a2.logs.some((l) => l.includes(`refused a connection from ${ids[0]!.peerId}`)), `agent 2 refused agent 0: ${a2.logs.join(' | ')}`);
  await stopAll(a0.agent, a2.agent);
});

test('a pre-shared key mismatch is refused; the same pre-shared key connects', { skip, timeout: 60_000 }, async () => {
  const cfg = config(2, 'complete');
  const ids = await Promise.all([identity(), identity()]);
  const [pskA, pskB] = [generatePskText(), generatePskText()];
  {
    const ports = await freePorts(2);
    const list = peers(ids, ports);
    const a0 = await start(cfg, 0, ids[0]!, ports[0]!, pskA);
    const a1 = await start(cfg, 1, ids[1]!, ports[1]!, pskA);
    await Promise.all([a0.agent.connect(list, 20_000), a1.agent.connect(list, 20_000)]);
    await stopAll(a0.agent, a1.agent);
  }
  {
    const ports = await freePorts(2);
    const list = peers(ids, ports);
    const a0 = await start(cfg, 0, ids[0]!, ports[0]!, pskA);
    const a1 = await start(cfg, 1, ids[1]!, ports[1]!, pskB);
    const results = await Promise.allSettled([a0.agent.connect(list, TIMEOUT), a1.agent.connect(list, TIMEOUT)]);
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected'], 'neither side connects with another pre-shared key');
    await stopAll(a0.agent, a1.agent);
  }
  {
    // A member of the private network and an outsider without any pre-shared key.
    const ports = await freePorts(2);
    const list = peers(ids, ports);
    const a0 = await start(cfg, 0, ids[0]!, ports[0]!);
    const a1 = await start(cfg, 1, ids[1]!, ports[1]!, pskA);
    const results = await Promise.allSettled([a0.agent.connect(list, TIMEOUT), a1.agent.connect(list, TIMEOUT)]);
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected'], 'no connection between the private network and an outsider');
    await stopAll(a0.agent, a1.agent);
  }
});
