/**
 * A multi-host run on one machine: four `dbo agent` processes, each with its
 * own key (dbo keygen), the same peers file (YAML) and pre-shared key
 * (dbo keygen --psk), and its own out folder,
 * then `dbo gather` into a run directory whose metrics rows equal the
 * simulator's bit for bit (measured columns aside); five agents one of which
 * the config's crash fault SIGKILLs, gathered into the rows and events of
 * `dbo run --transport libp2p` with the same fault; four agents with
 * --checkpoint-every, all SIGKILLed mid-run and restarted with --resume,
 * gathered into the simulator's rows. Only 127.0.0.1 is used; the tests skip
 * when they cannot listen there.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../../../src/cli/main.ts';
import { loadConfig, resolveConfig } from '../../../src/experiments/config.ts';
import { runConfig } from '../../../src/experiments/runner.ts';
import { tempDir, writeQuadratic } from '../../helpers.ts';
import { freePorts, loopbackUsable } from './loopback.ts';

const skip = (await loopbackUsable()) ? false : 'cannot listen on 127.0.0.1';
const bin = fileURLToPath(new URL('../../../bin/dbo.mjs', import.meta.url));

async function dbo(...args: string[]): Promise<number> {
  return main(['node', 'dbo', ...args]);
}

function agentProcess(args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, 'agent', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('exit', (code, signal) => resolve({ code, signal, stderr }));
  });
}

/** m keys (dbo keygen, one folder per "host") and a peers file listing them on free 127.0.0.1 ports. */
async function keysAndPeers(root: string, m: number): Promise<{ keys: string[]; peerIds: string[]; peersFile: string }> {
  const keys = Array.from({ length: m }, (_, i) => join(root, `host${i}`, 'agent.key'));
  for (const k of keys) {
    mkdirSync(join(k, '..'), { recursive: true });
    assert.equal(await dbo('keygen', '--out', k), 0);
  }
  const ports = await freePorts(m);
  const peerIds = keys.map((k) => (JSON.parse(readFileSync(k, 'utf8')) as { peerId: string }).peerId);
  const peersFile = join(root, 'peers.yaml');
  writeFileSync(peersFile, `agents:\n${peerIds.map((p, i) => `  - id: ${i}\n    peerId: ${p}\n    address: /ip4/127.0.0.1/tcp/${ports[i]}\n`).join('')}`);
  return { keys, peerIds, peersFile };
}

const strip = (rows: ReadonlyArray<Record<string, unknown>>) => rows.map((row) => ({ ...row, elapsedMs: 0, wireBytes: 0 }));
const readRows = (file: string) => readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

