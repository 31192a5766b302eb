/**
 * Quadratic bilevel instances with closed-form ground truth (docs/decisions.md
 * §11, the pattern of benchopt's `simulated` data set), used as the library's test oracle.
 *
 *   f_i(x, y) = ½ yᵀPyy y + yᵀPyx x + ½ xᵀPxx x + pyᵀy + pxᵀx
 *   g_i(x, y) = ½ yᵀAyy y + yᵀAyx x + ayᵀy           (Pyx, Ayx are d_y × d_x)
 *
 * Stochastic oracles. With noise σ > 0, a batch (seed s, size B) stands for
 * the random functions
 *   f_i(x, y; ξ) = f_i + (σ/√B)(n_fxᵀx + n_fyᵀy)
 *   g_i(x, y; ξ) = g_i + (σ/√B)(n_gxᵀx + n_gyᵀy + ½ yᵀE y)
 * with n_· standard Gaussian and E symmetric with N(0, 1/d_y) entries, all
 * drawn from s. Every oracle is the exact derivative of these functions (so the
 * finite-difference checks hold per sample), the noise has mean zero, and the
 * same batch at two points gives the same sample, as STORM/SPIDER need. A full
 * batch is the exact oracle.
 */
import { readFileSync } from 'node:fs';
import { DataError } from '../errors.ts';
import { choleskySolve, fromRows, gemv, gemvAcc, gemvT, matmul, quadForm, symmetricEigen, transpose, zeros, type Matrix } from '../linalg/matrix.ts';
import { axpy, dot, scale, type Vec } from '../linalg/vector.ts';
import { Rng } from '../random/rng.ts';
import { hessianByColumns, jacobianByColumns } from './matrices.ts';
import type { AgentOracle, Batch, BilevelProblem, ProblemClass } from './types.ts';

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

export interface QuadraticAgentData {
  readonly Pyy: Matrix;
  readonly Pyx: Matrix;
  readonly Pxx: Matrix;
  readonly py: Vec;
  readonly px: Vec;
  readonly Ayy: Matrix;
  readonly Ayx: Matrix;
  readonly ay: Vec;
}

export class QuadraticOracle implements AgentOracle {
  readonly upperSamples = Infinity;
  readonly lowerSamples = Infinity;
  readonly dx: number;
  readonly dy: number;
  private readonly rng = new Rng(0);
  private readonly noiseX: Vec;
  private readonly noiseY: Vec;
  private readonly tmpY: Vec;

  constructor(
    readonly data: QuadraticAgentData,
    readonly noise: number,
  ) {
    this.dx = data.px.length;
    this.dy = data.py.length;
    this.noiseX = new Float64Array(this.dx);
    this.noiseY = new Float64Array(this.dy);
    this.tmpY = new Float64Array(this.dy);
  }

  private noiseScale(batch: Batch): number {
    return batch.full || this.noise === 0 ? 0 : this.noise / Math.sqrt(Math.max(batch.size, 1));
  }

  /** Fills noiseX, noiseY with the linear noise of level `which` for this batch. */
  private linearNoise(batch: Batch, which: 'f' | 'g'): void {
    this.rng.reset(batch.seed, which, 'linear');
    for (let i = 0; i < this.dx; i++) this.noiseX[i] = this.rng.normal();
    for (let i = 0; i < this.dy; i++) this.noiseY[i] = this.rng.normal();
  }

  /** out ← out + s·E v for the batch's symmetric noise matrix E. */
  private hessianNoiseAcc(batch: Batch, s: number, v: Vec, out: Vec): void {
    const p = this.dy;
    const c = s / Math.sqrt(p);
    this.rng.reset(batch.seed, 'g', 'hessian');
    for (let i = 0; i < p; i++)
      for (let j = i; j < p; j++) {
        const e = c * this.rng.normal();
        out[i]! += e * v[j]!;
        if (j !== i) out[j]! += e * v[i]!;
      }
  }

