/**
 * Agent identities and the peers file.
 *
 * Key file (`dbo keygen --out FILE`, mode 0600): JSON
 *   {"type": "dbo-agent-key", "peerId": "12D3Koo…", "privateKey": "<base64 libp2p protobuf of an Ed25519 key>"}
 * Peers file: YAML (.yaml, .yml) or JSON
 *   {"agents": [{"id": 0, "peerId": "12D3Koo…", "address": "/ip4/10.0.0.5/tcp/7000"}, …]}
 * with one entry per agent id 0 … m − 1 (`address` is a multiaddr, or host:port).
 * Pre-shared key file (`dbo keygen --psk --out FILE`): the libp2p private
 * network format ("/key/swarm/psk/1.0.0/", "/base16/", 64 hex digits).
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { DboError } from '../../errors.ts';

export interface KeyFile {
  readonly type: 'dbo-agent-key';
  readonly peerId: string;
  readonly privateKey: string;
}

export interface PeerEntry {
  readonly id: number;
  readonly peerId: string;
  /** A multiaddr, e.g. /ip4/127.0.0.1/tcp/7000. */
  readonly address: string;
}

function readJsonFile(file: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new DboError(`${file}: cannot read the ${what} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  const yaml = /\.ya?ml$/i.test(file);
  try {
    return yaml ? parseYaml(text) : JSON.parse(text);
  } catch (e) {
    throw new DboError(`${file}: the ${what} is not valid ${yaml ? `YAML (${(e as Error).message.split('\n')[0]})` : 'JSON'}`);
  }
}

const PEER_ID = /^[1-9A-HJ-NP-Za-km-z]{40,100}$/;

/** Generates a fresh Ed25519 identity. */
export async function generateKeyFile(): Promise<KeyFile> {
  await import('./polyfill.ts');
  const { generateKeyPair, privateKeyToProtobuf } = await import('@libp2p/crypto/keys');
  const { peerIdFromPrivateKey } = await import('@libp2p/peer-id');
  const key = await generateKeyPair('Ed25519');
  return { type: 'dbo-agent-key', peerId: peerIdFromPrivateKey(key).toString(), privateKey: Buffer.from(privateKeyToProtobuf(key)).toString('base64') };
}

/** Reads a key file and checks that its peer id matches its key. */
export async function readKeyFile(file: string) {
  const json = readJsonFile(file, 'key file') as Partial<KeyFile>;
  if (json?.type !== 'dbo-agent-key' || typeof json.privateKey !== 'string' || typeof json.peerId !== 'string') throw new DboError(`${file}: expected a dbo key file {"type": "dbo-agent-key", "peerId", "privateKey"} (make one with dbo keygen)`);
  await import('./polyfill.ts');
  const { privateKeyFromProtobuf } = await import('@libp2p/crypto/keys');
  const { peerIdFromPrivateKey } = await import('@libp2p/peer-id');
  let key;
  try {
    key = privateKeyFromProtobuf(Buffer.from(json.privateKey, 'base64'));
  } catch (e) {
    throw new DboError(`${file}: privateKey is not a valid libp2p private key (${(e as Error).message})`);
  }
  const peerId = peerIdFromPrivateKey(key).toString();
  if (peerId !== json.peerId) throw new DboError(`${file}: peerId ${json.peerId} does not belong to the private key (its peer id is ${peerId})`);
  return { key, peerId };
}

/** A multiaddr from a multiaddr or HOST:PORT ([v6]:PORT for IPv6; a name becomes /dns/NAME). */
export function toMultiaddr(address: string, where: string): string {
  if (address.startsWith('/')) return address;
  const m = /^([^:]+|\[[^\]]+\]):(\d{1,5})$/.exec(address);
  if (!m) throw new DboError(`${where}: expected a multiaddr (/ip4/HOST/tcp/PORT) or HOST:PORT, got '${address}'`);
  const host = m[1]!.replace(/^\[|\]$/g, '');
  const proto = /^\d+\.\d+\.\d+\.\d+$/.test(host) ? 'ip4' : host.includes(':') ? 'ip6' : 'dns';
  return `/${proto}/${host}/tcp/${m[2]}`;
}

/** Parses a peers file; it must list every agent id 0 … m − 1 exactly once. */
export function parsePeers(json: unknown, m: number, file: string): PeerEntry[] {
  const agents = (json as { agents?: unknown })?.agents;
  if (!Array.isArray(agents)) throw new DboError(`${file}: expected {"agents": [{"id", "peerId", "address"}, …]}`);
  const out: PeerEntry[] = new Array(m);
  agents.forEach((a: unknown, k) => {
    const e = a as Partial<PeerEntry>;
    const where = `${file}: agents[${k}]`;
    if (typeof e !== 'object' || e === null) throw new DboError(`${where}: expected an object {id, peerId, address}`);
    if (!Number.isInteger(e.id) || e.id! < 0 || e.id! >= m) throw new DboError(`${where}.id: expected an agent id in 0…${m - 1}, got ${JSON.stringify(e.id)}`);
    if (typeof e.peerId !== 'string' || !PEER_ID.test(e.peerId)) throw new DboError(`${where}.peerId: expected a libp2p peer id (from dbo keygen), got ${JSON.stringify(e.peerId)}`);
    if (typeof e.address !== 'string') throw new DboError(`${where}.address: expected a multiaddr or HOST:PORT`);
    if (out[e.id!]) throw new DboError(`${where}.id: agent ${e.id} is listed twice`);
    out[e.id!] = { id: e.id!, peerId: e.peerId, address: toMultiaddr(e.address, `${where}.address`) };
  });
  const seen = new Set<string>();
  for (let i = 0; i < m; i++) {
    if (!out[i]) throw new DboError(`${file}: agent ${i} is missing (the run has ${m} agents)`);
    if (seen.has(out[i]!.peerId)) throw new DboError(`${file}: agent ${i} reuses another agent's peerId`);
    seen.add(out[i]!.peerId);
  }
  return out;
}

/**
 * Where an agent listens by default, given its address in the peers file:
 * the address itself, except that a DNS name (which a socket cannot bind)
 * becomes every interface at the same port.
 */
export function listenAddressFor(address: string): string {
  const m = /^\/(dns|dns4|dns6)\/[^/]+\/tcp\/(\d+)$/.exec(address);
  if (!m) return address;
  return m[1] === 'dns6' ? `/ip6/::/tcp/${m[2]}` : `/ip4/0.0.0.0/tcp/${m[2]}`;
}

export function readPeersFile(file: string, m: number): PeerEntry[] {
  return parsePeers(readJsonFile(file, 'peers file'), m, file);
}

/** Makes a pre-shared key file's text (libp2p private network format). */
export function generatePskText(): string {
  const hex = Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(32))).toString('hex');
  return `/key/swarm/psk/1.0.0/\n/base16/\n${hex}\n`;
}

export function readPskFile(file: string): Uint8Array {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new DboError(`${file}: cannot read the pre-shared key (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  if (!/^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-fA-F]{64}\s*$/.test(text)) throw new DboError(`${file}: expected a pre-shared key ("/key/swarm/psk/1.0.0/", "/base16/", 64 hex digits; make one with dbo keygen --psk)`);
  return new TextEncoder().encode(text);
}