test('4 agent processes with their own keys, a peers file, a pre-shared key and their own out folders, then dbo gather: the simulator\'s metrics rows', { skip, timeout: 180_000 }, async () => {
  const root = tempDir('dbo-multi-host-');
  const m = 4;
  const instance = writeQuadratic(root, { agents: m, dx: 3, dy: 4, problemClass: 'global', heterogeneity: 0.3, noise: 0.1 }, 7);
  const configFile = join(root, 'run.json');
  writeFileSync(configFile, JSON.stringify({ seed: 5, iterations: 24, evalEvery: 6, problem: { type: 'quadratic', file: instance, batch: 2 }, topology: { type: 'ring', agents: m }, algorithm: { name: 'cd-bsvrgd' } }));

  // keygen on each "host": Ed25519 key file, mode 0600, never overwritten.
  const keys = Array.from({ length: m }, (_, i) => join(root, `host${i}`, 'agent.key'));
  for (const k of keys) {
    mkdirSync(join(k, '..'), { recursive: true });
    assert.equal(await dbo('keygen', '--out', k), 0);
    assert.equal(statSync(k).mode & 0o777, 0o600, 'key file readable by its owner only');
  }
  const before = readFileSync(keys[0]!, 'utf8');
  assert.equal(await dbo('keygen', '--out', keys[0]!), 2, 'an existing key file is refused');
  assert.equal(readFileSync(keys[0]!, 'utf8'), before, 'and left as it was');

  const ports = await freePorts(m);
  const peerIds = keys.map((k) => (JSON.parse(readFileSync(k, 'utf8')) as { peerId: string }).peerId);
  const peersFile = join(root, 'peers.yaml');
  writeFileSync(peersFile, `agents:\n${peerIds.map((p, i) => `  - id: ${i}\n    peerId: ${p}\n    address: /ip4/127.0.0.1/tcp/${ports[i]}\n`).join('')}`);

  // A private network: one pre-shared key, copied to every host.
  const psk = join(root, 'swarm.psk');
  assert.equal(await dbo('keygen', '--psk', '--out', psk), 0);
  assert.equal(statSync(psk).mode & 0o777, 0o600);

  const outs = Array.from({ length: m }, (_, i) => join(root, `host${i}`, 'out'));
  const results = await Promise.all(outs.map((out, i) => agentProcess([configFile, '--id', String(i), '--key', keys[i]!, '--peers', peersFile, '--out', out, '--psk', psk, '--connect-timeout', '60'])));
  results.forEach((r, i) => assert.equal(r.code, 0, `agent ${i} failed: ${r.stderr}`));
  for (let i = 0; i < m; i++) {
    const shard = JSON.parse(readFileSync(join(outs[i]!, `agent-${i}`, 'shard.json'), 'utf8'));
    assert.equal(shard.status, 'completed');
    assert.equal(shard.peerId, peerIds[i]);
    assert.equal(shard.iterations, 24);
  }

  const run = join(root, 'gathered');
  assert.equal(await dbo('gather', ...outs, '--out', run), 0);
  for (const f of ['.dbo-run', 'config.resolved.json', 'topology.json', 'metrics.jsonl', 'summary.json', 'events.jsonl', 'shards.json']) assert.ok(existsSync(join(run, f)), `${f} written`);
  const gathered = readRows(join(run, 'metrics.jsonl'));
  const reference = await runConfig(loadConfig(configFile));
  assert.equal(gathered.length, 5);
  assert.deepEqual(strip(gathered), strip(reference.rows as unknown as Record<string, unknown>[]), 'gathered rows = simulator rows, timing columns aside');
  const last = gathered.at(-1)!;
  assert.ok((last.wireBytes as number) > (last.bytes as number), 'wireBytes measured on the sockets');
  assert.equal(JSON.parse(readFileSync(join(run, 'summary.json'), 'utf8')).status, 'completed');
  const events = readRows(join(run, 'events.jsonl'));
  assert.deepEqual([...new Set(events.filter((e) => e.event === 'finished').map((e) => e.agent))].sort(), [0, 1, 2, 3]);
  // Each shard logs the agent's configured mixing row at round 0 (a view-change row, as the coordinator's events.jsonl has it); gather merges them.
  for (let i = 0; i < m; i++) {
    const rows = readRows(join(outs[i]!, `agent-${i}`, 'events.jsonl')).filter((e) => e.event === 'weights');
    assert.deepEqual(rows.map((e) => [e.agent, e.round, e.iteration, e.neighbours]), [[i, 0, 0, [(i + m - 1) % m, (i + 1) % m].sort()]]);
    assert.equal(typeof rows[0]!.time, 'string');
  }
  const weights = events.filter((e) => e.event === 'weights');
  assert.deepEqual(weights.map((e) => e.agent), [0, 1, 2, 3], 'gathered in agent order');
  assert.ok(weights.every((e) => e.time === undefined && Math.abs((e.self as number) + (e.weights as number[]).reduce((a, b) => a + b, 0) - 1) < 1e-15), 'rows as the coordinator writes them');

  // Shards are checked: a missing agent, or a shard gathered twice, is refused with one line (exit 2).
  assert.equal(await dbo('gather', ...outs.slice(1), '--out', join(root, 'partial')), 2);
  assert.equal(await dbo('gather', ...outs, outs[0]!, '--out', join(root, 'twice')), 2);
  assert.ok(!existsSync(join(root, 'partial')) && !existsSync(join(root, 'twice')), 'nothing written for refused gathers');
});

