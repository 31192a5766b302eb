/**
 * The one communication interface algorithms see (docs/architecture.md, "Network"). An agent
 * sends one payload per round to every neighbour and receives theirs for the
 * same round. Transports (the in-process simulator now, real networks later)
 * implement `exchange`; algorithm code never learns which one runs it.
 */
import { axpy, type Vec } from '../linalg/vector.ts';

export interface AgentLink {
  readonly id: number;
  /** Neighbour ids, ascending (no self). */
  readonly neighbours: ReadonlyArray<number>;
  /** w_ii of the mixing matrix. */
  readonly selfWeight: number;
  /** w_ij for each neighbour, aligned with `neighbours`. */
  readonly neighbourWeights: ReadonlyArray<number>;
  /**
   * Sends `payload` to every neighbour for this agent's next round and
   * resolves with the neighbours' payloads in `neighbours` order. The
   * transport copies the payload, so the caller may reuse it at once; the
   * received arrays are read-only and valid until this agent's next exchange.
   */
  exchange(payload: Vec): Promise<ReadonlyArray<Vec>>;
}

/**
 * One gossip round: out ← w_ii·payload + Σ_j w_ij·payload_j, i.e. row i of
 * W applied to the stacked payloads. `out` may alias `payload`.
 */
export async function mixRound(link: AgentLink, payload: Vec, out: Vec): Promise<void> {
  const received = await link.exchange(payload);
  const self = link.selfWeight;
  const w = link.neighbourWeights;
  const n = out.length;
  // The same operations in the same order as scaling and then adding each
  // neighbour's term, fused into one pass (so bit for bit the same sums).
  if (received.length === 2) {
    const a = received[0]!;
    const b = received[1]!;
    const wa = w[0]!;
    const wb = w[1]!;
    for (let i = 0; i < n; i++) out[i] = self * payload[i]! + wa * a[i]! + wb * b[i]!;
    return;
  }
  if (received.length === 0) {
    for (let i = 0; i < n; i++) out[i] = self * payload[i]!;
    return;
  }
  const first = received[0]!;
  const w0 = w[0]!;
  for (let i = 0; i < n; i++) out[i] = self * payload[i]! + w0 * first[i]!;
  for (let j = 1; j < received.length; j++) axpy(w[j]!, received[j]!, out);
}
