/**
 * Row bookkeeping for data.json: a stand-in data set whose single feature is
 * the row number, so that any split or partition applied to it with the same
 * seed (they depend on n and the labels, never on feature values) yields the
 * source row numbers of every part.
 */
import type { Dataset } from './dataset.ts';

export function indexDataset(ds: Dataset): Dataset {
  return { n: ds.n, d: 1, classes: ds.classes, features: Float64Array.from({ length: ds.n }, (_, i) => i), labels: ds.labels };
}

/** The row numbers carried by an index data set (or a part of one). */
export function rowsOf(ds: Dataset): number[] {
  if (ds.d !== 1) throw new RangeError(`rowsOf: expected an index data set (d = 1), got d = ${ds.d}`);
  return Array.from(ds.features);
}
