/** main() run in this process with its console output captured, for the CLI tests. */
import { main } from '../src/cli/main.ts';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** process.exitCode as main() left it (it is cleared for the call and restored after). */
  exitCode: number | string | undefined;
}

/**
 * Runs main() with console output captured. main() reports process.exitCode
 * when it is set, and the test runner sets it to 1 after a failed test, so it
 * is cleared for the call and restored after.
 */
export async function runMain(...args: string[]): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const { log, error } = console;
  const savedExitCode = process.exitCode;
  process.exitCode = undefined;
  console.log = (...a: unknown[]) => void out.push(a.map(String).join(' '));
  console.error = (...a: unknown[]) => void err.push(a.map(String).join(' '));
  try {
    const code = await main(['node', 'dbo', ...args]);
    return { code, stdout: out.length ? `${out.join('\n')}\n` : '', stderr: err.length ? `${err.join('\n')}\n` : '', exitCode: process.exitCode };
  } finally {
    console.log = log;
    console.error = error;
    process.exitCode = savedExitCode;
  }
}
