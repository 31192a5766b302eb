/**
 * Random quadratic instances with a known unique solution (`dbo quadratic`).
 */
import { symmetricEigen } from '../linalg/matrix.ts';
import { Rng } from '../random/rng.ts';
import { phiHessian } from './quadratic.ts';
import { parseQuadraticInstance, type QuadraticInstanceJson } from './quadratic-file.ts';
import type { ProblemClass } from './types.ts';

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
