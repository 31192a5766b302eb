/**
 * The quadratic instance file format (JSON, matrices as arrays of rows; see
 * quadratic.ts for the functions): reading and validating it, with errors
 * naming the file and the field.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { DataError } from '../errors.ts';
import { choleskySolve, fromRows, zeros, type Matrix } from '../linalg/matrix.ts';
import type { Vec } from '../linalg/vector.ts';
import { averageMatrix, quadraticProblem, type QuadraticAgentData } from './quadratic.ts';
import type { BilevelProblem, ProblemClass } from './types.ts';

/** The JSON file format (matrices as arrays of rows). */
export interface QuadraticInstanceJson {
  class: ProblemClass;
  dx: number;
  dy: number;
  noise?: number;
  agents: Array<{
    f: { Pyy?: number[][]; Pyx?: number[][]; Pxx?: number[][]; py?: number[]; px?: number[] };
    g: { Ayy: number[][]; Ayx?: number[][]; ay?: number[] };
  }>;
}

function fail(file: string, field: string, detail: string): never {
  throw new DataError(file, `${field}: ${detail}`);
}

/** `prefix` followed by a zod path, as in `agents[1].g.Ayy[0]`; '' for the root. */
function fieldOf(prefix: string, path: ReadonlyArray<PropertyKey>): string {
  let out = prefix;
  for (const k of path) out += typeof k === 'number' ? `[${k}]` : out === '' ? String(k) : `.${String(k)}`;
  return out;
}

const UNKNOWN_KEY: Record<string, string> = {
  root: 'unknown key (expected one of class, dx, dy, noise, agents)',
  agent: 'unknown key (expected f, g)',
  f: 'unknown key (expected Pyy, Pyx, Pxx, py, px)',
  g: 'unknown key (expected Ayy, Ayx, ay)',
};

/** Parses `value` with `schema`; the first issue becomes a DataError naming `file` and the field. */
function parseField<T>(schema: z.ZodType<T>, value: unknown, file: string, prefix: string, level: keyof typeof UNKNOWN_KEY): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const at = fieldOf(prefix, issue.path);
  if (issue.code === 'unrecognized_keys') {
    const where = issue.path.length === 0 ? level : String(issue.path[issue.path.length - 1]);
    const field = at === '' ? issue.keys[0]! : `${at}.${issue.keys[0]!}`;
    fail(file, field, UNKNOWN_KEY[where] ?? 'unknown key');
  }
  fail(file, at === '' ? '(root)' : at, issue.message);
}

const finite = z.number({ error: 'expected a finite number' });
/** An array of exactly n items (`message` otherwise), whose items are then checked by `item`: sizes before entries. */
const sized = <T extends z.ZodType>(n: number, message: string | ((input: unknown) => string), item: T) => {
  const error = typeof message === 'string' ? message : (iss: { input?: unknown }) => message(iss.input);
  return z.array(z.unknown(), { error }).length(n, { error }).pipe(z.array(item));
};
const matrix = (rows: number, cols: number) => {
  const shape = `expected a ${rows}×${cols} matrix (array of ${rows} rows)`;
  return sized(rows, (input) => (Array.isArray(input) ? `${shape}, got ${input.length} rows` : shape), sized(cols, `expected a row of ${cols} numbers`, finite));
};
const vector = (n: number) => sized(n, `expected an array of ${n} numbers`, finite);

const positiveInt = z.number({ error: 'expected a positive integer' }).int({ error: 'expected a positive integer' }).min(1, { error: 'expected a positive integer' });
/** The file's top level; the agents are checked against dx, dy by `agentSchema`. */
const headerSchema = z.strictObject(
  {
    class: z.enum(['global', 'personalized'], { error: (iss) => `expected "global" or "personalized", got ${JSON.stringify(iss.input)}` }),
    dx: positiveInt,
    dy: positiveInt,
    noise: z.number({ error: 'expected a number ≥ 0' }).min(0, { error: 'expected a number ≥ 0' }).optional(),
    agents: z.array(z.unknown(), { error: 'expected a non-empty array of {f, g} objects' }).min(1, { error: 'expected a non-empty array of {f, g} objects' }),
  },
  { error: 'expected a JSON object with class, dx, dy, agents' },
);

