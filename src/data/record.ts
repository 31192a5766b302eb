/**
 * data.json: what every agent of a run holds, so that anyone with the same
 * source files can rebuild each agent's data without dbo.
 *
 * - `sources`: every file read (name and SHA-256), with the index lists
 *   (`train`, `validation`, `test`) that refer to it. Samples are numbered
 *   from 0 consecutively through a role's files in the listed order.
 * - `agents[i]`: the 0-based sample indices in the order the agent uses
 *   them, and `trainLabels` where the training labels were changed
 *   (label corruption), in the same order.
 * - `preprocessing`: how file contents become features.
 */
import { closeSync, openSync, writeSync, writevSync } from 'node:fs';
import type { SourceFile } from './image-source.ts';

export type IndexRole = 'train' | 'validation' | 'test';

export interface RecordedSource extends SourceFile {
  /** The index lists that number samples of this file. */
  readonly roles: ReadonlyArray<IndexRole>;
}

export interface AgentDataRecord {
  readonly train: number[];
  readonly validation: number[];
  readonly test: number[];
  readonly trainLabels?: number[];
}

export interface DataRecord {
  /** The data set, e.g. "mnist" or "cifar10-synthetic (synthetic CIFAR-shaped stand-in)". */
  readonly dataset: string;
  readonly sources: ReadonlyArray<RecordedSource>;
  /** How samples are numbered within the sources. */
  readonly indexing: string;
  readonly preprocessing: string;
  readonly agents: ReadonlyArray<AgentDataRecord>;
  /** Anything else a rebuild needs (e.g. the generator of in-memory data). */
  readonly notes?: ReadonlyArray<string>;
}

export function withRoles(files: ReadonlyArray<SourceFile>, roles: ReadonlyArray<IndexRole>): RecordedSource[] {
  return files.map((f) => ({ ...f, roles }));
}

/**
 * data.json in pieces: the head, then one line per agent (so large index
 * lists stay readable), then the closing brackets. An index list shared by
 * many agents (say every agent's test set) is turned into JSON once and
 * reused. Joined, the pieces are the text of stringifying each agent's record.
 */
function* dataRecordPieces(r: DataRecord): Generator<string | Buffer> {
  const { agents, ...head } = r;
  const headText = JSON.stringify(head, null, 2);
  const lists = new Map<ReadonlyArray<number>, Buffer>();
  const list = (xs: ReadonlyArray<number>): Buffer => {
    let bytes = lists.get(xs);
    if (bytes === undefined) lists.set(xs, (bytes = Buffer.from(JSON.stringify(xs))));
    return bytes;
  };
  yield `${headText.slice(0, -2)},\n  "agents": [\n`;
  for (let i = 0; i < agents.length; i++) {
    const a = agents[i]!;
    const sep = i === 0 ? '    ' : ',\n    ';
    const keys = Object.keys(a).filter((k) => a[k as keyof AgentDataRecord] !== undefined);
    // The fast path covers the record's own shape; anything else is stringified as is.
    if (!keys.every((k) => (k === 'train' || k === 'validation' || k === 'test' || k === 'trainLabels') && Array.isArray(a[k]))) {
      yield sep + JSON.stringify(a);
      continue;
    }
    for (let k = 0; k < keys.length; k++) {
      yield `${k === 0 ? `${sep}{` : ','}${JSON.stringify(keys[k])}:`;
      yield list(a[keys[k] as keyof AgentDataRecord] as number[]);
    }
    yield '}';
  }
  yield '\n  ]\n}\n';
}

/** data.json text (see dataRecordPieces). */
export function dataRecordJson(r: DataRecord): string {
  let out = '';
  for (const piece of dataRecordPieces(r)) out += typeof piece === 'string' ? piece : piece.toString();
  return out;
}

/** Writes data.json to `path` piece by piece (no single string of the whole file is built). */
export function writeDataRecord(path: string, r: DataRecord): void {
  const fd = openSync(path, 'w');
  try {
    let batch: Buffer[] = [];
    let bytes = 0;
    const flush = () => {
      const written = batch.length ? writevSync(fd, batch) : 0;
      if (written < bytes) {
        // A short write: the rest, plainly.
        const rest = Buffer.concat(batch).subarray(written);
        for (let off = 0; off < rest.length; ) off += writeSync(fd, rest, off);
      }
      batch = [];
      bytes = 0;
    };
    for (const piece of dataRecordPieces(r)) {
      const b = typeof piece === 'string' ? Buffer.from(piece) : piece;
      batch.push(b);
      bytes += b.length;
      if (batch.length >= 512 || bytes >= 1 << 22) flush();
    }
    flush();
  } finally {
    closeSync(fd);
  }
}
