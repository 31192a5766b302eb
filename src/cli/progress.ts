/**
 * Progress of long commands: iteration, rate and ETA. On a terminal, a bar
 * redrawn in place; when stderr is piped, a plain line at most every
 * `intervalMs` (default 5 s): on each update once the interval has passed,
 * and from a timer while the event loop is free (a sweep waiting for its
 * child processes); a final line when it stops. A single synchronous
 * iteration longer than the interval delays the next line until it ends. Plain
 * lines start with "progress " so that scripts can filter them. `--quiet`
 * callers simply do not create one.
 */
import cliProgress from 'cli-progress';
import type { MetricsRow } from '../experiments/runner.ts';
import { sci } from './format.ts';

export interface ProgressReporter {
  update(iteration: number, total: number, last: MetricsRow | null): void;
  /** A line of text that does not disturb the bar (e.g. "case x done"). */
  log(line: string): void;
  stop(): void;
}

export interface ProgressOptions {
  /** Default process.stderr. */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Force the terminal bar (true) or plain lines (false); default: whether the stream is a TTY. */
  tty?: boolean;
  /** Plain lines: at most and at least one per interval (ms). */
  intervalMs?: number;
  /** What is counted (default "it"). */
  unit?: string;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

function formatRate(rate: number, unit: string): string {
  if (!(rate > 0)) return `— ${unit}/s`;
  return `${rate >= 100 ? rate.toFixed(0) : rate >= 1 ? rate.toFixed(1) : rate.toPrecision(2)} ${unit}/s`;
}

/** Iteration, rate and ETA of work that started at `startMs`. */
export function progressLine(label: string, done: number, total: number, startMs: number, nowMs: number, last: MetricsRow | null, unit = 'it'): string {
  const seconds = (nowMs - startMs) / 1000;
  const rate = seconds > 0 ? done / seconds : 0;
  const eta = rate > 0 ? (total - done) / rate : NaN;
  const pct = total > 0 ? ((100 * done) / total).toFixed(0) : '0';
  const grad = last?.hypergradNormSq !== undefined ? ` · ‖∇Φ‖² ${sci(last.hypergradNormSq)}` : '';
  return `progress ${label}${done}/${total} ${unit} (${pct}%) · ${formatRate(rate, unit)} · ETA ${done >= total ? '0 s' : formatDuration(eta)}${grad}`;
}

export function progressReporter(total: number, label = '', options: ProgressOptions = {}): ProgressReporter {
  const stream = options.stream ?? process.stderr;
  const tty = options.tty ?? Boolean(stream.isTTY);
  const unit = options.unit ?? 'it';
  const start = Date.now();
  let done = 0;
  let all = total;
  let last: MetricsRow | null = null;
  if (tty) {
    const bar = new cliProgress.SingleBar(
      { format: `${label}{bar} {value}/{total} ${unit} · {rate} · ETA {eta_formatted}{grad}`, stream: stream as NodeJS.WriteStream, hideCursor: true, clearOnComplete: true, etaBuffer: 50 },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { grad: '', rate: formatRate(0, unit) });
    return {
      update: (iteration, t, row) => {
        if (t !== all) bar.setTotal((all = t));
        const seconds = (Date.now() - start) / 1000;
        bar.update(iteration, { grad: row?.hypergradNormSq !== undefined ? ` · ‖∇Φ‖² ${sci(row.hypergradNormSq)}` : '', rate: formatRate(seconds > 0 ? iteration / seconds : 0, unit) });
      },
      log: (line) => {
        stream.write('\r\x1b[2K');
        stream.write(`${line}\n`);
        bar.render();
      },
      stop: () => bar.stop(),
    };
  }
  const interval = options.intervalMs ?? 5000;
  let lastLine = 0;
  const print = () => {
    lastLine = Date.now();
    stream.write(`${progressLine(label, done, all, start, lastLine, last, unit)}\n`);
  };
  const timer = setInterval(() => {
    if (Date.now() - lastLine >= interval - 50) print();
  }, interval);
  timer.unref();
  return {
    update: (iteration, t, row) => {
      done = iteration;
      all = t;
      last = row;
      if (Date.now() - lastLine >= interval) print();
    },
    log: (line) => void stream.write(`${line}\n`),
    stop: () => {
      clearInterval(timer);
      print();
    },
  };
}
