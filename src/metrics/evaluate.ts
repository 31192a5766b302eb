/**
 * Evaluators: ground-truth metrics from a snapshot of the agents' iterates,
 * computed outside the run's clock and oracle counters (docs/architecture.md, "Evaluation";
 * docs/decisions.md §11). They call the problem's raw oracles on full
 * batches, or its closed forms when it has them.
 *
 * Class G: ∇Φ(x̄) = ∇_x f̄ − ∇²_xy ḡ z*, with y*(x̄) = argmin ḡ(x̄, ·) solved by
 * Newton-CG and z* solving ∇²_yy ḡ z* = ∇_y f̄ by CG, all at (x̄, y*(x̄)).
 * Class P: the average over agents of the same with each agent's own
 * y_i*(x̄) and z_i*.
 */
import { cgWorkspace, conjugateGradient } from '../linalg/matrix.ts';
import { axpy, consensusError, distSq, meanInto, norm2Sq, scale, type Vec } from '../linalg/vector.ts';
import { fullBatch, type AgentOracle, type BilevelProblem } from '../problems/types.ts';
import type { StateView } from './state-view.ts';
import { newtonCg, type SmoothObjective } from './lower-solver.ts';

/** What an evaluation row holds; the ground-truth fields are absent when `groundTruth` is off. */
export interface RowMetrics {
  hypergradNormSq?: number;
  consensusX: number;
  /** Class G only: in class P each y_i is personal, so its spread is not an error. */
  consensusY?: number;
  consensusZ?: number;
  lowerError?: number;
  upperLoss: number;
  lowerLoss: number;
  /** Class G: accuracy of ȳ; class P: mean over agents of y_i's accuracy (the models are the y_i). */
  testAccuracy?: number;
  /** Mean over agents of the accuracy on the agent's own training (lower-level) set: y_i in class P, ȳ in class G. */
  trainAccuracy?: number;
  /** Present (true) when a ground-truth lower-level solve did not reach its tolerance. */
  lowerSolveFailed?: boolean;
  /** Class P: ‖y_i − y_i*(x̄)‖² per agent. */
  lowerErrors?: number[];
  /**
   * Class P: INTERACT's metric 𝔐 = ‖∇Φ(x̄)‖² + Σ_i ‖x_i − x̄‖² + Σ_i ‖y_i − y_i*(x_i)‖²
   * (SEED-001 (11); sums over agents, y_i* at each agent's own x_i, docs/decisions.md §12).
   */
  interactMetric?: number;
  /** Class P with a prox point: Σ_i ‖x̃_i − x̄‖² + Σ_i ‖x_i − x̄‖² + Σ_i ‖y_i − y_i*(x_i)‖² (SEED-003 (2)). */
  prometheusMetric?: number;
  /** Hyper-cleaning: of the samples flagged by σ(x̄_e) < 0.5, the fraction whose label was corrupted (NaN when none is flagged). */
  cleaningPrecision?: number;
  /** Hyper-cleaning: of the corrupted samples, the fraction flagged by σ(x̄_e) < 0.5. */
  cleaningRecall?: number;
}

/** The evaluator's warm starts (see Evaluator.warmStarts). */
export interface EvaluatorWarmStarts {
  readonly yStar: ReadonlyArray<Float64Array>;
  readonly zStar: ReadonlyArray<Float64Array>;
  readonly yOwn: ReadonlyArray<Float64Array>;
}

/** A full evaluation (ground truth on). */
export type MetricValues = RowMetrics & { hypergradNormSq: number; lowerError: number };

export interface EvaluatorOptions {
  /** ‖∇_y ḡ‖ tolerance of the lower-level solve. */
  lowerGradTol: number;
  /** Relative residual tolerance of the H z = ∇_y f solve. */
  linearTol: number;
  /**
   * Solve the lower level for the hypergradient norm, lower-level errors and
   * the INTERACT/Prometheus metrics. Off, only consensus, losses and accuracy
   * are computed (cheap evaluations for long accuracy curves).
   */
  groundTruth: boolean;
}

const DEFAULTS: EvaluatorOptions = { lowerGradTol: 1e-9, linearTol: 1e-8, groundTruth: true };

