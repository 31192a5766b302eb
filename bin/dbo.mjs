#!/usr/bin/env node
// Entry point of the `dbo` command. Runs the compiled JavaScript in dist/
// (made by `npm run build`, which `npm ci` and `npm install` run through the
// `prepare` script). In a source checkout whose dist/ is missing or older than
// src/ (a file added, removed or modified since the build), it runs the
// TypeScript sources through tsx instead, so a stale build never runs.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildIsFresh } from '../scripts/source-stamp.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));

let main;
if (buildIsFresh(root)) ({ main } = await import('../dist/cli/main.js'));
else {
  if (existsSync(`${root}dist/build-stamp.json`) && process.stderr.isTTY)
    process.stderr.write('dbo: dist/ is older than src/, running the TypeScript sources (`npm run build` refreshes dist/)\n');
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
process.exitCode = await main(process.argv);
