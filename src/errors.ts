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

/** A run produced non-finite numbers; the rows logged so far are kept. */
export class DivergenceError extends DboError {
  override readonly name = 'DivergenceError';
}
