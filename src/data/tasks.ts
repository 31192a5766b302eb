/**
 * Per-agent samples drawn from one labelled pool: disjoint row sets of a
 * fixed size per agent, i.i.d. or with Dirichlet label skew, and seeded label
 * corruption (for data hyper-cleaning).
 */
import { ConfigError } from '../errors.ts';
import type { Rng } from '../random/rng.ts';

export type TaskPartition = { readonly type: 'iid' } | { readonly type: 'dirichlet'; readonly alpha: number };

/**
 * `agents` disjoint lists of `perAgent` row indices into a pool with the given labels.
 *
 * - iid: one random permutation of the pool; agent a takes its entries
 *   a·perAgent … (a+1)·perAgent − 1.
 * - dirichlet: label skew. Each class's rows are shuffled once. Agent a (in
 *   order) draws class proportions π ~ Dirichlet(alpha, …, alpha), wants
 *   round(perAgent·π_c) rows of class c (largest remainders, summing to
 *   perAgent), takes what is left of each class, fills any shortfall from the
 *   classes with the most rows left, and shuffles its rows.
 */
export function sampleAgentRows(labels: Int32Array, classes: number, agents: number, perAgent: number, p: TaskPartition, rng: Rng, field: string): Int32Array[] {
  const n = labels.length;
  if (agents * perAgent > n) throw new ConfigError(field, `${agents} agents × ${perAgent} samples = ${agents * perAgent} exceed the ${n} samples available`);
  if (p.type === 'iid') {
    const perm = rng.permutation(n);
    return Array.from({ length: agents }, (_, a) => perm.slice(a * perAgent, (a + 1) * perAgent));
  }
  const pools: number[][] = Array.from({ length: classes }, () => []);
  for (let i = 0; i < n; i++) pools[labels[i]!]!.push(i);
  for (const pool of pools) rng.shuffle(pool);
  const out: Int32Array[] = [];
  for (let a = 0; a < agents; a++) {
    const props = rng.dirichlet(classes, p.alpha);
    const want = props.map((q) => q * perAgent);
    const counts = want.map(Math.floor);
    let left = perAgent - counts.reduce((s, c) => s + c, 0);
    const order = Array.from({ length: classes }, (_, c) => c).sort((i, j) => want[j]! - counts[j]! - (want[i]! - counts[i]!) || i - j);
    for (let k = 0; left > 0; k++, left--) counts[order[k % classes]!]!++;
    const rows: number[] = [];
    let short = 0;
    for (let c = 0; c < classes; c++) {
      const take = Math.min(counts[c]!, pools[c]!.length);
      for (let k = 0; k < take; k++) rows.push(pools[c]!.pop()!);
      short += counts[c]! - take;
    }
    while (short > 0) {
      let best = 0;
      for (let c = 1; c < classes; c++) if (pools[c]!.length > pools[best]!.length) best = c;
      rows.push(pools[best]!.pop()!);
      short--;
    }
    out.push(Int32Array.from(rng.shuffle(rows)));
  }
  return out;
}

/**
 * Seeded label noise: each label is, with probability `rate`, replaced by a
 * class drawn uniformly from the other classes. Returns the labels as used
 * and the corruption mask (1 = corrupted).
 */
export function corruptLabels(labels: Int32Array, classes: number, rate: number, rng: Rng): { labels: Int32Array; mask: Uint8Array } {
  const out = Int32Array.from(labels);
  const mask = new Uint8Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    if (rng.uniform() >= rate) continue;
    const shift = 1 + rng.int(classes - 1);
    out[i] = (labels[i]! + shift) % classes;
    mask[i] = 1;
  }
  return { labels: out, mask };
}