/** The average of some agents' full-batch lower-level losses, as a smooth function of y at fixed x. */
function averagedLower(agents: ReadonlyArray<AgentOracle>, x: Vec): SmoothObjective {
  const full = fullBatch();
  const tmp = new Float64Array(agents[0]!.dy);
  const w = 1 / agents.length;
  return {
    value: (y) => agents.reduce((s, a) => s + w * a.g(x, y, full), 0),
    gradient: (y, out) => {
      out.fill(0);
      for (const a of agents) {
        a.gradG(x, y, full, null, tmp);
        axpy(w, tmp, out);
      }
    },
    hvp: (y, v, out) => {
      out.fill(0);
      for (const a of agents) {
        a.hvp(x, y, v, full, tmp);
        axpy(w, tmp, out);
      }
    },
  };
}

export class Evaluator {
  private readonly options: EvaluatorOptions;
  /** Warm starts: one per lower-level system (1 for class G, m for class P). */
  private readonly yStar: Float64Array[];
  private readonly zStar: Float64Array[];
  /** Class P: warm starts of y_i*(x_i) at each agent's own x_i. */
  private readonly yOwn: Float64Array[];
  /** Whether every lower-level solve of the current evaluation converged. */
  private solvesConverged = true;

  constructor(
    readonly problem: BilevelProblem,
    options: Partial<EvaluatorOptions> = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
    const systems = problem.problemClass === 'global' ? 1 : problem.m;
    this.yStar = Array.from({ length: systems }, () => new Float64Array(problem.dy));
    this.zStar = Array.from({ length: systems }, () => new Float64Array(problem.dy));
    this.yOwn = problem.problemClass === 'personalized' ? Array.from({ length: problem.m }, () => new Float64Array(problem.dy)) : [];
  }

  /** y_i*(x) of agent i's own lower level into `y` (warm started from its content). */
  private ownLowerSolution(x: Vec, i: number, y: Vec): void {
    const p = this.problem;
    if (p.exact) p.exact.lowerSolution(x, i, y);
    else if (!newtonCg(averagedLower([p.agents[i]!], x), y, { gradTol: this.options.lowerGradTol, maxIterations: 100 }).converged) this.solvesConverged = false;
  }

  /** Sets the warm start of the lower-level solves (e.g. the agents' initial y). */
  warmStart(y: Vec): void {
    for (const ys of this.yStar) ys.set(y);
    for (const ys of this.yOwn) ys.set(y);
  }

  /**
   * Copies of the warm starts the next evaluation starts from. The solves
   * stop at a tolerance, so their last bits depend on where they start: a run
   * continued from a checkpoint restores these to evaluate bit for bit as the
   * uninterrupted run does.
   */
  warmStarts(): EvaluatorWarmStarts {
    const copy = (vs: Float64Array[]) => vs.map((v) => Float64Array.from(v));
    return { yStar: copy(this.yStar), zStar: copy(this.zStar), yOwn: copy(this.yOwn) };
  }

  /** Restores warm starts saved by `warmStarts` (same problem). */
  restoreWarmStarts(saved: EvaluatorWarmStarts): void {
    const put = (into: Float64Array[], from: ReadonlyArray<Float64Array>, what: string) => {
      if (from.length !== into.length || from.some((v, k) => v.length !== into[k]!.length)) throw new Error(`evaluator warm starts: ${what} does not fit this problem`);
      from.forEach((v, k) => into[k]!.set(v));
    };
    put(this.yStar, saved.yStar, 'yStar');
    put(this.zStar, saved.zStar, 'zStar');
    put(this.yOwn, saved.yOwn, 'yOwn');
  }

