/**
 * The runtime seam (docs/architecture.md, "Runtimes"). A runtime decides where
 * agents live and how their payloads move: all in this thread (the
 * deterministic simulator, the reference), partitioned over worker threads,
 * or one per OS process over a real network. The runner only sees this
 * interface: it advances the agents, asks for their iterates at evaluation
 * points and for their counters, and closes the runtime at the end. Every
 * runtime must give the simulator's rows bit for bit on the same config.
 */
import type { StateView } from '../algorithms/types.ts';
import type { OracleCounts } from '../problems/counting.ts';

/**
 * Communication counters. `rounds` are communication rounds completed;
 * `messages`, `floats` and payload `bytes` (floats × bytesPerFloat) count
 * every directed message; `wireBytes` counts what went through sockets
 * (framing and encryption included), 0 where nothing does (the simulator).
 */
export interface CommCounters {
  rounds: number;
  messages: number;
  floats: number;
  bytes: number;
  wireBytes: number;
}

export function emptyCommCounters(): CommCounters {
  return { rounds: 0, messages: 0, floats: 0, bytes: 0, wireBytes: 0 };
}

/**
 * Network totals from per-host counters: message, float and byte counts add
 * up; rounds are the same for all agents in lockstep, so the most any host
 * completed is the network's count.
 */
export function mergeCommCounters(parts: ReadonlyArray<CommCounters>): CommCounters {
  const total = emptyCommCounters();
  for (const c of parts) {
    total.rounds = Math.max(total.rounds, c.rounds);
    total.messages += c.messages;
    total.floats += c.floats;
    total.bytes += c.bytes;
    total.wireBytes += c.wireBytes;
  }
  return total;
}

/** What `advance` reports. */
export interface AdvanceResult {
  /** Iterations every agent has completed. */
  readonly iteration: number;
  /** Set when some agent's iterate became non-finite; `iteration` is then the iteration after which it happened. */
  readonly nonFinite: string | null;
  /** Wall time spent in the agents' steps during this call (ms). */
  readonly computeMs: number;
}

/** Network totals of a run so far. */
export interface RuntimeCounters {
  readonly comm: CommCounters;
  /** Oracle calls and samples, summed over agents. */
  readonly oracle: OracleCounts;
}

export interface Runtime {
  /** A short name for messages ("simulator", "libp2p", …). */
  readonly name: string;
  /** Agents in the run; together, the runtime's hosts hold ids 0 … m − 1. */
  readonly m: number;
  /**
   * Runs every agent from its current iteration up to iteration `to`,
   * checking after each iteration that every iterate is finite and stopping
   * at the first iteration where one is not. `onIteration` is called after
   * each completed iteration when the runtime can tell. When `stopRequested`
   * is given and returns true, a runtime that can agree on an earlier
   * iteration boundary may stop there (the result's `iteration` says where);
   * one that cannot (agents in separate processes) runs on to `to`.
   */
  advance(to: number, onIteration?: (iteration: number) => void, stopRequested?: () => boolean): Promise<AdvanceResult>;
  /** Every agent's iterates, ids ascending; valid until the next `advance`. */
  snapshot(): Promise<ReadonlyArray<StateView>>;
  /** Communication and oracle totals so far. */
  counters(): Promise<RuntimeCounters>;
  /**
   * Every agent's serialized state and oracle counts and the network's
   * communication totals, at the iteration boundary the runtime stands at
   * (between two `advance` calls).
   */
  checkpoint(): Promise<RuntimeCheckpoint>;
  /**
   * Puts a freshly built runtime (before its first `advance`) where a
   * checkpoint was taken: agents' states and oracle counts, the iteration,
   * and communication totals (later traffic adds to them). Runs continued
   * from a checkpoint give the uninterrupted run's rows bit for bit, on any
   * runtime (a checkpoint taken on one runtime restores on any other).
   */
  restore(checkpoint: RuntimeCheckpoint): Promise<void>;
  /** Releases everything the runtime holds (threads, processes, sockets). */
  close(): Promise<void>;
}

/** One agent in a checkpoint: its algorithm state (src/algorithms/state.ts form) and oracle counts. */
export interface AgentCheckpoint {
  readonly id: number;
  /** `serializeState(state)`: plain JSON, typed arrays and RNGs tagged. */
  readonly state: unknown;
  readonly oracle: OracleCounts;
}

/** A runtime's part of a checkpoint (checkpoint.json, see src/experiments/checkpoint.ts). */
export interface RuntimeCheckpoint {
  /** Iterations every agent had completed. */
  readonly iteration: number;
  /** Network totals at that point. */
  readonly comm: CommCounters;
  /** Every agent, ids 0 … m − 1 in order. */
  readonly agents: ReadonlyArray<AgentCheckpoint>;
}

/** `base + current`, field by field: totals of a run continued from a checkpoint. */
export function addCommCounters(base: CommCounters, current: CommCounters): CommCounters {
  return {
    rounds: base.rounds + current.rounds,
    messages: base.messages + current.messages,
    floats: base.floats + current.floats,
    bytes: base.bytes + current.bytes,
    wireBytes: base.wireBytes + current.wireBytes,
  };
}

/** Checks that a checkpoint holds exactly agents 0 … m − 1 in order (a runtime's `restore` precondition). */
export function checkCheckpointAgents(checkpoint: RuntimeCheckpoint, m: number): void {
  if (checkpoint.agents.length !== m || checkpoint.agents.some((a, k) => a.id !== k))
    throw new Error(`checkpoint holds agents ${checkpoint.agents.map((a) => a.id).join(', ')}, expected 0…${m - 1}`);
}
