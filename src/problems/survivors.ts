/**
 * The survivors' problem (docs/faults.md): once agents have left a run, its
 * metrics are those of the bilevel problem of the agents still in it — their
 * losses averaged over them alone. A problem with closed forms builds its own
 * restriction (`restrict`); otherwise the survivors' oracles are kept and
 * the evaluator solves the lower levels numerically (the full problem's
 * closed forms would be those of the wrong problem, so they are dropped).
 */
import type { BilevelProblem } from './types.ts';

export function survivorsProblem(problem: BilevelProblem, ids: ReadonlyArray<number>): BilevelProblem {
  if (ids.length === problem.m && ids.every((id, k) => id === k)) return problem;
  if (ids.length === 0 || ids.some((id, k) => !Number.isInteger(id) || id < 0 || id >= problem.m || (k > 0 && id <= ids[k - 1]!))) throw new RangeError(`survivors ${ids.join(', ')} are not ascending agent ids of 0…${problem.m - 1}`);
  if (problem.restrict) return problem.restrict(ids);
  const { exact: _exact, trainAccuracy, restrict: _restrict, ...rest } = problem;
  return {
    ...rest,
    m: ids.length,
    agents: ids.map((i) => problem.agents[i]!),
    ...(trainAccuracy ? { trainAccuracy: (x, y, k) => trainAccuracy(x, y, ids[k]!) } : {}),
  };
}