test('5 dbo agent processes, agent 2 SIGKILLed at iteration 23 (the config\'s crash fault), then dbo gather: bit for bit the rows and events of dbo run --transport libp2p with the same fault', { skip, timeout: 400_000 }, async () => {
  const root = tempDir('dbo-multi-host-crash-');
  const m = 5;
  const instance = writeQuadratic(root, { agents: m, dx: 3, dy: 4, problemClass: 'personalized', heterogeneity: 0.5 }, 21);
  const configFile = join(root, 'run.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      seed: 2,
      iterations: 60,
      evalEvery: 10,
      problem: { type: 'quadratic', file: instance, batch: 'full' },
      topology: { type: 'ring', agents: m },
      algorithm: { name: 'interact', alpha: 0.2, beta: 0.2 },
      output: { bytesPerFloat: 8 },
      network: { roundTimeoutMs: 20000 },
      faults: [{ agent: 2, crash: { atIteration: 23 } }],
    }),
  );
  const { keys, peersFile } = await keysAndPeers(root, m);
  const outs = Array.from({ length: m }, (_, i) => join(root, `host${i}`, 'out'));
  const results = await Promise.all(outs.map((out, i) => agentProcess([configFile, '--id', String(i), '--key', keys[i]!, '--peers', peersFile, '--out', out, '--connect-timeout', '120'])));
  results.forEach((r, i) => (i === 2 ? assert.equal(r.signal, 'SIGKILL', `agent 2 killed itself: ${r.stderr}`) : assert.equal(r.code, 0, `agent ${i} failed: ${r.stderr}`)));
  // The killed agent never closed its shard: agent-2.partial/ says 'running' and holds what it recorded (iterations 0, 10, 20).
  const partial = join(outs[2]!, 'agent-2.partial');
  assert.equal(JSON.parse(readFileSync(join(partial, 'shard.json'), 'utf8')).status, 'running');
  assert.deepEqual(readRows(join(partial, 'iterates.jsonl')).map((r) => r.iteration), [0, 10, 20]);
  // The survivors' shards log what they saw: agent 2's neighbours declare it gone from round 23, every survivor resets after iteration 23 + m.
  for (const i of [1, 3]) {
    const gone = readRows(join(outs[i]!, `agent-${i}`, 'events.jsonl')).filter((e) => e.event === 'neighbour-gone');
    assert.deepEqual(gone.map((e) => [e.agent, e.neighbour, e.round]), [[i, 2, 23]]);
  }
  for (const i of [0, 1, 3, 4]) {
    const resets = readRows(join(outs[i]!, `agent-${i}`, 'events.jsonl')).filter((e) => e.event === 'reset');
    assert.deepEqual(resets.map((e) => [e.iteration, e.round, e.hook]), [[28, 28, true]], `agent ${i}`);
  }

  const run = join(root, 'gathered');
  const notes: string[] = [];
  const original = console.error;
  console.error = (...a: unknown[]) => void notes.push(a.join(' '));
  try {
    assert.equal(await dbo('gather', ...outs, '--out', run), 0, notes.join('\n'));
  } finally {
    console.error = original;
  }
  assert.match(notes.join('\n'), /agent 2 stopped early: its shard was never closed .* up to iteration 20/);
  const gathered = readRows(join(run, 'metrics.jsonl'));
  assert.deepEqual(gathered.map((r) => [r.iteration, r.agents ?? m]), [[0, 5], [10, 5], [20, 5], [30, 4], [40, 4], [50, 4], [60, 4]], 'all agents up to the departure, the 4 survivors after');
  const final = gathered.at(-1)!;
  assert.ok(Number.isFinite(final.hypergradNormSq) && Number.isFinite(final.upperLoss), JSON.stringify(final));
  assert.equal(JSON.parse(readFileSync(join(run, 'shards.json'), 'utf8'))[2].status, 'unfinished');

  // The same config under the local coordinator, whose agent 2 is SIGKILLed at the same iteration.
  const local = join(root, 'local');
  assert.equal(await dbo('run', configFile, '--transport', 'libp2p', '--out', local, '--quiet'), 0);
  const reference = readRows(join(local, 'metrics.jsonl'));
  assert.deepEqual(strip(gathered), strip(reference), 'gathered rows = coordinator rows, timing columns aside');
  const viewKinds = new Set(['weights', 'neighbour-gone', 'reset', 'fault', 'agent-exited', 'survivors']);
  const gatheredEvents = readRows(join(run, 'events.jsonl')).filter((e) => viewKinds.has(e.event as string));
  const localEvents = readRows(join(local, 'events.jsonl'));
  assert.ok(localEvents.some((e) => e.event === 'agent-exited') && localEvents.some((e) => e.event === 'survivors'));
  assert.deepEqual(gatheredEvents, localEvents, 'gathered events.jsonl rows = the coordinator\'s');
});

