/**
 * `dbo gather DIR... --out RUN`: merges the shards the agents of a
 * multi-host run wrote (`dbo agent`) into a standard run directory — the
 * files of `dbo run` — computing the global metrics offline from the
 * gathered iterates with the same evaluator (src/runtime/shard-runtime.ts).
 * The agents' events go to RUN/events.jsonl (by time), and RUN/shards.json
 * says where each agent ran.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { summaryLines } from './format.ts';

interface GatherCliOptions {
  out: string;
  config?: string;
  force?: boolean;
}

/** `setExitCode(3)` when the gathered run diverged, as `dbo run` exits. */
export function registerGather(program: Command, setExitCode: (code: number) => void): void {
  program
    .command('gather')
    .description('merge the shards of a multi-host run (dbo agent --out folders) into a run directory, computing the metrics offline')
    .argument('<dirs...>', 'agents\' --out folders (or shard folders agent-<id>/)')
    .requiredOption('--out <run>', 'run directory to create')
    .option('--config <file>', 'the run config on this host (default: the one the shards recorded; data paths must exist here)')
    .option('--force', 'replace the run directory if it is a previous dbo run (anything else is refused)')
    .action(async (dirs: string[], opts: GatherCliOptions) => {
      const { loadConfig } = await import('../experiments/config.ts');
      const { runToDirectory } = await import('../experiments/run-to-directory.ts');
      const { findShards } = await import('../runtime/shard.ts');
      const { checkShards, ShardRuntime } = await import('../runtime/shard-runtime.ts');
      const given = opts.config === undefined ? undefined : loadConfig(opts.config);
      const shards = checkShards(findShards(dirs), given);
      const config = given ?? shards[0]!.config;
      const result = await runToDirectory(config, opts.out, { force: opts.force ?? false, runtime: () => new ShardRuntime(shards) });
      const events = shards.flatMap((s) => s.events).sort((a, b) => String(a.time).localeCompare(String(b.time)));
      writeFileSync(join(result.dir, 'events.jsonl'), events.map((e) => `${JSON.stringify(e)}\n`).join(''));
      const where = shards.map((s) => ({ agent: s.meta.agent, peerId: s.meta.peerId, host: s.meta.host, shard: s.dir, status: s.meta.status, started: s.meta.started, finished: s.meta.finished ?? null }));
      writeFileSync(join(result.dir, 'shards.json'), `${JSON.stringify(where, null, 2)}\n`);
      const failed = shards.filter((s) => s.meta.status !== 'completed');
      for (const s of failed) console.error(`dbo: note: agent ${s.meta.agent}'s shard says it failed: ${s.meta.message ?? ''}`);
      const last = result.rows.at(-1);
      if (last) console.log(summaryLines(last));
      console.log(`gathered ${shards.length} shards into ${result.dir}`);
      if (result.status === 'diverged') {
        console.error(`dbo: ${result.message}`);
        setExitCode(3);
      }
    });
}
