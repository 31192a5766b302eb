/**
 * One agent's libp2p node: TCP, Noise (mutual authentication and encryption
 * with the agent's Ed25519 key), yamux, an optional pre-shared-key private
 * network, and a connection gater that lets only the agent's graph neighbours
 * (by peer id) connect or be dialled. Each neighbour pair shares one stream of
 * the dbo gossip protocol, opened by the lower id; frames on it feed the
 * agent's PeerLink. Bytes written to the TCP sockets are counted (wireBytes).
 *
 * Loaded only by the libp2p runtime and the agent command, never by
 * simulator runs.
 */
import './polyfill.ts';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import type { Connection, Metrics, MultiaddrConnection, PeerId, PrivateKey, Stream } from '@libp2p/interface';
import { preSharedKey } from '@libp2p/pnet';
import { tcp } from '@libp2p/tcp';
import { multiaddr } from '@multiformats/multiaddr';
import { createLibp2p, type Libp2p } from 'libp2p';
import { FRAME_HEADER_BYTES, FrameError, FrameSplitter } from '../../network/frame.ts';
import type { PeerLink } from '../../network/peer-link.ts';
import type { PeerEntry } from './keys.ts';

export const GOSSIP_PROTOCOL = '/dbo/gossip/1.0.0';

export interface AgentNodeOptions {
  readonly id: number;
  readonly key: PrivateKey;
  /** Multiaddr to listen on, e.g. /ip4/127.0.0.1/tcp/0. */
  readonly listen: string;
  readonly neighbours: ReadonlyArray<number>;
  /** Pre-shared key (libp2p private network file contents), if the network is private. */
  readonly psk?: Uint8Array;
  /** Largest payload accepted, in floats at bytesPerFloat. */
  readonly maxFloats: number;
  readonly bytesPerFloat: number;
  /** Diagnostics (refused peers, rejected frames, lost connections). */
  readonly log: (message: string) => void;
}

const noop = () => {};
const metric = { update: noop, increment: noop, decrement: noop, reset: noop, timer: () => noop, observe: noop };

/** A libp2p Metrics that only counts bytes written to each raw (TCP) connection. */
function byteCounter(onSend: (n: number) => void): Metrics {
  return {
    trackMultiaddrConnection(maConn: MultiaddrConnection) {
      const send = maConn.send.bind(maConn);
      maConn.send = (data) => {
        onSend(data.byteLength);
        return send(data);
      };
    },
    trackProtocolStream: noop,
    registerMetric: () => metric,
    registerMetricGroup: () => metric,
    registerCounter: () => metric,
    registerCounterGroup: () => metric,
    registerHistogram: () => metric,
    registerHistogramGroup: () => metric,
    registerSummary: () => metric,
    registerSummaryGroup: () => metric,
    traceFunction: (_name: string, fn: unknown) => fn,
    createTrace: () => undefined,
  } as unknown as Metrics;
}

export class AgentNode {
  /** Bytes this agent wrote to its TCP sockets (handshakes, framing, encryption included). */
  wireBytesSent = 0;
  private node!: Libp2p;
  private readonly allowed = new Map<string, number>();
  private readonly streams = new Map<number, Stream>();
  private link: PeerLink | null = null;
  private stopping = false;
  private readonly waiters: Array<() => void> = [];
  /** Called when the connection to a neighbour closes while the run goes on. */
  onLost: (agent: number, reason: string) => void = noop;

  private constructor(readonly o: AgentNodeOptions) {}

