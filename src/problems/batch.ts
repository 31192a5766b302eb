/**
 * Minibatch sampling. Indices are drawn uniformly without replacement within
 * a batch (Floyd's algorithm with a reusable marker array), with replacement
 * across iterations. A batch at least as large as the sample set is the full
 * batch. Nothing is allocated per draw.
 */
import type { Rng } from '../random/rng.ts';
import type { Batch } from './types.ts';

export class BatchSampler {
  private readonly marks: Uint8Array;
  constructor(
    /** Number of samples to draw from (Infinity for population oracles). */
    readonly population: number,
    /** Batch size; `full` or a size ≥ population selects every sample. */
    readonly batchSize: number | 'full',
  ) {
    if (batchSize !== 'full' && !(Number.isInteger(batchSize) && batchSize >= 1)) throw new RangeError(`batch size must be a positive integer or 'full', got ${batchSize}`);
    this.marks = new Uint8Array(Number.isFinite(population) ? population : 0);
  }

  /** A batch object with room for this sampler's draws. */
  create(): Batch {
    const cap = this.batchSize === 'full' || !Number.isFinite(this.batchSize) ? 0 : this.batchSize;
    return { full: this.batchSize === 'full', size: 0, indices: new Int32Array(Number.isFinite(this.population) ? Math.min(cap, this.population) : 0), seed: 0 };
  }

  /** Refills `batch` with a fresh draw. */
  draw(batch: Batch, rng: Rng): void {
    batch.seed = rng.nextUint32();
    const size = this.batchSize;
    if (size === 'full') {
      batch.full = true;
      batch.size = Number.isFinite(this.population) ? this.population : 0;
      return;
    }
    if (!Number.isFinite(this.population)) {
      // Population oracle: the batch is a noise seed and a size.
      batch.full = false;
      batch.size = size;
      return;
    }
    if (size >= this.population) {
      batch.full = true;
      batch.size = this.population;
      return;
    }
    batch.full = false;
    batch.size = size;
    const n = this.population;
    const marks = this.marks;
    // Floyd: for j = n−size … n−1 pick t in [0, j]; take t unless taken, else j.
    let k = 0;
    for (let j = n - size; j < n; j++) {
      const t = rng.int(j + 1);
      const pick = marks[t] ? j : t;
      marks[pick] = 1;
      batch.indices[k++] = pick;
    }
    for (let i = 0; i < size; i++) marks[batch.indices[i]!] = 0;
  }
}
