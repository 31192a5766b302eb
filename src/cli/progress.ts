/** A progress bar on a terminal; silent when output is piped (the summary still prints). */
import cliProgress from 'cli-progress';
import type { MetricsRow } from '../experiments/runner.ts';
import { sci } from './format.ts';

export interface ProgressReporter {
  update(iteration: number, total: number, last: MetricsRow | null): void;
  stop(): void;
}

export function progressReporter(total: number, label = ''): ProgressReporter | undefined {
  if (!process.stderr.isTTY) return undefined;
  const bar = new cliProgress.SingleBar(
    { format: `${label}{bar} {value}/{total} it · ‖∇Φ‖² {grad} · {eta_formatted} left`, stream: process.stderr, hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { grad: '—' });
  return {
    update: (iteration, _total, last) => bar.update(iteration, { grad: sci(last?.hypergradNormSq) }),
    stop: () => bar.stop(),
  };
}
