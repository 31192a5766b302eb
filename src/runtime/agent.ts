/**
 * Agents built one by one from a prepared run and an id: the agent's own
 * counted oracle, context (sizes, batch, initial point, seed of its sampling
 * stream) and algorithm state. Nothing here touches another agent's oracle,
 * so any runtime — this thread, a worker, a process on another host — can
 * build exactly the agents it hosts.
 */
import type { AgentContext, AgentStateBase, AgentWorkspace, ConfiguredAlgorithm, StateView } from '../algorithms/types.ts';
import type { AgentsRun } from '../experiments/runner.ts';
import { allFinite } from '../linalg/vector.ts';
import type { AgentLink } from '../network/link.ts';
import { deserializeState, serializeState } from '../algorithms/state.ts';
import { addCounts, CountingOracle, emptyCounts, ORACLE_KINDS, type OracleCounts } from '../problems/counting.ts';
import { deriveSeed } from '../random/rng.ts';
import type { AgentCheckpoint } from './types.ts';

/** One agent: its context (with the link its runtime gave it), state and scratch space. */
export interface HostedAgent {
  readonly id: number;
  readonly oracle: CountingOracle;
  readonly ctx: AgentContext;
  /** Advanced in place by the algorithm's step. */
  state: AgentStateBase;
  readonly workspace: AgentWorkspace;
}

function batchSizes(batch: AgentsRun['config']['problem']['batch']): AgentContext['batch'] {
  return typeof batch === 'object' ? batch : { upper: batch, lower: batch };
}

/** The context of agent `id` of a prepared run, communicating through `link`. */
export function agentContext(run: AgentsRun, id: number, link: AgentLink, oracle: CountingOracle): AgentContext {
  const { config, problem } = run;
  return {
    id,
    m: problem.m,
    dx: problem.dx,
    dy: problem.dy,
    oracle,
    link,
    batch: batchSizes(config.problem.batch),
    init: run.init,
    seed: deriveSeed(config.seed, 'agent', id),
  };
}

/** Builds agent `id` of a prepared run from its own oracle alone, in its initial state. */
export function buildAgent(run: AgentsRun, id: number, link: AgentLink): HostedAgent {
  if (!Number.isInteger(id) || id < 0 || id >= run.problem.m) throw new RangeError(`agent id ${id} is not in 0…${run.problem.m - 1}`);
  const oracle = new CountingOracle(run.problem.agents[id]!);
  const ctx = agentContext(run, id, link, oracle);
  return { id, oracle, ctx, state: run.algorithm.init(ctx), workspace: run.algorithm.workspace(ctx) };
}

/** An agent's checkpoint: its serialized state and a copy of its oracle counts. */
export function checkpointAgent(agent: HostedAgent): AgentCheckpoint {
  const { calls, samples } = agent.oracle.counts;
  return { id: agent.id, state: serializeState(agent.state), oracle: { calls: { ...calls }, samples: { ...samples } } };
}

/** Puts a freshly built agent in the state and oracle counts of its checkpoint. */
export function restoreAgent(agent: HostedAgent, checkpoint: AgentCheckpoint): void {
  if (checkpoint.id !== agent.id) throw new Error(`checkpoint of agent ${checkpoint.id} given to agent ${agent.id}`);
  agent.state = deserializeState(checkpoint.state as Parameters<typeof deserializeState>[0]);
  for (const k of ORACLE_KINDS) {
    agent.oracle.counts.calls[k] = checkpoint.oracle.calls[k];
    agent.oracle.counts.samples[k] = checkpoint.oracle.samples[k];
  }
}

/** Names the first non-finite iterate among some agents' views, or null. */
export function nonFiniteIterate(agents: ReadonlyArray<{ readonly id: number }>, views: ReadonlyArray<StateView>): string | null {
  for (let k = 0; k < views.length; k++) {
    const message = nonFiniteView(agents[k]!.id, views[k]!);
    if (message !== null) return message;
  }
  return null;
}

/** The same check for one agent's view (no arrays built: the in-process runtime calls it once per agent and iteration). */
export function nonFiniteView(id: number, v: StateView): string | null {
  if (!allFinite(v.x)) return `agent ${id}'s x has non-finite entries`;
  if (!allFinite(v.y)) return `agent ${id}'s y has non-finite entries`;
  if (v.z && !allFinite(v.z)) return `agent ${id}'s z has non-finite entries`;
  return null;
}

/**
 * The agents one host runs (ids ascending), stepped together: each step runs
 * every hosted agent's iteration concurrently, since their exchanges meet in
 * the same communication rounds.
 */
export class AgentGroup {
  readonly agents: ReadonlyArray<HostedAgent>;

  constructor(
    readonly run: AgentsRun,
    ids: ReadonlyArray<number>,
    link: (id: number) => AgentLink,
  ) {
    this.agents = [...ids].sort((a, b) => a - b).map((id) => buildAgent(run, id, link(id)));
  }

  get algorithm(): ConfiguredAlgorithm {
    return this.run.algorithm;
  }

  /** One iteration of every hosted agent. */
  async step(): Promise<void> {
    const { algorithm } = this.run;
    await Promise.all(this.agents.map((a) => algorithm.step(a.state, a.ctx, a.workspace)));
  }

  /** The hosted agents' iterates (live views of their states), in `agents` order. */
  views(): StateView[] {
    return this.agents.map((a) => this.run.algorithm.view(a.state));
  }

  /** The first non-finite iterate of a hosted agent, or null. */
  nonFinite(): string | null {
    return nonFiniteIterate(this.agents, this.views());
  }

  /**
   * After a view change: every hosted agent restores its algorithm's
   * invariants (docs/faults.md). False when the algorithm has no reset.
   */
  viewChange(): boolean {
    const reset = this.run.algorithm.onViewChange;
    if (!reset) return false;
    for (const a of this.agents) reset(a.state, a.ctx, a.workspace);
    return true;
  }

  /** The hosted agents' checkpoints, in `agents` order. */
  checkpoint(): AgentCheckpoint[] {
    return this.agents.map(checkpointAgent);
  }

  /** Restores every hosted agent from the checkpoints given (which may hold other agents too). */
  restore(checkpoints: ReadonlyArray<AgentCheckpoint>): void {
    const byId = new Map(checkpoints.map((c) => [c.id, c]));
    for (const a of this.agents) {
      const c = byId.get(a.id);
      if (!c) throw new Error(`checkpoint has no state for agent ${a.id}`);
      restoreAgent(a, c);
    }
  }

  /** Oracle totals of the hosted agents. */
  oracleCounts(): OracleCounts {
    const totals = emptyCounts();
    for (const a of this.agents) addCounts(totals, a.oracle.counts);
    return totals;
  }
}
