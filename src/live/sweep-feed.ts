/**
 * The live feed of a sweep: the cases run in child processes, so their rows
 * are read from the files they write. Each started (or already complete)
 * case's metrics.jsonl is followed, in `<case>.partial/` while it runs and in
 * `<case>/` once it is complete, and every new complete line is sent as a row
 * of the curve named after the case; the cases' statuses go to the page's
 * table. A case whose file is replaced (a leftover of an interrupted sweep
 * removed by the new run) is sent as `reset` and followed again from the start.
 */
import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import type { SweepEvent } from '../experiments/sweep.ts';
import { ChartFeed } from './feed.ts';

interface Followed {
  ino: number | null;
  offset: number;
  rest: string;
  rows: number;
}

/** How often the case files are read (ms). */
const POLL_MS = 250;

export class SweepFeed extends ChartFeed {
  private readonly followed = new Map<string, Followed>();
  private dir = '.';
  private timer: NodeJS.Timeout | null = null;

  /** Starts following the cases of the sweep in `dir`; every case is listed as pending. */
  watch(dir: string, cases: ReadonlyArray<{ id: string }>): void {
    this.dir = dir;
    for (const c of cases) this.server.publish('case', { id: c.id, status: 'pending' }, c.id);
    this.timer = setInterval(() => this.poll(), POLL_MS);
  }

  /** Pass the sweep's events here (runSweep's `onEvent`). */
  readonly onEvent = (e: SweepEvent): void => {
    const id = e.case.id;
    if (e.type === 'skip' || e.type === 'start') {
      if (!this.followed.has(id)) this.followed.set(id, { ino: null, offset: 0, rest: '', rows: 0 });
      this.server.publish('case', { id, status: e.type === 'skip' ? 'complete' : 'running' }, id);
      this.poll();
    } else if (e.type === 'progress') this.server.publish('case', { id, status: 'running', iteration: e.iteration }, id);
    else if (e.type === 'done') {
      this.poll();
      this.server.publish('case', { id, status: e.status }, id);
    }
  };

  /** Reads what the cases wrote since the last look and stops following. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.poll();
  }

  private poll(): void {
    for (const [id, f] of this.followed) this.follow(id, f);
  }

  private follow(id: string, f: Followed): void {
    const done = join(this.dir, id, 'metrics.jsonl');
    const file = existsSync(done) ? done : join(this.dir, `${id}.partial`, 'metrics.jsonl');
    let fd: number;
    try {
      fd = openSync(file, 'r');
    } catch {
      return; // not written yet
    }
    try {
      const { ino, size } = fstatSync(fd);
      if (f.ino !== null && (ino !== f.ino || size < f.offset)) {
        this.server.forget('row', `${id}:`);
        this.server.publish('reset', { run: id });
        Object.assign(f, { offset: 0, rest: '', rows: 0 });
      }
      f.ino = ino;
      if (size <= f.offset) return;
      const buffer = Buffer.alloc(size - f.offset);
      const read = readSync(fd, buffer, 0, buffer.length, f.offset);
      f.offset += read;
      const lines = (f.rest + buffer.subarray(0, read).toString('utf8')).split('\n');
      f.rest = lines.pop() ?? '';
      for (const line of lines) {
        if (line.trim() === '') continue;
        try {
          this.row(id, f.rows++, JSON.parse(line) as Record<string, unknown>);
        } catch {
          // A line that is not JSON is not a row; metrics.jsonl is dbo's own file, so this does not happen.
        }
      }
    } finally {
      closeSync(fd);
    }
  }
}
