/**
 * Ctrl-C / SIGTERM during `dbo run` and `dbo resume`: the first signal asks
 * the run to stop at the next iteration boundary it can (the simulator: the
 * next iteration; worker threads: one of the next two, where they agree;
 * libp2p agents: the next evaluation point
 * or checkpoint), save a checkpoint and say how to resume; a second one quits
 * at once (the last periodic checkpoint, if any, stays resumable).
 */

/** Exit status of a run stopped by a signal: 128 + the signal number, as shells report it. */
export function exitCodeFor(signal: NodeJS.Signals | null): number {
  return signal === 'SIGTERM' ? 143 : 130;
}

export interface SignalStop {
  /** True once SIGINT or SIGTERM arrived. */
  readonly requested: () => boolean;
  readonly signal: () => NodeJS.Signals | null;
  /** Removes the handlers (the default behaviour comes back). */
  dispose(): void;
}

export function stopOnSignals(write: (text: string) => void = (t) => process.stderr.write(t)): SignalStop {
  let received: NodeJS.Signals | null = null;
  const handler = (signal: NodeJS.Signals): void => {
    if (received) {
      write(`dbo: ${signal} again: quitting without a new checkpoint\n`);
      process.exit(exitCodeFor(signal));
    }
    received = signal;
    write(`\ndbo: ${signal}: stopping at the next iteration boundary to save a checkpoint (${signal === 'SIGINT' ? 'press Ctrl-C' : 'send it'} again to quit at once)\n`);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    requested: () => received !== null,
    signal: () => received,
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