  static async start(o: AgentNodeOptions): Promise<AgentNode> {
    const a = new AgentNode(o);
    const allowedPeer = (peer: PeerId) => a.allowed.has(peer.toString());
    const huge = 24 * 3600 * 1000;
    const maxMessage = FRAME_HEADER_BYTES + 4 + o.maxFloats * o.bytesPerFloat;
    a.node = await createLibp2p({
      privateKey: o.key,
      addresses: { listen: [o.listen] },
      transports: [tcp({ inboundSocketInactivityTimeout: huge, outboundSocketInactivityTimeout: huge })],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux({ streamOptions: { maxReadBufferLength: Math.max(4 << 20, 2 * maxMessage + (1 << 20)), inactivityTimeout: huge } })],
      ...(o.psk ? { connectionProtector: preSharedKey({ psk: o.psk }) } : {}),
      connectionGater: {
        denyDialPeer: (peer) => !allowedPeer(peer),
        denyInboundEncryptedConnection: (peer) => {
          const deny = !allowedPeer(peer);
          if (deny) o.log(`refused a connection from ${peer.toString()}: not a neighbour in the peers file`);
          return deny;
        },
        denyOutboundEncryptedConnection: (peer) => !allowedPeer(peer),
      },
      connectionMonitor: { enabled: false },
      metrics: () => byteCounter((n) => (a.wireBytesSent += n)),
    });
    await a.node.handle(GOSSIP_PROTOCOL, (stream, connection) => a.inbound(stream, connection), { maxInboundStreams: 4, maxOutboundStreams: 4 });
    return a;
  }

  get peerId(): string {
    return this.node.peerId.toString();
  }

  /** The addresses this node listens on (with the actual port when listening on port 0). */
  get addresses(): string[] {
    return this.node.getMultiaddrs().map((ma) => ma.toString().replace(/\/p2p\/[^/]+$/, ''));
  }

  /** Names the neighbours that may connect (by peer id); everyone else is refused. */
  allow(peers: ReadonlyArray<PeerEntry>): void {
    this.allowed.clear();
    for (const j of this.o.neighbours) this.allowed.set(peers[j]!.peerId, j);
  }

  /**
   * Opens one gossip stream per neighbour (dialling the higher ids, waiting
   * for the lower ones) and wires it to `link`. Rejects when not every
   * neighbour is connected within `timeoutMs`.
   */
  async connect(link: PeerLink, peers: ReadonlyArray<PeerEntry>, timeoutMs: number): Promise<void> {
    this.link = link;
    this.allow(peers);
    for (const [j, stream] of this.streams) this.wire(j, stream);
    const deadline = Date.now() + timeoutMs;
    const dials = this.o.neighbours
      .filter((j) => j > this.o.id)
      .map(async (j) => {
        const target = multiaddr(`${peers[j]!.address}/p2p/${peers[j]!.peerId}`);
        let lastError = '';
        while (Date.now() < deadline && !this.stopping) {
          try {
            const stream = await this.node.dialProtocol(target, GOSSIP_PROTOCOL, { signal: AbortSignal.timeout(Math.max(100, Math.min(5000, deadline - Date.now()))) });
            this.adopt(j, stream);
            return;
          } catch (e) {
            lastError = (e as Error).message;
            await new Promise((r) => setTimeout(r, 50));
          }
        }
        throw new Error(`agent ${this.o.id}: could not connect to agent ${j} at ${peers[j]!.address} within ${timeoutMs} ms (${lastError})`);
      });
    await Promise.all(dials);
    while (this.o.neighbours.some((j) => !this.streams.has(j))) {
      const left = deadline - Date.now();
      const missing = this.o.neighbours.filter((j) => !this.streams.has(j));
      if (left <= 0 || this.stopping) throw new Error(`agent ${this.o.id}: agents ${missing.join(', ')} did not connect within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  private inbound(stream: Stream, connection: Connection): void {
    const j = this.allowed.get(connection.remotePeer.toString());
    if (j === undefined || j > this.o.id || this.streams.has(j)) {
      this.o.log(`refused a gossip stream from ${connection.remotePeer.toString()}`);
      stream.abort(new Error('not expected'));
      return;
    }
    this.adopt(j, stream);
    for (const w of this.waiters.splice(0)) w();
  }

  private adopt(j: number, stream: Stream): void {
    this.streams.set(j, stream);
    if (this.link) this.wire(j, stream);
    else stream.pause(); // keep what arrives until the link is wired
  }

  private wire(j: number, stream: Stream): void {
    const link = this.link!;
    const splitter = new FrameSplitter(FRAME_HEADER_BYTES + this.o.maxFloats * this.o.bytesPerFloat);
    stream.addEventListener('message', (evt) => {
      let bodies: Uint8Array[];
      try {
        bodies = splitter.push(evt.data instanceof Uint8Array ? evt.data : evt.data.subarray());
      } catch (e) {
        const reason = e instanceof FrameError ? e.message : String(e);
        this.o.log(`agent ${j}'s stream is unreadable (${reason}); closing it`);
        stream.abort(new Error(reason));
        return;
      }
      for (const body of bodies) link.receive(j, body);
    });
    stream.addEventListener('close', (evt) => {
      this.streams.delete(j);
      if (this.stopping) return;
      const reason = evt.error ? evt.error.message : 'closed by the peer';
      this.onLost(j, reason);
    });
    if (stream.readStatus === 'paused') stream.resume();
    link.connect(j, async (frame) => {
      if (!stream.send(frame)) await stream.onDrain();
    });
  }

  /** Closes the gossip stream to neighbour `j`, which left this agent's view; the other end sees it close. */
  drop(j: number): void {
    const stream = this.streams.get(j);
    if (!stream) return;
    this.streams.delete(j);
    try {
      stream.abort(new Error('left the view'));
    } catch {
      // already closed
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const w of this.waiters.splice(0)) w();
    await this.node.stop();
  }
}
