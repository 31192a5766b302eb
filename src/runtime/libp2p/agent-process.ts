/**
 * Entry point of an agent process started by the local libp2p runtime
 * (runtime.ts). It listens on 127.0.0.1 with a fresh key, tells the parent its
 * address, connects to its neighbours once the parent has sent every agent's
 * peer id and address, and then obeys the parent's requests over IPC.
 */
import type { ParentMessage, ChildMessage } from './ipc.ts';
import { NetworkAgent } from './agent.ts';
import { generateKeyFile } from './keys.ts';

let agent: NetworkAgent | null = null;
let stopping = false;

/** Stops the node (at most 2 s for a graceful close) and exits. */
async function shutdown(): Promise<void> {
  if (stopping) return;
  stopping = true;
  setTimeout(() => process.exit(0), 2000).unref();
  await agent?.stop().catch(() => {});
  process.exit(0);
}

function send(message: ChildMessage): void {
  // The parent may be gone (killed): then there is no one to tell, and the 'disconnect' handler shuts down.
  if (!process.connected) return;
  process.send!(message, undefined, {}, () => {});
}

function log(message: string): void {
  send({ type: 'log', message });
}

async function handle(msg: ParentMessage): Promise<void> {
  switch (msg.type) {
    case 'init': {
      const { privateKeyFromProtobuf } = await import('@libp2p/crypto/keys');
      const keyFile = await generateKeyFile();
      const key = privateKeyFromProtobuf(Buffer.from(keyFile.privateKey, 'base64'));
      agent = await NetworkAgent.start({ config: msg.config, id: msg.id, key, listen: '/ip4/127.0.0.1/tcp/0', log, onEvent: (event) => send({ type: 'event', event }), ...(msg.psk ? { psk: msg.psk } : {}) });
      send({ type: 'ready', peerId: agent.node.peerId, address: agent.node.addresses[0]! });
      return;
    }
    case 'peers':
      await agent!.connect(msg.peers, msg.timeoutMs);
      send({ type: 'connected' });
      return;
    case 'advance': {
      const r = await agent!.advance(msg.to, msg.progress ? (t) => send({ type: 'progress', iteration: t }) : undefined);
      send({ type: 'advanced', ...r });
      return;
    }
    case 'snapshot':
      send({ type: 'snapshot', view: agent!.view() });
      return;
    case 'counters':
      send({ type: 'counters', ...agent!.counters() });
      return;
    case 'checkpoint':
      send({ type: 'checkpoint', agent: agent!.checkpoint() });
      return;
    case 'restore':
      agent!.restore(msg.iteration, msg.agent);
      send({ type: 'restored' });
      return;
    case 'stop':
      await shutdown();
      return;
  }
}

let queue = Promise.resolve();
process.on('message', (msg: ParentMessage) => {
  queue = queue.then(() =>
    handle(msg).catch((e: unknown) => {
      send({ type: 'error', message: e instanceof Error ? e.message : String(e) });
      setTimeout(() => process.exit(1), 100);
    }),
  );
});
process.on('disconnect', () => void shutdown());
// Ctrl-C reaches the whole process group: the parent decides where the run stops (and checkpoints), so agents ignore it.
process.on('SIGINT', () => {});
