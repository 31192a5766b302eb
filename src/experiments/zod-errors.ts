/** Turns the first zod issue into a ConfigError naming the dotted field path. */
import type { z } from 'zod';
import { ConfigError } from '../errors.ts';

export function pathToField(prefix: string, path: ReadonlyArray<PropertyKey>): string {
  let out = prefix;
  for (const k of path) {
    if (typeof k === 'number') out += `[${k}]`;
    else out += out === '' || out.endsWith('-') ? String(k) : `.${String(k)}`;
  }
  return out === '' ? '(config)' : out;
}

export function toConfigError(error: z.ZodError, prefix = ''): ConfigError {
  const issue = error.issues[0]!;
  const field = pathToField(prefix, issue.path);
  if (issue.code === 'unrecognized_keys') {
    const keys = (issue as { keys: string[] }).keys;
    return new ConfigError(field, `unknown key${keys.length > 1 ? 's' : ''} ${keys.map((k) => `'${k}'`).join(', ')}`);
  }
  if (issue.code === 'invalid_union' && 'note' in issue && issue.note === 'No matching discriminator') {
    return new ConfigError(field, issue.message);
  }
  if (issue.code === 'invalid_type' && /received undefined$/.test(issue.message)) {
    return new ConfigError(field, `required: ${issue.message.replace(/^Invalid input: /, '').replace(/, received undefined$/, '')}`);
  }
  return new ConfigError(field, issue.message.replace(/^Invalid input: /, ''));
}

/** Parses `value` with `schema`, throwing a ConfigError on the first problem. */
export function parseWith<T>(schema: z.ZodType<T>, value: unknown, prefix = ''): T {
  const result = schema.safeParse(value);
  if (!result.success) throw toConfigError(result.error, prefix);
  return result.data;
}