test('4 dbo agent processes with --checkpoint-every 4, all SIGKILLed mid-run, restarted with --resume, then dbo gather: the simulator\'s rows bit for bit', { skip, timeout: 400_000 }, async () => {
  const root = tempDir('dbo-multi-host-resume-');
  const m = 4;
  const instance = writeQuadratic(root, { agents: m, dx: 3, dy: 4, problemClass: 'global', heterogeneity: 0.3, noise: 0.1 }, 9);
  const base = { seed: 6, iterations: 40, evalEvery: 5, problem: { type: 'quadratic', file: instance, batch: 2 }, topology: { type: 'ring', agents: m }, algorithm: { name: 'cd-bsvrgd' } };
  // A straggler below the round timeout (it changes no row) keeps the run slow enough to be killed in the middle.
  const configFile = join(root, 'run.json');
  writeFileSync(configFile, JSON.stringify({ ...base, faults: [{ agent: 0, delay: { ms: 150, fromIteration: 1, toIteration: 40 } }] }));
  const { keys, peersFile } = await keysAndPeers(root, m);
  const outs = Array.from({ length: m }, (_, i) => join(root, `host${i}`, 'out'));
  const args = (i: number, ...extra: string[]) => [configFile, '--id', String(i), '--key', keys[i]!, '--peers', peersFile, '--out', outs[i]!, '--connect-timeout', '120', ...extra];
  const children = outs.map((_, i) => spawn(process.execPath, [bin, 'agent', ...args(i, '--checkpoint-every', '4')], { stdio: ['ignore', 'ignore', 'ignore'] }));
  const exits = children.map((c) => new Promise<NodeJS.Signals | number | null>((resolve) => c.on('exit', (code, signal) => resolve(signal ?? code))));
  const checkpointAt = (i: number): number => {
    try {
      return (JSON.parse(readFileSync(join(outs[i]!, `agent-${i}.partial`, 'checkpoint.json'), 'utf8')) as { iteration: number }).iteration;
    } catch {
      return 0;
    }
  };
  const deadline = Date.now() + 200_000;
  while (!outs.every((_, i) => checkpointAt(i) >= 8) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const c of children) c.kill('SIGKILL');
  assert.deepEqual(await Promise.all(exits), ['SIGKILL', 'SIGKILL', 'SIGKILL', 'SIGKILL'], 'every agent was killed mid-run');
  const at = outs.map((_, i) => checkpointAt(i));
  assert.ok(at.every((t) => t >= 8 && t < 40), `checkpoints at ${at}`);
  assert.ok(outs.every((o, i) => !existsSync(join(o, `agent-${i}`))), 'no shard was closed');

  const results = await Promise.all(outs.map((_, i) => agentProcess(args(i, '--checkpoint-every', '4', '--resume'))));
  results.forEach((r, i) => assert.equal(r.code, 0, `agent ${i} failed to resume: ${r.stderr}`));
  const from = new Set<number>();
  for (let i = 0; i < m; i++) {
    const shard = join(outs[i]!, `agent-${i}`);
    assert.equal(JSON.parse(readFileSync(join(shard, 'shard.json'), 'utf8')).status, 'completed');
    const iterations = readRows(join(shard, 'iterates.jsonl')).map((r) => r.iteration);
    assert.deepEqual(iterations, [0, 5, 10, 15, 20, 25, 30, 35, 40], `agent ${i}: each iteration recorded once`);
    const resumed = readRows(join(shard, 'events.jsonl')).filter((e) => e.event === 'resumed');
    assert.equal(resumed.length, 1);
    from.add(resumed[0]!.iteration as number);
  }
  assert.equal(from.size, 1, 'every agent resumed from the same iteration');
  assert.deepEqual([...from], [Math.min(...at)], `the newest checkpoint every agent has (checkpoints at ${at})`);

  const run = join(root, 'gathered');
  assert.equal(await dbo('gather', ...outs, '--out', run), 0);
  const reference = await runConfig(resolveConfig(base));
  assert.deepEqual(strip(readRows(join(run, 'metrics.jsonl'))), strip(reference.rows as unknown as Record<string, unknown>[]), 'resumed and gathered rows = simulator rows, timing columns aside');
  const events = readRows(join(run, 'events.jsonl'));
  assert.deepEqual(events.filter((e) => e.event === 'weights').map((e) => [e.agent, e.round]), [[0, 0], [1, 0], [2, 0], [3, 0]], 'each configured row once: no view row repeated by the resumed attempt');
  assert.deepEqual(events.filter((e) => e.event === 'fault').map((e) => [e.agent, e.kind, e.iteration]), [[0, 'delay', 1]]);
  // --resume without a shard to continue, or of a completed shard, is refused with one line.
  assert.equal(await dbo('agent', ...args(0, '--resume')), 2);
  assert.equal(await dbo('agent', ...args(0, '--resume').map((a) => (a === outs[0] ? join(root, 'nowhere') : a))), 2);
});

