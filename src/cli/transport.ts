/**
 * `--transport` of `dbo run`: the in-process simulator (default) or one
 * process per agent over libp2p on 127.0.0.1. libp2p is imported only when
 * asked for, so `dbo --help` and simulator runs never load it.
 */
import { ConfigError } from '../errors.ts';
import type { RuntimeFactory } from '../experiments/runner.ts';

export const TRANSPORTS = ['simulator', 'libp2p'] as const;
export type Transport = (typeof TRANSPORTS)[number];

export function transportParser(value: string): Transport {
  if (!(TRANSPORTS as ReadonlyArray<string>).includes(value)) throw new ConfigError('--transport', `expected one of ${TRANSPORTS.join(', ')}, got '${value}'`);
  return value as Transport;
}

/** The runtime factory for a transport; undefined means the runner's default (the simulator). */
export function runtimeFor(transport: Transport, pskFile?: string): RuntimeFactory | undefined {
  if (transport === 'simulator') {
    if (pskFile !== undefined) throw new ConfigError('--psk', 'applies to --transport libp2p only');
    return undefined;
  }
  return async (run) => {
    const { readPskFile } = await import('../runtime/libp2p/keys.ts');
    const { Libp2pRuntime } = await import('../runtime/libp2p/runtime.ts');
    return Libp2pRuntime.create(run, pskFile === undefined ? {} : { psk: readPskFile(pskFile) });
  };
}
