/**
 * Start-up of the `dbo` command: `dbo --help` (bin/dbo.mjs running the
 * compiled dist/) against `node -e 0`, each started as its own process,
 * alternating, median wall time of each. Goal: within 4× of `node -e 0`.
 * Part of `npm run bench`; `--only startup` runs it alone, `--quick` takes 5
 * pairs instead of 15. When dist/ is missing or older than src/ the case is
 * skipped with a note (bin/dbo.mjs would then transpile the sources, which
 * is not the shipped path): `npm run build` refreshes it.
 */
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
// @ts-expect-error plain JavaScript module without type declarations
import { buildIsFresh } from '../scripts/source-stamp.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const argv = process.argv.slice(2);
const onlyAt = argv.indexOf('--only');
const only = onlyAt >= 0 ? argv[onlyAt + 1] : undefined;
const quick = argv.includes('--quick');

function wallOf(args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited with ${r.status}: ${r.stderr.toString().trim()}`);
  return ms;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
}

if (only === undefined || 'startup'.includes(only) || only.includes('startup')) {
  console.log('\nstart-up: `dbo --help` within 4× of `node -e 0` (wall time, separate processes, alternating, medians)');
  if (!(buildIsFresh(root) as boolean)) console.log('  skipped: dist/ is missing or older than src/ (run `npm run build`; bin/dbo.mjs would transpile the sources)');
  else {
    const pairs = quick ? 5 : 15;
    const bare: number[] = [];
    const dbo: number[] = [];
    wallOf(['-e', '0']);
    wallOf(['bin/dbo.mjs', '--help']);
    for (let k = 0; k < pairs; k++) {
      bare.push(wallOf(['-e', '0']));
      dbo.push(wallOf(['bin/dbo.mjs', '--help']));
    }
    const a = median(bare);
    const b = median(dbo);
    const ratio = b / a;
    console.log(`  node -e 0 ${a.toFixed(1)} ms   dbo --help ${b.toFixed(1)} ms   ratio ${ratio.toFixed(2)}× (goal ≤ 4×): ${ratio <= 4 ? 'met' : 'not met'}   (${pairs} pairs)`);
  }
}