  f(x: Vec, y: Vec, batch: Batch): number {
    const d = this.data;
    let v = 0.5 * quadForm(d.Pyy, y) + 0.5 * quadForm(d.Pxx, x) + dot(d.py, y) + dot(d.px, x);
    gemv(this.tmpY, d.Pyx, x);
    v += dot(this.tmpY, y);
    const s = this.noiseScale(batch);
    if (s !== 0) {
      this.linearNoise(batch, 'f');
      v += s * (dot(this.noiseX, x) + dot(this.noiseY, y));
    }
    return v;
  }

  g(x: Vec, y: Vec, batch: Batch): number {
    const d = this.data;
    gemv(this.tmpY, d.Ayx, x);
    let v = 0.5 * quadForm(d.Ayy, y) + dot(this.tmpY, y) + dot(d.ay, y);
    const s = this.noiseScale(batch);
    if (s !== 0) {
      this.linearNoise(batch, 'g');
      v += s * (dot(this.noiseX, x) + dot(this.noiseY, y));
      this.tmpY.fill(0);
      this.hessianNoiseAcc(batch, s, y, this.tmpY);
      v += 0.5 * dot(this.tmpY, y);
    }
    return v;
  }

  lowerDataLoss(x: Vec, y: Vec, batch: Batch): number {
    return this.g(x, y, batch);
  }

  gradF(x: Vec, y: Vec, batch: Batch, outX: Vec, outY: Vec): void {
    const d = this.data;
    gemvT(outX, d.Pyx, y);
    gemvAcc(outX, d.Pxx, x);
    axpy(1, d.px, outX);
    gemv(outY, d.Pyy, y);
    gemvAcc(outY, d.Pyx, x);
    axpy(1, d.py, outY);
    const s = this.noiseScale(batch);
    if (s !== 0) {
      this.linearNoise(batch, 'f');
      axpy(s, this.noiseX, outX);
      axpy(s, this.noiseY, outY);
    }
  }

  gradG(x: Vec, y: Vec, batch: Batch, outX: Vec | null, outY: Vec): void {
    const d = this.data;
    gemv(outY, d.Ayy, y);
    gemvAcc(outY, d.Ayx, x);
    axpy(1, d.ay, outY);
    if (outX) gemvT(outX, d.Ayx, y);
    const s = this.noiseScale(batch);
    if (s !== 0) {
      this.linearNoise(batch, 'g');
      axpy(s, this.noiseY, outY);
      if (outX) axpy(s, this.noiseX, outX);
      this.hessianNoiseAcc(batch, s, y, outY);
    }
  }

  hvp(_x: Vec, _y: Vec, v: Vec, batch: Batch, out: Vec): void {
    gemv(out, this.data.Ayy, v);
    const s = this.noiseScale(batch);
    if (s !== 0) this.hessianNoiseAcc(batch, s, v, out);
  }

  hessian(x: Vec, y: Vec, batch: Batch, out: Vec): void {
    hessianByColumns(this, x, y, batch, out);
  }

  jacobian(x: Vec, y: Vec, batch: Batch, out: Vec): void {
    jacobianByColumns(this, x, y, batch, out);
  }

  jvp(_x: Vec, _y: Vec, v: Vec, _batch: Batch, out: Vec): void {
    gemvT(out, this.data.Ayx, v);
  }
}

function averageMatrix(ms: ReadonlyArray<Matrix>): Matrix {
  const out = zeros(ms[0]!.rows, ms[0]!.cols);
  for (const m of ms) axpy(1, m.data, out.data);
  scale(1 / ms.length, out.data);
  return out;
}

function averageVec(vs: ReadonlyArray<Vec>): Vec {
  const out = new Float64Array(vs[0]!.length);
  for (const v of vs) axpy(1, v, out);
  scale(1 / vs.length, out);
  return out;
}

