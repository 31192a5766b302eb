/**
 * `dbo agent CONFIG --id I --key FILE --peers PEERS --out DIR [--psk FILE]`:
 * runs agent I of a multi-host run in this process (see
 * src/runtime/libp2p/standalone.ts) and writes its shard DIR/agent-I/ for
 * `dbo gather`. The process loads the config's data and keeps only its own
 * agent's oracle. `--checkpoint-every N` saves the agent's state into its
 * shard; `--resume` continues the shard from it (src/runtime/libp2p/agent-checkpoint.ts).
 */
import type { Command } from 'commander';
import { ConfigError, DboError } from '../errors.ts';

interface AgentCliOptions {
  id: number;
  key: string;
  peers: string;
  out: string;
  psk?: string;
  listen?: string;
  connectTimeout: number;
  quiet?: boolean;
  checkpointEvery?: number;
  resume?: boolean;
}

function positiveInteger(value: string): number {
  const v = Number(value);
  if (value.trim() === '' || !Number.isInteger(v) || v < 1) throw new ConfigError('--checkpoint-every', `expected a positive integer, got '${value}'`);
  return v;
}

function agentId(value: string): number {
  const v = Number(value);
  if (value.trim() === '' || !Number.isInteger(v) || v < 0) throw new ConfigError('--id', `expected an agent id (an integer ≥ 0), got '${value}'`);
  return v;
}

function seconds(value: string): number {
  const v = Number(value);
  if (value.trim() === '' || !Number.isFinite(v) || v <= 0) throw new ConfigError('--connect-timeout', `expected a positive number of seconds, got '${value}'`);
  return v;
}

export function registerAgent(program: Command): void {
  program
    .command('agent')
    .description('run one agent of a multi-host run over libp2p and write its shard (merge the shards with dbo gather)')
    .argument('<config>', 'the run config (.yaml, .yml or .json), the same on every host')
    .requiredOption('--id <i>', 'this agent id (0 … agents − 1)', agentId)
    .requiredOption('--key <file>', 'this agent\'s key file (dbo keygen)')
    .requiredOption('--peers <file>', 'peers file (YAML or JSON): every agent\'s id, peer id and address')
    .requiredOption('--out <dir>', 'folder that receives the shard agent-<id>/')
    .option('--psk <file>', 'pre-shared key file of a private network (dbo keygen --psk), the same on every host')
    .option('--listen <multiaddr>', 'address to listen on, a multiaddr or HOST:PORT (default: this agent\'s address in the peers file), e.g. 0.0.0.0:7000')
    .option('--connect-timeout <seconds>', 'how long to wait for every neighbour to connect', seconds, 300)
    .option('--quiet', 'no progress lines')
    .option('--checkpoint-every <n>', 'save this agent\'s state into its shard after every n iterations (the same n, at least the number of agents, on every host)', positiveInteger)
    .option('--resume', 'continue this agent\'s shard in --out from its last checkpoint (restart every agent of the run with --resume)')
    .action(async (file: string, opts: AgentCliOptions) => {
      const { loadConfig } = await import('../experiments/config.ts');
      const { readKeyFile, readPeersFile, readPskFile, toMultiaddr } = await import('../runtime/libp2p/keys.ts');
      const { runStandaloneAgent } = await import('../runtime/libp2p/standalone.ts');
      const config = loadConfig(file);
      const m = config.topology.agents;
      if (opts.id >= m) throw new ConfigError('--id', `expected an agent id in 0…${m - 1} (the config has ${m} agents), got ${opts.id}`);
      const peers = readPeersFile(opts.peers, m);
      const { key, peerId } = await readKeyFile(opts.key);
      const psk = opts.psk === undefined ? undefined : readPskFile(opts.psk);
      // Ctrl-C / SIGTERM: the agent stops, its shard is kept (status failed, with the reason), and the process exits.
      const stop = new AbortController();
      const onSignal = (name: string) => () => stop.abort(new DboError(`agent ${opts.id}: stopped by ${name}; its shard records what it did`));
      const onInt = onSignal('SIGINT');
      const onTerm = onSignal('SIGTERM');
      process.once('SIGINT', onInt);
      process.once('SIGTERM', onTerm);
      const log = (line: string) => {
        if (!opts.quiet) process.stderr.write(`${line}\n`);
      };
      const result = await runStandaloneAgent({
        config,
        id: opts.id,
        key,
        peerId,
        peers,
        outDir: opts.out,
        ...(opts.listen ? { listen: toMultiaddr(opts.listen, '--listen') } : {}),
        ...(psk ? { psk } : {}),
        connectTimeoutMs: opts.connectTimeout * 1000,
        ...(opts.checkpointEvery !== undefined ? { checkpointEvery: opts.checkpointEvery } : {}),
        ...(opts.resume ? { resume: true } : {}),
        log,
        signal: stop.signal,
      }).finally(() => {
        process.off('SIGINT', onInt);
        process.off('SIGTERM', onTerm);
      });
      console.log(`agent ${opts.id}: ${result.iterations} iterations; shard in ${result.shard}`);
    });
}