/** One agent's {f, g} for dimensions dx, dy; absent terms are zero (g.Ayy is required). */
const agentSchema = (dx: number, dy: number) =>
  z.strictObject(
    {
      f: z.strictObject(
        { Pyy: matrix(dy, dy).optional(), Pyx: matrix(dy, dx).optional(), Pxx: matrix(dx, dx).optional(), py: vector(dy).optional(), px: vector(dx).optional() },
        { error: 'expected an object {Pyy, Pyx, Pxx, py, px}' },
      ),
      g: z.strictObject({ Ayy: matrix(dy, dy), Ayx: matrix(dy, dx).optional(), ay: vector(dy).optional() }, { error: 'expected an object {Ayy, Ayx, ay}' }),
    },
    { error: 'expected an object with f and g' },
  );

const toMatrix = (v: number[][] | undefined, rows: number, cols: number): Matrix => (v === undefined ? zeros(rows, cols) : fromRows(v));
const toVector = (v: number[] | undefined, n: number): Vec => (v === undefined ? new Float64Array(n) : Float64Array.from(v));

function requireSymmetric(file: string, field: string, a: Matrix): void {
  for (let i = 0; i < a.rows; i++)
    for (let j = i + 1; j < a.cols; j++) {
      const u = a.data[i * a.cols + j]!;
      const v = a.data[j * a.cols + i]!;
      if (Math.abs(u - v) > 1e-12 * Math.max(1, Math.abs(u), Math.abs(v))) fail(file, field, `expected a symmetric matrix, but entry (${i},${j}) = ${u} differs from (${j},${i}) = ${v}`);
    }
}

function requirePositiveDefinite(file: string, field: string, a: Matrix): void {
  try {
    choleskySolve(a, new Float64Array(a.rows));
  } catch {
    fail(file, field, 'expected a positive definite matrix (the lower level must be strongly convex in y)');
  }
}

/** Validates a parsed instance; `file` names the source in errors. */
export function parseQuadraticInstance(json: unknown, file: string): { problemClass: ProblemClass; noise: number; agents: QuadraticAgentData[] } {
  const o = parseField(headerSchema, json, file, '', 'root');
  const { dx, dy } = o;
  const noise = o.noise ?? 0;
  const schema = agentSchema(dx, dy);
  const agents = o.agents.map((raw, i): QuadraticAgentData => {
    const at = `agents[${i}]`;
    const { f, g } = parseField(schema, raw, file, at, 'agent');
    const data: QuadraticAgentData = {
      Pyy: toMatrix(f.Pyy, dy, dy),
      Pyx: toMatrix(f.Pyx, dy, dx),
      Pxx: toMatrix(f.Pxx, dx, dx),
      py: toVector(f.py, dy),
      px: toVector(f.px, dx),
      Ayy: fromRows(g.Ayy),
      Ayx: toMatrix(g.Ayx, dy, dx),
      ay: toVector(g.ay, dy),
    };
    requireSymmetric(file, `${at}.f.Pyy`, data.Pyy);
    requireSymmetric(file, `${at}.f.Pxx`, data.Pxx);
    requireSymmetric(file, `${at}.g.Ayy`, data.Ayy);
    if (o.class === 'personalized') requirePositiveDefinite(file, `${at}.g.Ayy`, data.Ayy);
    return data;
  });
  if (o.class === 'global') {
    const avg = averageMatrix(agents.map((a) => a.Ayy));
    try {
      choleskySolve(avg, new Float64Array(dy));
    } catch {
      fail(file, 'agents[*].g.Ayy', 'expected the average of Ayy over agents to be positive definite (global lower level must be strongly convex)');
    }
  }
  return { problemClass: o.class, noise, agents };
}

/** Reads and validates an instance file; `noise` overrides the file's σ. */
export function loadQuadraticInstance(file: string, noise?: number): BilevelProblem {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new DataError(file, 'file not found or unreadable (expected a quadratic instance JSON file)');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new DataError(file, `invalid JSON (${(e as Error).message})`);
  }
  const parsed = parseQuadraticInstance(json, file);
  return quadraticProblem(parsed.problemClass, parsed.agents, noise ?? parsed.noise);
}
