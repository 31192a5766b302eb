/**
 * The quadratic instance file format (JSON, matrices as arrays of rows; see
 * quadratic.ts for the functions): reading and validating it, with errors
 * naming the file and the field.
 */
import { readFileSync } from 'node:fs';
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

function readMatrix(file: string, field: string, value: unknown, rows: number, cols: number, optional: boolean): Matrix {
  if (value === undefined && optional) return zeros(rows, cols);
  if (!Array.isArray(value) || value.length !== rows) fail(file, field, `expected a ${rows}×${cols} matrix (array of ${rows} rows)${Array.isArray(value) ? `, got ${value.length} rows` : ''}`);
  value.forEach((row, i) => {
    if (!Array.isArray(row) || row.length !== cols) fail(file, `${field}[${i}]`, `expected a row of ${cols} numbers`);
    row.forEach((e, j) => {
      if (typeof e !== 'number' || !Number.isFinite(e)) fail(file, `${field}[${i}][${j}]`, 'expected a finite number');
    });
  });
  return fromRows(value as number[][]);
}

function readVector(file: string, field: string, value: unknown, n: number): Vec {
  if (value === undefined) return new Float64Array(n);
  if (!Array.isArray(value) || value.length !== n) fail(file, field, `expected an array of ${n} numbers`);
  value.forEach((e, j) => {
    if (typeof e !== 'number' || !Number.isFinite(e)) fail(file, `${field}[${j}]`, 'expected a finite number');
  });
  return Float64Array.from(value as number[]);
}

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
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail(file, '(root)', 'expected a JSON object with class, dx, dy, agents');
  const o = json as Record<string, unknown>;
  const known = new Set(['class', 'dx', 'dy', 'noise', 'agents']);
  for (const k of Object.keys(o)) if (!known.has(k)) fail(file, k, `unknown key (expected one of ${[...known].join(', ')})`);
  if (o.class !== 'global' && o.class !== 'personalized') fail(file, 'class', `expected "global" or "personalized", got ${JSON.stringify(o.class)}`);
  const dx = o.dx;
  const dy = o.dy;
  if (typeof dx !== 'number' || !Number.isInteger(dx) || dx < 1) fail(file, 'dx', 'expected a positive integer');
  if (typeof dy !== 'number' || !Number.isInteger(dy) || dy < 1) fail(file, 'dy', 'expected a positive integer');
  const noise = o.noise ?? 0;
  if (typeof noise !== 'number' || !(noise >= 0) || !Number.isFinite(noise)) fail(file, 'noise', 'expected a number ≥ 0');
  if (!Array.isArray(o.agents) || o.agents.length === 0) fail(file, 'agents', 'expected a non-empty array of {f, g} objects');
  const agents = o.agents.map((a: unknown, i: number): QuadraticAgentData => {
    const at = `agents[${i}]`;
    if (typeof a !== 'object' || a === null) fail(file, at, 'expected an object with f and g');
    const { f, g, ...rest } = a as Record<string, unknown>;
    for (const k of Object.keys(rest)) fail(file, `${at}.${k}`, 'unknown key (expected f, g)');
    if (typeof f !== 'object' || f === null) fail(file, `${at}.f`, 'expected an object {Pyy, Pyx, Pxx, py, px}');
    if (typeof g !== 'object' || g === null) fail(file, `${at}.g`, 'expected an object {Ayy, Ayx, ay}');
    const fo = f as Record<string, unknown>;
    const go = g as Record<string, unknown>;
    for (const k of Object.keys(fo)) if (!['Pyy', 'Pyx', 'Pxx', 'py', 'px'].includes(k)) fail(file, `${at}.f.${k}`, 'unknown key (expected Pyy, Pyx, Pxx, py, px)');
    for (const k of Object.keys(go)) if (!['Ayy', 'Ayx', 'ay'].includes(k)) fail(file, `${at}.g.${k}`, 'unknown key (expected Ayy, Ayx, ay)');
    const data: QuadraticAgentData = {
      Pyy: readMatrix(file, `${at}.f.Pyy`, fo.Pyy, dy, dy, true),
      Pyx: readMatrix(file, `${at}.f.Pyx`, fo.Pyx, dy, dx, true),
      Pxx: readMatrix(file, `${at}.f.Pxx`, fo.Pxx, dx, dx, true),
      py: readVector(file, `${at}.f.py`, fo.py, dy),
      px: readVector(file, `${at}.f.px`, fo.px, dx),
      Ayy: readMatrix(file, `${at}.g.Ayy`, go.Ayy, dy, dy, false),
      Ayx: readMatrix(file, `${at}.g.Ayx`, go.Ayx, dy, dx, true),
      ay: readVector(file, `${at}.g.ay`, go.ay, dy),
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
