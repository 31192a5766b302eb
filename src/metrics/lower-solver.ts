/**
 * Ground-truth solvers used by evaluators (never by algorithms): a
 * Newton–conjugate-gradient minimizer for the strongly convex lower level and
 * a CG solve of H z = b, both matrix-free over full-batch oracles.
 */
import { cgWorkspace, conjugateGradient, type CgWorkspace } from '../linalg/matrix.ts';
import { axpy, dot, norm2Sq, type Vec } from '../linalg/vector.ts';

export interface SmoothObjective {
  value(y: Vec): number;
  gradient(y: Vec, out: Vec): void;
  hvp(y: Vec, v: Vec, out: Vec): void;
}

export interface NewtonOptions {
  /** Stop when ‖∇‖ ≤ gradTol. */
  gradTol: number;
  maxIterations: number;
}

export interface NewtonResult {
  iterations: number;
  gradNorm: number;
  converged: boolean;
}

/** Minimizes a strongly convex objective from the y passed in (warm start), in place. */
export function newtonCg(obj: SmoothObjective, y: Vec, options: NewtonOptions, ws?: CgWorkspace): NewtonResult {
  const n = y.length;
  const g = new Float64Array(n);
  const step = new Float64Array(n);
  const trial = new Float64Array(n);
  const cg = ws ?? cgWorkspace(n);
  const negG = new Float64Array(n);
  let it = 0;
  obj.gradient(y, g);
  let gn = Math.sqrt(norm2Sq(g));
  let f = obj.value(y);
  while (gn > options.gradTol && it < options.maxIterations) {
    for (let i = 0; i < n; i++) negG[i] = -g[i]!;
    step.fill(0);
    const forcing = Math.min(0.5, Math.sqrt(gn));
    conjugateGradient((out, v) => obj.hvp(y, v, out), negG, step, { tol: forcing, maxIter: 10 * n + 100, workspace: cg });
    let slope = dot(g, step);
    if (!(slope < 0)) {
      // Not a descent direction (CG broke down): fall back to steepest descent.
      step.set(negG);
      slope = -gn * gn;
    }
    let t = 1;
    let accepted = false;
    for (let ls = 0; ls < 50; ls++) {
      trial.set(y);
      axpy(t, step, trial);
      const ft = obj.value(trial);
      if (ft <= f + 1e-4 * t * slope || Math.abs(ft - f) <= 1e-15 * Math.abs(f)) {
        y.set(trial);
        f = ft;
        accepted = true;
        break;
      }
      t *= 0.5;
    }
    it++;
    obj.gradient(y, g);
    gn = Math.sqrt(norm2Sq(g));
    if (!accepted) break;
  }
  return { iterations: it, gradNorm: gn, converged: gn <= options.gradTol };
}
