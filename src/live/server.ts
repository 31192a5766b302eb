/**
 * The live view's HTTP server: node:http on 127.0.0.1 only. Routes:
 *
 *   /          the page (src/live/page.html + page.js, no external resource)
 *   /page.js   the page's script
 *   /vega.js   vega's browser build, served from node_modules over 127.0.0.1
 *   /events    Server-Sent Events: everything published so far on connect,
 *              then each new event; `end` when the run is over
 *
 * Published events are kept so that a page opened late (or reloaded) sees
 * the whole run: events with a key replace their previous value in place
 * (the latest agents' colours, a case's status), the others (rows) are all
 * kept. Requests whose Host is not this server's address are refused, so a
 * web page on another site cannot read the stream through DNS rebinding.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../errors.ts';
import { escapeHtml } from '../report/html.ts';

/** Port used when `--serve` is given without a value. */
export const DEFAULT_PORT = 8765;

const HOST = '127.0.0.1';

function asset(name: string): string {
  return readFileSync(fileURLToPath(new URL(`./${name}`, import.meta.url)), 'utf8');
}

/** vega's self-contained browser build (UMD, defines `vega`); the package exports only its schema, so the build is found next to it. */
function vegaBrowserBuild(): string {
  const schema = fileURLToPath(import.meta.resolve('vega/vega-schema.json'));
  return readFileSync(join(dirname(schema), 'vega.min.js'), 'utf8');
}

export class LiveServer {
  private readonly history = new Map<string, string>();
  private readonly clients = new Set<ServerResponse>();
  private counter = 0;
  private finished = false;
  private closed = false;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly page: string,
    private readonly sockets: Set<Socket>,
  ) {}

  /** The page's address, e.g. http://127.0.0.1:8765/. */
  get url(): string {
    return `http://${HOST}:${this.port}/`;
  }

  /**
   * Listens on 127.0.0.1:`port` (0 = any free port). A port in use or not
   * allowed is a ConfigError naming `option`.
   */
  static async start(port: number, title: string, option = '--serve'): Promise<LiveServer> {
    const page = asset('page.html').split('{{title}}').join(escapeHtml(title));
    const script = asset('page.js');
    let vega: string | undefined;
    let live: LiveServer | undefined;
    const server = createServer((req, res) => {
      if (!live) return void res.writeHead(503).end();
      if (!live.hostAllowed(req)) return void res.writeHead(403, { 'content-type': 'text/plain' }).end('forbidden: wrong Host\n');
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET') return void res.writeHead(405, { allow: 'GET' }).end();
      if (path === '/' || path === '/index.html') return send(res, 'text/html; charset=utf-8', live.page);
      if (path === '/page.js') return send(res, 'text/javascript; charset=utf-8', script);
      if (path === '/vega.js') return send(res, 'text/javascript; charset=utf-8', (vega ??= vegaBrowserBuild()));
      if (path === '/events') return live.subscribe(req, res);
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    });
    const sockets = new Set<Socket>();
    server.on('connection', (s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'EADDRINUSE') reject(new ConfigError(option, `port ${port} on ${HOST} is in use; choose another port, or 0 for any free one`));
        else if (e.code === 'EACCES') reject(new ConfigError(option, `port ${port} on ${HOST} is not allowed for this user; choose a port above 1023, or 0 for any free one`));
        else reject(e);
      });
      server.listen(port, HOST, () => resolve());
    });
    live = new LiveServer(server, (server.address() as AddressInfo).port, page, sockets);
    return live;
  }

  private hostAllowed(req: IncomingMessage): boolean {
    const host = req.headers.host ?? '';
    return host === `${HOST}:${this.port}` || host === `localhost:${this.port}`;
  }

  private subscribe(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.write('retry: 2000\n\n');
    for (const message of this.history.values()) res.write(message);
    if (this.finished) {
      res.end(message('end', {}));
      return;
    }
    this.clients.add(res);
    req.on('close', () => this.clients.delete(res));
  }

  /**
   * Sends `event` with JSON `data` to every page and keeps it for pages that
   * connect later; with `key`, it replaces the previous event of that key.
   */
  publish(event: string, data: unknown, key?: string): void {
    if (this.finished) return;
    const text = message(event, data);
    this.history.set(key === undefined ? `#${this.counter++}` : `${event}:${key}`, text);
    for (const c of this.clients) c.write(text);
  }

  /** Forgets the kept events whose key starts with `${event}:${prefix}` (e.g. the rows of a restarted sweep case). */
  forget(event: string, prefix: string): void {
    for (const k of [...this.history.keys()]) if (k.startsWith(`${event}:${prefix}`)) this.history.delete(k);
  }

  /** Tells every page (and every page opened later) that the run is over; keeps serving. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    const text = message('end', {});
    for (const c of this.clients) c.end(text);
    this.clients.clear();
  }

  /** Finishes and stops listening; open connections are closed. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.finish();
    const done = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.end();
    this.server.closeIdleConnections();
    setTimeout(() => {
      for (const s of this.sockets) s.destroy();
    }, 500).unref();
    await done;
  }
}

function message(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

function send(res: ServerResponse, type: string, body: string): void {
  res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  res.end(body);
}
