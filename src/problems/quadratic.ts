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
 *
 * The instance file format is in quadratic-file.ts, the random generator
 * (`dbo quadratic`) in quadratic-generator.ts.
 */
import { choleskySolve, gemv, gemvAcc, gemvT, matmul, quadForm, transpose, zeros, type Matrix } from '../linalg/matrix.ts';
import { axpy, dot, scale, type Vec } from '../linalg/vector.ts';
import { Rng } from '../random/rng.ts';
import { hessianByColumns, jacobianByColumns } from './matrices.ts';
import type { AgentOracle, Batch, BilevelProblem, ProblemClass } from './types.ts';

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

/** The entrywise mean of equally sized matrices. */
export function averageMatrix(ms: ReadonlyArray<Matrix>): Matrix {
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
    restrict: (ids) => quadraticProblem(problemClass, ids.map((i) => agentsData[i]!), noise),
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
