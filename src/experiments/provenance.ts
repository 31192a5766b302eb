/**
 * Provenance of a run (summary.json `provenance`): the dbo version, the git
 * commit dbo runs from (null outside a git checkout), the Node version, and
 * the SHA-256 of every input file the config reads.
 */
import { resolve } from 'node:path';
import { dboVersion, gitCommit } from '../cli/version.ts';
import type { DataRecord } from '../data/record.ts';
import { sha256File } from '../data/image-source.ts';
import type { RunConfig } from './config.ts';

export interface InputFile {
  /** The path as read (absolute), or the file name for files found inside a data folder. */
  readonly path: string;
  readonly sha256: string;
}

export interface Provenance {
  readonly dbo: string;
  readonly commit: string | null;
  readonly node: string;
  readonly inputs: ReadonlyArray<InputFile>;
}

/** The files a config names directly (quadratic instance, LIBSVM data). */
export function configInputPaths(config: RunConfig): string[] {
  const p = config.problem;
  if (p.type === 'quadratic') return [resolve(p.file)];
  if (p.type === 'logreg-hpo' && p.data.source === 'libsvm') return [resolve(p.data.file), ...(p.data.testFile ? [resolve(p.data.testFile)] : [])];
  return [];
}

let commit: string | null | undefined;

/** Hashes the config's input files; files read from data folders come from the data record's hashes. */
export function runProvenance(config: RunConfig, data?: DataRecord): Provenance {
  if (commit === undefined) commit = gitCommit();
  const inputs: InputFile[] = configInputPaths(config).map((path) => ({ path, sha256: sha256File(path) }));
  for (const s of data?.sources ?? []) {
    if (!inputs.some((f) => f.sha256 === s.sha256)) inputs.push({ path: s.name, sha256: s.sha256 });
  }
  return { dbo: dboVersion(), commit, node: process.version, inputs };
}