/** Builds the problem (oracles and closed forms) from validated agent data. */
export function quadraticProblem(problemClass: ProblemClass, agentsData: ReadonlyArray<QuadraticAgentData>, noise: number): BilevelProblem {
  const m = agentsData.length;
  const dx = agentsData[0]!.px.length;
  const dy = agentsData[0]!.py.length;
  const agents = agentsData.map((d) => new QuadraticOracle(d, noise));
  const avg = {
    Ayy: averageMatrix(agentsData.map((d) => d.Ayy)),
    Ayx: averageMatrix(agentsData.map((d) => d.Ayx)),
    ay: averageVec(agentsData.map((d) => d.ay)),
    Pyy: averageMatrix(agentsData.map((d) => d.Pyy)),
    Pyx: averageMatrix(agentsData.map((d) => d.Pyx)),
    Pxx: averageMatrix(agentsData.map((d) => d.Pxx)),
    py: averageVec(agentsData.map((d) => d.py)),
    px: averageVec(agentsData.map((d) => d.px)),
  };
  type Level = Pick<QuadraticAgentData, 'Ayy' | 'Ayx' | 'ay'>;
  const solveLower = (lv: Level, x: Vec, out: Vec): void => {
    const rhs = new Float64Array(dy);
    gemv(rhs, lv.Ayx, x);
    axpy(1, lv.ay, rhs);
    const y = choleskySolve(lv.Ayy, rhs);
    for (let i = 0; i < dy; i++) out[i] = -y[i]!;
  };
  /** ∇_x f − Ayxᵀ Ayy⁻¹ ∇_y f at (x, y*(x)) for one (f, g) pair. */
  const hyper = (fd: Omit<QuadraticAgentData, keyof Level>, lv: Level, x: Vec, out: Vec): void => {
    const y = new Float64Array(dy);
    solveLower(lv, x, y);
    const gy = new Float64Array(dy);
    gemv(gy, fd.Pyy, y);
    gemvAcc(gy, fd.Pyx, x);
    axpy(1, fd.py, gy);
    const z = choleskySolve(lv.Ayy, gy);
    gemvT(out, fd.Pyx, y);
    gemvAcc(out, fd.Pxx, x);
    axpy(1, fd.px, out);
    const jz = new Float64Array(dx);
    gemvT(jz, lv.Ayx, z);
    axpy(-1, jz, out);
  };
  return {
    type: 'quadratic',
    problemClass,
    m,
    dx,
    dy,
    agents,
    exact: {
      lowerSolution(x, agent, out) {
        solveLower(problemClass === 'global' ? avg : agentsData[agent]!, x, out);
      },
      hypergradient(x, out) {
        if (problemClass === 'global') {
          hyper(avg, avg, x, out);
          return;
        }
        out.fill(0);
        const part = new Float64Array(dx);
        for (const d of agentsData) {
          hyper(d, d, x, part);
          axpy(1 / m, part, out);
        }
      },
    },
  };
}

// ---------------------------------------------------------------- file format

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

// ---------------------------------------------------------------- generator

export interface RandomQuadraticOptions {
  agents: number;
  dx: number;
  dy: number;
  problemClass: ProblemClass;
  /** 0 gives identical agents; larger values spread the agents' data. */
  heterogeneity: number;
  /** Lower bound on the eigenvalues of every Ayy. */
  mu?: number;
  noise?: number;
}

/**
 * A random instance with a strongly convex lower level (Ayy ⪰ μI), a strongly
 * convex upper level in x (Pxx ⪰ 0.5 I), so the problem has a unique x*.
 */
