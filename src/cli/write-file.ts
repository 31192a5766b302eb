/**
 * Writing a single output file (`dbo quadratic --out FILE`) without ever
 * overwriting something the user did not ask to replace: an existing file is
 * refused unless `force`, a directory or a link is always refused, and the
 * text goes to a temporary sibling that is renamed into place, so an
 * interrupted write leaves no half-written file.
 */
import { lstatSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { DboError, environmentError } from '../errors.ts';

export function writeNewFile(path: string, text: string, force: boolean): void {
  let kind: 'missing' | 'file' | 'other' = 'missing';
  try {
    const s = lstatSync(path);
    kind = s.isFile() && !s.isSymbolicLink() ? 'file' : 'other';
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw environmentError(e, path) ?? e;
  }
  if (kind === 'other') throw new DboError(`${path}: exists and is not a regular file (a folder or a link); nothing was written (choose another --out)`);
  if (kind === 'file' && !force) throw new DboError(`${path}: file already exists (choose another --out, or pass --force to overwrite it)`);
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, text, { flag: 'wx' });
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw environmentError(e, path) ?? e;
  }
}
