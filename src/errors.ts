/**
 * User-facing errors. The CLI prints `message` alone (no stack trace unless
 * `--debug`), so every message names the field or file and what was expected.
 */
export class DboError extends Error {
  override readonly name: string = 'DboError';
}

/** A configuration value is missing, of the wrong type, or out of range. `field` is a dotted path. */
export class ConfigError extends DboError {
  override readonly name = 'ConfigError';
  constructor(
    readonly field: string,
    detail: string,
  ) {
    super(`${field}: ${detail}`);
  }
}

/** A data or instance file is missing or malformed. `file` is the path as given. */
export class DataError extends DboError {
  override readonly name = 'DataError';
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
  }
}

/**
 * The environment refused an operation on a path: permissions, a missing or
 * misnamed folder, a full or read-only disk. `path` is the path involved.
 */
export class EnvironmentError extends DboError {
  override readonly name = 'EnvironmentError';
  constructor(
    readonly path: string,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** What each error code means, in words; the codes the environment (not dbo) causes. */
const ENVIRONMENT_CODES: Readonly<Record<string, string>> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or folder',
  ENOTDIR: 'a part of the path is not a folder',
  EISDIR: 'is a folder',
  EEXIST: 'already exists',
  ENOTEMPTY: 'folder not empty',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EFBIG: 'file too large',
  EIO: 'input/output error',
  EBUSY: 'resource busy',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
  ENAMETOOLONG: 'file name too long',
  ELOOP: 'too many symbolic links',
  EXDEV: 'cannot move across file systems',
};

const SYSCALL_WORDS: Readonly<Record<string, string>> = {
  open: 'cannot open',
  read: 'cannot read',
  write: 'cannot write',
  mkdir: 'cannot create folder',
  rmdir: 'cannot remove',
  rm: 'cannot remove',
  unlink: 'cannot remove',
  rename: 'cannot move into place',
  scandir: 'cannot list',
  stat: 'cannot inspect',
  lstat: 'cannot inspect',
  copyfile: 'cannot copy',
};

/**
 * Turns an error from the file system into a one-line EnvironmentError that
 * names the path (`path` when given, else the one in the error), or returns
 * null when `e` is not such an error. DboErrors pass through unchanged.
 */
export function environmentError(e: unknown, path?: string): DboError | null {
  if (e instanceof DboError) return e;
  const err = e as NodeJS.ErrnoException | null;
  if (!err || typeof err !== 'object' || typeof err.code !== 'string' || !(err.code in ENVIRONMENT_CODES)) return null;
  const where = path ?? err.path ?? '(unknown path)';
  const verb = err.syscall ? (SYSCALL_WORDS[err.syscall] ?? `${err.syscall} failed`) : 'failed';
  return new EnvironmentError(where, err.code, `${where}: ${verb}: ${ENVIRONMENT_CODES[err.code]} (${err.code})`);
}

/** Runs `f`; an environment error it throws becomes an EnvironmentError naming `path`. */
export function onPath<T>(path: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw environmentError(e, path) ?? e;
  }
}
