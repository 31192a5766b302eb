/**
 * Child-process entry of a sweep case (see sweep.ts): receives
 * {config, dir} over IPC, runs it into its run directory, reports progress
 * (at most five messages a second) and the outcome, then exits. It exits at
 * once when the parent goes away, leaving `<dir>.partial`, which the next
 * sweep invocation replaces.
 */
import type { RunConfig } from './config.ts';
import { runToDirectory } from './run-to-directory.ts';

process.on('disconnect', () => process.exit(130));
process.once('message', async (msg: { config: RunConfig; dir: string }) => {
  let lastSent = 0;
  try {
    const result = await runToDirectory(msg.config, msg.dir, {
      progress: (iteration, total, row) => {
        const now = Date.now();
        if (now - lastSent < 200 && iteration !== total) return;
        lastSent = now;
        process.send?.({ type: 'progress', iteration, total, row });
      },
    });
    process.send?.({ type: 'done', status: result.status, ...(result.message ? { message: result.message } : {}) }, () => process.exit(0));
  } catch (e) {
    process.send?.({ type: 'error', message: (e as Error).message }, () => process.exit(1));
  }
});
