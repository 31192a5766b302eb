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
 * data.json text: one line per agent, so large index lists stay readable. An
 * index list shared by many agents (say every agent's test set) is turned
 * into JSON once and reused: the text is the same as stringifying each agent.
 */
export function dataRecordJson(r: DataRecord): string {
  const { agents, ...head } = r;
  const headText = JSON.stringify(head, null, 2);
  const lists = new Map<ReadonlyArray<number>, string>();
  const list = (xs: ReadonlyArray<number>): string => {
    let text = lists.get(xs);
    if (text === undefined) lists.set(xs, (text = JSON.stringify(xs)));
    return text;
  };
  const agentJson = (a: AgentDataRecord): string => {
    const keys = Object.keys(a).filter((k) => a[k as keyof AgentDataRecord] !== undefined);
    // The fast path covers the record's own shape; anything else is stringified as is.
    if (!keys.every((k) => (k === 'train' || k === 'validation' || k === 'test' || k === 'trainLabels') && Array.isArray(a[k]))) return JSON.stringify(a);
    return `{${keys.map((k) => `${JSON.stringify(k)}:${list(a[k as keyof AgentDataRecord] as number[])}`).join(',')}}`;
  };
  const body = agents.map((a) => `    ${agentJson(a)}`).join(',\n');
  return `${headText.slice(0, -2)},\n  "agents": [\n${body}\n  ]\n}\n`;
}
