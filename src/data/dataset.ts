/**
 * In-memory classification data sets: dense row-major features plus a class
 * index per row. Every problem and partitioner works on this one shape.
 */

export interface Dataset {
  /** Number of rows (samples). */
  readonly n: number;
  /** Number of features per row. */
  readonly d: number;
  /** Number of classes; labels lie in 0..classes-1. */
  readonly classes: number;
  /** Dense row-major n×d features: row i is features[i*d .. (i+1)*d). */
  readonly features: Float64Array;
  /** Class index 0..classes-1 per row. */
  readonly labels: Int32Array;
}

/**
 * Builds a Dataset after checking that the arrays have the stated shape and
 * that every label is a valid class index. Throws RangeError otherwise (a
 * programming error, not a user-facing one).
 */
export function makeDataset(
  n: number,
  d: number,
  classes: number,
  features: Float64Array,
  labels: Int32Array,
): Dataset {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`dataset: n must be an integer >= 0, got ${n}`);
  if (!Number.isInteger(d) || d < 1) throw new RangeError(`dataset: d must be an integer >= 1, got ${d}`);
  if (!Number.isInteger(classes) || classes < 1) {
    throw new RangeError(`dataset: classes must be an integer >= 1, got ${classes}`);
  }
  if (features.length !== n * d) {
    throw new RangeError(`dataset: features has length ${features.length}, expected n*d = ${n}*${d} = ${n * d}`);
  }
  if (labels.length !== n) throw new RangeError(`dataset: labels has length ${labels.length}, expected n = ${n}`);
  for (let i = 0; i < n; i++) {
    const y = labels[i]!;
    if (y < 0 || y >= classes) throw new RangeError(`dataset: label ${y} of row ${i} is outside 0..${classes - 1}`);
  }
  return { n, d, classes, features, labels };
}

/** A new Dataset holding copies of the given rows, in the given order (repeats allowed). */
export function subset(ds: Dataset, rows: Int32Array | readonly number[]): Dataset {
  const m = rows.length;
  const d = ds.d;
  const features = new Float64Array(m * d);
  const labels = new Int32Array(m);
  for (let j = 0; j < m; j++) {
    const r = rows[j]!;
    if (!Number.isInteger(r) || r < 0 || r >= ds.n) {
      throw new RangeError(`subset: row ${r} (position ${j}) is outside 0..${ds.n - 1}`);
    }
    // Short rows by a plain loop (a subarray view per row costs more than the copy).
    if (d <= 256) for (let q = 0, src = r * d, dst = j * d; q < d; q++) features[dst + q] = ds.features[src + q]!;
    else features.set(ds.features.subarray(r * d, r * d + d), j * d);
    labels[j] = ds.labels[r]!;
  }
  return { n: m, d, classes: ds.classes, features, labels };
}

/**
 * Stacks data sets vertically. All must have the same d; the result has the
 * largest class count among them (labels stay valid).
 */
export function concat(list: readonly Dataset[]): Dataset {
  if (list.length === 0) throw new RangeError('concat: needs at least one dataset');
  const d = list[0]!.d;
  let n = 0;
  let classes = 1;
  for (const [i, ds] of list.entries()) {
    if (ds.d !== d) throw new RangeError(`concat: dataset ${i} has d = ${ds.d}, expected ${d} (as dataset 0)`);
    n += ds.n;
    classes = Math.max(classes, ds.classes);
  }
  const features = new Float64Array(n * d);
  const labels = new Int32Array(n);
  let row = 0;
  for (const ds of list) {
    features.set(ds.features.subarray(0, ds.n * d), row * d);
    labels.set(ds.labels.subarray(0, ds.n), row);
    row += ds.n;
  }
  return { n, d, classes, features, labels };
}

/** Number of rows per class (length ds.classes). */
export function labelCounts(ds: Dataset): number[] {
  const counts = new Array<number>(ds.classes).fill(0);
  for (let i = 0; i < ds.n; i++) counts[ds.labels[i]!]!++;
  return counts;
}

/** Row i's features as a view (no copy). */
export function row(ds: Dataset, i: number): Float64Array {
  return ds.features.subarray(i * ds.d, (i + 1) * ds.d);
}
