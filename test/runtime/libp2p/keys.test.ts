/**
 * Agent identities and the peers file (src/runtime/libp2p/keys.ts): key
 * files check that their peer id belongs to their key, peers files (YAML or
 * JSON) must list every agent once with distinct peer ids and valid
 * addresses, pre-shared key files must have the private-network format;
 * every error is one line naming the file and the field.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DboError } from '../../../src/errors.ts';
import { generateKeyFile, generatePskText, listenAddressFor, parsePeers, readKeyFile, readPeersFile, readPskFile, toMultiaddr } from '../../../src/runtime/libp2p/keys.ts';
import { tempDir } from '../../helpers.ts';

const root = tempDir('dbo-keys-');
const fails = (re: RegExp) => (e: unknown) => e instanceof DboError && re.test(e.message) && !e.message.includes('\n');

test('a key file reads back to the same peer id; a peer id that is not the key\'s is refused', async () => {
  const k = await generateKeyFile();
  const file = join(root, 'good.key');
  writeFileSync(file, JSON.stringify(k));
  const { peerId, key } = await readKeyFile(file);
  assert.equal(peerId, k.peerId);
  assert.equal(key.type, 'Ed25519');
  const other = await generateKeyFile();
  const forged = join(root, 'forged.key');
  writeFileSync(forged, JSON.stringify({ ...k, peerId: other.peerId }));
  await assert.rejects(readKeyFile(forged), fails(/forged\.key: peerId .* does not belong to the private key/));
  const junk = join(root, 'junk.key');
  writeFileSync(junk, '{"type": "something else"}');
  await assert.rejects(readKeyFile(junk), fails(/junk\.key: expected a dbo key file/));
});

test('peers files in YAML and JSON; HOST:PORT becomes a multiaddr', async () => {
  const ids = await Promise.all([generateKeyFile(), generateKeyFile(), generateKeyFile()]);
  const yaml = join(root, 'peers.yaml');
  writeFileSync(yaml, `agents:\n  - {id: 2, peerId: ${ids[2]!.peerId}, address: "[::1]:7002"}\n  - {id: 0, peerId: ${ids[0]!.peerId}, address: 10.0.0.5:7000}\n  - {id: 1, peerId: ${ids[1]!.peerId}, address: node-b.example:7001}\n`);
  const peers = readPeersFile(yaml, 3);
  assert.deepEqual(peers.map((p) => p.address), ['/ip4/10.0.0.5/tcp/7000', '/dns/node-b.example/tcp/7001', '/ip6/::1/tcp/7002']);
  assert.deepEqual(peers.map((p) => p.peerId), ids.map((k) => k.peerId));
  const json = join(root, 'peers.json');
  writeFileSync(json, JSON.stringify({ agents: ids.map((k, id) => ({ id, peerId: k.peerId, address: `/ip4/127.0.0.1/tcp/${7000 + id}` })) }));
  assert.equal(readPeersFile(json, 3)[2]!.address, '/ip4/127.0.0.1/tcp/7002');
  assert.equal(listenAddressFor('/dns/node-b.example/tcp/7001'), '/ip4/0.0.0.0/tcp/7001', 'a name cannot be bound: listen on every interface');
  assert.equal(listenAddressFor('/ip4/10.0.0.5/tcp/7000'), '/ip4/10.0.0.5/tcp/7000');
  assert.equal(toMultiaddr('0.0.0.0:7000', '--listen'), '/ip4/0.0.0.0/tcp/7000');
});

test('peers file errors name the file and the field', async () => {
  const [a, b] = await Promise.all([generateKeyFile(), generateKeyFile()]);
  const entry = (id: unknown, peerId: unknown, address: unknown) => ({ id, peerId, address });
  const cases: Array<[unknown, RegExp]> = [
    [{ peers: [] }, /f: expected \{"agents"/],
    [{ agents: [entry(0, a.peerId, '1.2.3.4:1')] }, /f: agent 1 is missing \(the run has 2 agents\)/],
    [{ agents: [entry(0, a.peerId, '1.2.3.4:1'), entry(0, b.peerId, '1.2.3.4:2')] }, /agents\[1\]\.id: agent 0 is listed twice/],
    [{ agents: [entry(0, a.peerId, '1.2.3.4:1'), entry(1, a.peerId, '1.2.3.4:2')] }, /agent 1 reuses another agent's peerId/],
    [{ agents: [entry(0, 'not-a-peer-id', '1.2.3.4:1'), entry(1, b.peerId, '1.2.3.4:2')] }, /agents\[0\]\.peerId: expected a libp2p peer id/],
    [{ agents: [entry(0, a.peerId, 'somewhere'), entry(1, b.peerId, '1.2.3.4:2')] }, /agents\[0\]\.address: expected a multiaddr/],
    [{ agents: [entry(5, a.peerId, '1.2.3.4:1'), entry(1, b.peerId, '1.2.3.4:2')] }, /agents\[0\]\.id: expected an agent id in 0…1/],
  ];
  for (const [json, re] of cases) assert.throws(() => parsePeers(json, 2, 'f'), fails(re), re.source);
  const bad = join(root, 'bad.yaml');
  writeFileSync(bad, 'agents: [\n');
  assert.throws(() => readPeersFile(bad, 2), fails(/bad\.yaml: the peers file is not valid YAML/));
});

test('pre-shared key files: the generated format reads back; anything else is refused', () => {
  const good = join(root, 'swarm.psk');
  writeFileSync(good, generatePskText());
  assert.ok(readPskFile(good).length > 64);
  const bad = join(root, 'bad.psk');
  writeFileSync(bad, 'secret\n');
  assert.throws(() => readPskFile(bad), fails(/bad\.psk: expected a pre-shared key/));
});
