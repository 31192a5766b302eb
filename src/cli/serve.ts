/**
 * `--serve [PORT]` and `--stay` of `dbo run` and `dbo sweep`: the live view
 * (src/live). The server starts before anything is written, so a port in use
 * fails with one line and leaves nothing behind; it stops when the run ends
 * unless `--stay` keeps it serving until Ctrl-C.
 */
import { Option } from 'commander';
import { ConfigError } from '../errors.ts';
import type { RunConfig } from '../experiments/config.ts';
import type { RunToDirectoryOptions } from '../experiments/run-to-directory.ts';
import type { SweepEvent } from '../experiments/sweep.ts';
import type { LiveServer } from '../live/server.ts';

export interface ServeOptions {
  /** `true` when `--serve` has no value (the default port). */
  serve?: number | true;
  stay?: boolean;
}

/** A TCP port, 0 … 65535 (0 = any free port). */
export function portParser(value: string): number {
  const v = Number(value);
  if (value.trim() === '' || !Number.isInteger(v) || v < 0 || v > 65535)
    throw new ConfigError('--serve', `expected a port number 0–65535 (0 = any free port), got '${value}' (put --serve after the config file)`);
  return v;
}

export function serveOption(): Option {
  return new Option('--serve [port]', 'show the run live in the browser at http://127.0.0.1:PORT/ (default port 8765; 0 = any free port)').argParser(portParser);
}

export function stayOption(): Option {
  return new Option('--stay', 'with --serve: keep serving after the run ends, until Ctrl-C');
}

/** The live view of one run: `observe` goes to runToDirectory; `end` after the run, `close` on failure. */
export interface LiveRun {
  readonly observe: RunToDirectoryOptions['observe'];
  end(stay: boolean): Promise<void>;
  close(): Promise<void>;
}

/** Serves the live view of `config`'s run when `--serve` was given. */
export async function serveRun(opts: ServeOptions, config: RunConfig): Promise<LiveRun | undefined> {
  const server = await startServing(opts, config.name ?? config.algorithm.name);
  if (!server) return undefined;
  const { RunFeed } = await import('../live/feed.ts');
  const feed = await RunFeed.create(server);
  return { observe: feed.observer, end: (stay) => stopServing(server, stay), close: () => server.close() };
}

/** The live view of a sweep: pass `onEvent` the sweep's events; `end` after the sweep, `close` on failure. */
export interface LiveSweep {
  onEvent(e: SweepEvent): void;
  end(stay: boolean): Promise<void>;
  close(): Promise<void>;
}

/** Serves the live view of the sweep in `dir` when `--serve` was given: one curve per case. */
export async function serveSweep(opts: ServeOptions, title: string, dir: string, cases: ReadonlyArray<{ id: string }>): Promise<LiveSweep | undefined> {
  const server = await startServing(opts, title);
  if (!server) return undefined;
  const { SweepFeed } = await import('../live/sweep-feed.ts');
  const feed = await SweepFeed.create(server);
  feed.watch(dir, cases);
  const stop = async (then: () => Promise<void>) => {
    feed.stop();
    await then();
  };
  return { onEvent: feed.onEvent, end: (stay) => stop(() => stopServing(server, stay)), close: () => stop(() => server.close()) };
}

/** Starts the live server when `--serve` was given (printing its address), else undefined. */
export async function startServing(opts: ServeOptions, title: string): Promise<LiveServer | undefined> {
  if (opts.stay && opts.serve === undefined) throw new ConfigError('--stay', 'applies with --serve only');
  if (opts.serve === undefined) return undefined;
  const { DEFAULT_PORT, LiveServer } = await import('../live/server.ts');
  const server = await LiveServer.start(opts.serve === true ? DEFAULT_PORT : opts.serve, title);
  console.log(`live view at ${server.url}`);
  return server;
}

/**
 * Ends the live view after the run: tells the pages it is over and stops
 * serving, or with `stay` keeps serving until SIGINT / SIGTERM.
 */
export async function stopServing(server: LiveServer | undefined, stay: boolean): Promise<void> {
  if (!server) return;
  if (!stay) return server.close();
  server.finish();
  console.log(`run finished; still serving ${server.url} (Ctrl-C to stop)`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await server.close();
}
