// Fingerprint of the sources a build was made from: file count and newest
// modification time under src/. Shared by scripts/build.mjs and bin/dbo.mjs.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export function sourceStamp(dir) {
  let files = 0;
  let newest = 0;
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        files++;
        newest = Math.max(newest, statSync(p).mtimeMs);
      }
    }
  };
  walk(dir);
  return { files, newest };
}

/**
 * Whether `${root}/dist` may run: it has a build stamp and, when the sources
 * are present (a checkout rather than an installed package), the stamp
 * matches them (same file count, no file newer than the build's newest).
 */
export function buildIsFresh(root) {
  const stampFile = join(root, 'dist', 'build-stamp.json');
  if (!existsSync(stampFile)) return false;
  const src = join(root, 'src');
  if (!existsSync(src)) return true;
  const now = sourceStamp(src);
  const built = JSON.parse(readFileSync(stampFile, 'utf8'));
  return built.files === now.files && built.newest >= now.newest;
}
