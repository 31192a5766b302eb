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
   * each completed iteration when the runtime can tell.
   */
  advance(to: number, onIteration?: (iteration: number) => void): Promise<AdvanceResult>;
  /** Every agent's iterates, ids ascending; valid until the next `advance`. */
  snapshot(): Promise<ReadonlyArray<StateView>>;
  /** Communication and oracle totals so far. */
  counters(): Promise<RuntimeCounters>;
  /** Releases everything the runtime holds (threads, processes, sockets). */
  close(): Promise<void>;
}
