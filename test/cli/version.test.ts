/** `dbo --version` (src/cli/version.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { main } from '../../src/cli/main.ts';

async function dbo(...args: string[]): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  const { log } = console;
  console.log = (...a: unknown[]) => void out.push(a.join(' '));
  try {
    return { code: await main(['node', 'dbo', ...args]), out: out.join('\n') };
  } finally {
    console.log = log;
  }
}

test('dbo --version prints the version from package.json, the git commit when there is one, and the Node version', async () => {
  const r = await dbo('--version');
  assert.equal(r.code, 0);
  const version = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version as string;
  assert.match(r.out, new RegExp(`^dbo ${version.replace(/\./g, '\\.')}( \\(commit [0-9a-f]{12}\\))?, Node ${process.version.replace(/\./g, '\\.')}$`));
  assert.equal((await dbo('-V')).out, r.out);
});