export function randomQuadraticInstance(o: RandomQuadraticOptions, seed: number): QuadraticInstanceJson {
  const rng = new Rng(seed, 'quadratic');
  const mu = o.mu ?? 0.5;
  const gauss = (r: number, c: number, s: number): number[][] => Array.from({ length: r }, () => Array.from({ length: c }, () => s * rng.normal()));
  const spd = (base: number[][], pert: number[][], shift: number): number[][] => {
    const n = base.length;
    const b = base.map((row, i) => row.map((v, j) => v + pert[i]![j]!));
    return Array.from({ length: n }, (_, i) =>
      Array.from({ length: n }, (_, j) => {
        let s = 0;
        for (let k = 0; k < n; k++) s += b[i]![k]! * b[j]![k]!;
        return s / n + (i === j ? shift : 0);
      }),
    );
  };
  const add = (a: number[][], b: number[][]): number[][] => a.map((row, i) => row.map((v, j) => v + b[i]![j]!));
  const { dx, dy } = o;
  const h = o.heterogeneity;
  const base = {
    G: gauss(dy, dy, 1),
    H: gauss(dy, dy, 0.5),
    Ayx: gauss(dy, dx, 1 / Math.sqrt(dx)),
    Pyx: gauss(dy, dx, 0.2 / Math.sqrt(dx)),
    ay: gauss(1, dy, 1)[0]!,
    py: gauss(1, dy, 1)[0]!,
    px: gauss(1, dx, 1)[0]!,
  };
  const agents = Array.from({ length: o.agents }, () => ({
    f: {
      Pyy: spd(base.H, gauss(dy, dy, 0.5 * h), 0),
      Pyx: add(base.Pyx, gauss(dy, dx, (0.2 * h) / Math.sqrt(dx))),
      Pxx: Array.from({ length: dx }, (_, i) => Array.from({ length: dx }, (_, j) => (i === j ? 0.5 : 0))),
      py: base.py.map((v) => v + h * rng.normal()),
      px: base.px.map((v) => v + h * rng.normal()),
    },
    g: {
      Ayy: spd(base.G, gauss(dy, dy, h), mu),
      Ayx: add(base.Ayx, gauss(dy, dx, h / Math.sqrt(dx))),
      ay: base.ay.map((v) => v + h * rng.normal()),
    },
  }));
  // Pxx ⪰ 0.5 I alone does not make Φ convex: its Hessian also has the cross
  // terms through y*(x). Shift every Pxx so that ∇²Φ ⪰ 0.5 I, giving a unique x*.
  const instance: QuadraticInstanceJson = { class: o.problemClass, dx, dy, noise: o.noise ?? 0, agents };
  const { agents: parsed } = parseQuadraticInstance(instance, '(generated)');
  const lowest = symmetricEigen(phiHessian(o.problemClass, parsed)).values[0]!;
  if (lowest < 0.5) for (const a of agents) for (let i = 0; i < dx; i++) a.f.Pxx[i]![i]! += 0.5 - lowest;
  return instance;
}

/**
 * ∇²Φ of a quadratic instance (constant in x): with Y = dy*(x)/dx = −A⁻¹Ayx,
 * ∇²Φ = Pxx + YᵀPyy Y + YᵀPyx + PyxᵀY, using averages for class G and the
 * average of the per-agent terms for class P.
 */
export function phiHessian(problemClass: ProblemClass, agents: ReadonlyArray<QuadraticAgentData>): Matrix {
  const term = (f: Pick<QuadraticAgentData, 'Pyy' | 'Pyx' | 'Pxx'>, lv: Pick<QuadraticAgentData, 'Ayy' | 'Ayx'>): Matrix => {
    const dx = lv.Ayx.cols;
    const dy = lv.Ayx.rows;
    const y = zeros(dy, dx);
    const col = new Float64Array(dy);
    for (let j = 0; j < dx; j++) {
      for (let i = 0; i < dy; i++) col[i] = lv.Ayx.data[i * dx + j]!;
      const sol = choleskySolve(lv.Ayy, col);
      for (let i = 0; i < dy; i++) y.data[i * dx + j] = -sol[i]!;
    }
    const yt = transpose(y);
    const h = matmul(yt, matmul(f.Pyy, y));
    const cross = matmul(yt, f.Pyx);
    for (let i = 0; i < dx; i++) for (let j = 0; j < dx; j++) h.data[i * dx + j]! += f.Pxx.data[i * dx + j]! + cross.data[i * dx + j]! + cross.data[j * dx + i]!;
    return h;
  };
  if (problemClass === 'global') {
    const avg = (k: keyof QuadraticAgentData) => averageMatrix(agents.map((a) => a[k] as Matrix));
    return term({ Pyy: avg('Pyy'), Pyx: avg('Pyx'), Pxx: avg('Pxx') }, { Ayy: avg('Ayy'), Ayx: avg('Ayx') });
  }
  return averageMatrix(agents.map((a) => term(a, a)));
}
