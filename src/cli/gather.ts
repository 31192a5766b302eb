/**
 * `dbo gather DIR... --out RUN`: merges the shards the agents of a
 * multi-host run wrote (`dbo agent`) into a standard run directory — the
 * files of `dbo run` — computing the global metrics offline from the
 * gathered iterates with the same evaluator (src/runtime/shard-runtime.ts).
 * An agent that stopped early (its shard failed, or was never closed because
 * the agent was killed) left the run there, as under `dbo run --transport
 * libp2p`: later rows are over the survivors' problem (column `agents`).
 * RUN/events.jsonl holds the agents' events ordered by iteration, then agent
 * (the view-change rows exactly as the coordinator writes them,
 * docs/faults.md), and RUN/shards.json says where each agent ran.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
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
      const { checkShards, departed, ShardRuntime } = await import('../runtime/shard-runtime.ts');
      const given = opts.config === undefined ? undefined : loadConfig(opts.config);
      const shards = checkShards(findShards(dirs), given);
      const config = given ?? shards[0]!.config;
      const replay = new ShardRuntime(shards);
      const result = await runToDirectory(config, opts.out, { force: opts.force ?? false, runtime: () => replay });
      // The runner wrote the events up to where the replay stopped; a diverged run leaves the rest.
      const rest = replay.remainingEvents();
      appendFileSync(join(result.dir, 'events.jsonl'), rest.map((e) => `${JSON.stringify(e)}\n`).join(''));
      const where = shards.map((s) => ({ agent: s.meta.agent, peerId: s.meta.peerId, host: s.meta.host, shard: s.dir, status: s.partial ? 'unfinished' : s.meta.status, started: s.meta.started, finished: s.meta.finished ?? null }));
      writeFileSync(join(result.dir, 'shards.json'), `${JSON.stringify(where, null, 2)}\n`);
      for (const s of shards.filter(departed)) {
        const last = Math.max(0, ...s.records.keys());
        const why = s.partial ? 'its shard was never closed (the agent was killed, or is still running)' : `its shard says it failed: ${s.meta.message ?? ''}`;
        console.error(`dbo: note: agent ${s.meta.agent} stopped early: ${why}; it counts up to iteration ${last}, later rows are over the survivors`);
      }
      const last = result.rows.at(-1);
      if (last) console.log(summaryLines(last));
      console.log(`gathered ${shards.length} shards into ${result.dir}`);
      if (result.status === 'diverged') {
        console.error(`dbo: ${result.message}`);
        setExitCode(3);
      }
    });
}
