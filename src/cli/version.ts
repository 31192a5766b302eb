/** The dbo version (from package.json) and, when dbo runs from a git checkout, its commit. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

export function dboVersion(): string {
  return (JSON.parse(readFileSync(`${root}/package.json`, 'utf8')) as { version: string }).version;
}

/** The git commit of the checkout dbo runs from, or null outside a git checkout. */
export function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).trim() || null;
  } catch {
    return null;
  }
}

/** `dbo --version`: "dbo 0.1.0 (commit abc1234…, Node v20…)". */
export function versionLine(): string {
  const commit = gitCommit();
  return `dbo ${dboVersion()}${commit ? ` (commit ${commit.slice(0, 12)})` : ''}, Node ${process.version}`;
}