  /**
   * ∇Φ(x) into `out` and y*(x) into the warm-start buffers. For class G one
   * system over the averaged lower level; for class P one per agent.
   */
  hypergradient(x: Vec, out: Vec): void {
    const p = this.problem;
    if (p.exact) {
      p.exact.hypergradient(x, out);
      for (let s = 0; s < this.yStar.length; s++) p.exact.lowerSolution(x, s, this.yStar[s]!);
      return;
    }
    const groups: AgentOracle[][] = p.problemClass === 'global' ? [p.agents.slice()] : p.agents.map((a) => [a]);
    const full = fullBatch();
    const gx = new Float64Array(p.dx);
    const gy = new Float64Array(p.dy);
    const sumGx = new Float64Array(p.dx);
    const sumGy = new Float64Array(p.dy);
    const jz = new Float64Array(p.dx);
    const ws = cgWorkspace(p.dy);
    out.fill(0);
    groups.forEach((agents, s) => {
      const lower = averagedLower(agents, x);
      const y = this.yStar[s]!;
      if (!newtonCg(lower, y, { gradTol: this.options.lowerGradTol, maxIterations: 100 }, ws).converged) this.solvesConverged = false;
      sumGx.fill(0);
      sumGy.fill(0);
      for (const a of agents) {
        a.gradF(x, y, full, gx, gy);
        axpy(1, gx, sumGx);
        axpy(1, gy, sumGy);
      }
      scale(1 / agents.length, sumGx);
      scale(1 / agents.length, sumGy);
      const z = this.zStar[s]!;
      if (!conjugateGradient((o, v) => lower.hvp(y, v, o), sumGy, z, { tol: this.options.linearTol, maxIter: 20 * p.dy + 200, workspace: ws }).converged) this.solvesConverged = false;
      // out += (∇_x f̄ − J̄ z) / (number of systems)
      const w = 1 / groups.length;
      axpy(w, sumGx, out);
      for (const a of agents) {
        a.jvp(x, y, z, full, jz);
        axpy(-w / agents.length, jz, out);
      }
    });
  }

  /** Every metric, ground truth included (the evaluator must have groundTruth on). */
  evaluate(views: ReadonlyArray<StateView>): MetricValues {
    const row = this.evaluateRow(views);
    if (row.hypergradNormSq === undefined || row.lowerError === undefined) throw new Error('Evaluator.evaluate needs groundTruth: true');
    return row as MetricValues;
  }

  /** The metrics of one result row (ground truth only when the option is on). */
  evaluateRow(views: ReadonlyArray<StateView>): RowMetrics {
    const p = this.problem;
    const xs = views.map((v) => v.x);
    const ys = views.map((v) => v.y);
    const xBar = new Float64Array(p.dx);
    const yBar = new Float64Array(p.dy);
    meanInto(xBar, xs);
    meanInto(yBar, ys);
    const full = fullBatch();
    const global = p.problemClass === 'global';
    const yOf = (i: number): Vec => (global ? yBar : ys[i]!);
    const m = p.m;
    this.solvesConverged = true;
    const values: RowMetrics = {
      consensusX: consensusError(xs, xBar),
      ...(global ? { consensusY: consensusError(ys, yBar) } : {}),
      upperLoss: p.agents.reduce((s, a, i) => s + a.f(xBar, yOf(i), full), 0) / m,
      lowerLoss: p.agents.reduce((s, a, i) => s + a.lowerDataLoss(xBar, yOf(i), full), 0) / m,
    };
    if (this.options.groundTruth) {
      const grad = new Float64Array(p.dx);
      this.hypergradient(xBar, grad);
      values.hypergradNormSq = norm2Sq(grad);
      values.lowerError = global ? distSq(yBar, this.yStar[0]!) : ys.reduce((s, y, i) => s + distSq(y, this.yStar[i]!), 0) / m;
      if (!global) {
        values.lowerErrors = ys.map((y, i) => distSq(y, this.yStar[i]!));
        let own = 0;
        ys.forEach((y, i) => {
          this.ownLowerSolution(xs[i]!, i, this.yOwn[i]!);
          own += distSq(y, this.yOwn[i]!);
        });
        const spread = values.consensusX * m;
        values.interactMetric = values.hypergradNormSq + spread + own;
        if (views[0]!.xTilde) values.prometheusMetric = views.reduce((s, v) => s + distSq(v.xTilde!, xBar), 0) + spread + own;
      }
    }
    if (!this.solvesConverged) values.lowerSolveFailed = true;
    if (global && views[0]!.z) {
      const zs = views.map((v) => v.z!);
      const zBar = new Float64Array(zs[0]!.length);
      meanInto(zBar, zs);
      values.consensusZ = consensusError(zs, zBar);
    }
    if (p.extraMetrics) Object.assign(values, p.extraMetrics(xBar, yBar));
    if (p.testAccuracy) {
      const acc = p.testAccuracy;
      values.testAccuracy = global ? acc(xBar, yBar) : ys.reduce((s, y) => s + acc(xBar, y), 0) / m;
    }
    if (p.trainAccuracy) {
      const acc = p.trainAccuracy;
      let sum = 0;
      for (let i = 0; i < m; i++) sum += acc(xBar, yOf(i), i);
      values.trainAccuracy = sum / m;
    }
    return values;
  }
}
