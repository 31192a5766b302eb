#!/usr/bin/env node
// Compiles src/ to dist/ (plain JavaScript, same layout), copies non-TypeScript
// assets, and writes dist/build-stamp.json, which bin/dbo.mjs compares with
// src/ to refuse a stale build. Run by `npm run build` and by `prepare`
// (so `npm ci` / `npm install` in a clone builds it).
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sourceStamp } from './source-stamp.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');
const dist = join(root, 'dist');

const stamp = sourceStamp(src);
rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) {
  rmSync(dist, { recursive: true, force: true });
  console.error('build: tsc failed; dist/ removed (bin/dbo.mjs runs the sources meanwhile)');
  process.exit(r.status ?? 1);
}
function copyAssets(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) copyAssets(p);
    else if (!e.name.endsWith('.ts')) {
      const to = join(dist, relative(src, p));
      mkdirSync(dirname(to), { recursive: true });
      copyFileSync(p, to);
    }
  }
}
copyAssets(src);
writeFileSync(join(dist, 'build-stamp.json'), `${JSON.stringify(stamp)}\n`);