test('dbo agent refuses bad input with one line and exit 2, before writing anything', async () => {
  const root = tempDir('dbo-agent-input-');
  const instance = writeQuadratic(root, { agents: 2, dx: 2, dy: 2, problemClass: 'global', heterogeneity: 0.2, noise: 0 }, 3);
  const configFile = join(root, 'run.yaml');
  writeFileSync(configFile, `seed: 1\niterations: 2\nproblem: {type: quadratic, file: ${instance}}\ntopology: {type: complete, agents: 2}\nalgorithm: {name: d-soba}\n`);
  const keys = [join(root, 'a.key'), join(root, 'b.key')];
  for (const k of keys) assert.equal(await dbo('keygen', '--out', k), 0);
  const ids = keys.map((k) => (JSON.parse(readFileSync(k, 'utf8')) as { peerId: string }).peerId);
  const peersFile = join(root, 'peers.json');
  writeFileSync(peersFile, JSON.stringify({ agents: ids.map((peerId, id) => ({ id, peerId, address: `127.0.0.1:${7000 + id}` })) }));
  const halfPeers = join(root, 'half.json');
  writeFileSync(halfPeers, JSON.stringify({ agents: [{ id: 0, peerId: ids[0], address: '127.0.0.1:7000' }] }));
  const out = join(root, 'out');
  const errors: string[] = [];
  const original = console.error;
  console.error = (...a: unknown[]) => errors.push(a.join(' '));
  try {
    const cases: Array<[string[], RegExp]> = [
      [['--id', '1', '--key', keys[0]!, '--peers', peersFile], /--key: its peer id .* is not agent 1's in the peers file/],
      [['--id', '0', '--key', keys[0]!, '--peers', halfPeers], /half\.json: agent 1 is missing/],
      [['--id', '2', '--key', keys[0]!, '--peers', peersFile], /--id: expected an agent id in 0…1/],
      [['--id', '0', '--key', join(root, 'none.key'), '--peers', peersFile], /none\.key: cannot read the key file/],
    ];
    for (const [args, message] of cases) {
      errors.length = 0;
      assert.equal(await dbo('agent', configFile, ...args, '--out', out), 2, args.join(' '));
      assert.equal(errors.length, 1, errors.join('\n'));
      assert.match(errors[0]!, message);
    }
  } finally {
    console.error = original;
  }
  assert.ok(!existsSync(out), 'no shard folder written');
});

test('SIGTERM stops a waiting dbo agent: its shard is kept, marked failed with the reason', { skip, timeout: 60_000 }, async () => {
  const root = tempDir('dbo-agent-stop-');
  const instance = writeQuadratic(root, { agents: 2, dx: 2, dy: 2, problemClass: 'global', heterogeneity: 0.2, noise: 0 }, 3);
  const configFile = join(root, 'run.json');
  writeFileSync(configFile, JSON.stringify({ seed: 1, iterations: 2, problem: { type: 'quadratic', file: instance }, topology: { type: 'complete', agents: 2 }, algorithm: { name: 'd-soba' } }));
  const keys = [join(root, 'a.key'), join(root, 'b.key')];
  for (const k of keys) assert.equal(await dbo('keygen', '--out', k), 0);
  const ports = await freePorts(2);
  const ids = keys.map((k) => (JSON.parse(readFileSync(k, 'utf8')) as { peerId: string }).peerId);
  const peersFile = join(root, 'peers.json');
  writeFileSync(peersFile, JSON.stringify({ agents: ids.map((peerId, id) => ({ id, peerId, address: `127.0.0.1:${ports[id]}` })) }));
  const out = join(root, 'out');
  // Agent 0 waits for agent 1, which never starts.
  const child = spawn(process.execPath, [bin, 'agent', configFile, '--id', '0', '--key', keys[0]!, '--peers', peersFile, '--out', out], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const listening = await new Promise<boolean>((resolve) => {
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
      if (stderr.includes('waiting for neighbours')) resolve(true);
    });
    void exited.then(() => resolve(false));
  });
  assert.ok(listening, `the agent started and waited: ${stderr}`);
  child.kill('SIGTERM');
  assert.equal(await exited, 2, stderr);
  assert.match(stderr, /stopped by SIGTERM/);
  const shard = JSON.parse(readFileSync(join(out, 'agent-0', 'shard.json'), 'utf8'));
  assert.equal(shard.status, 'failed');
  assert.match(shard.message, /SIGTERM/);
  assert.ok(!existsSync(join(out, 'agent-0.partial')), 'no partial shard left behind');
});
