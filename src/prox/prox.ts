/**
 * Proximal operators and constraint sets for the upper-level variable
 * (Prometheus, SEED-003 (6); docs/decisions.md §5):
 *   prox_{(h + ι_X)/τ}(v) = argmin_{x ∈ X} h(x) + (τ/2)‖x − v‖²
 * for h = λ₁‖·‖₁ (or 0) and X = Rⁿ, a box [lower, upper]ⁿ or an ℓ₂ ball of
 * radius R. Supported: ℓ₁; box; ball; ℓ₁ with box (soft-threshold then clip,
 * valid because both are separable). ℓ₁ with a ball is not separable and is
 * rejected with a clear error.
 */
import { z } from 'zod';
import { projectBall, type Vec } from '../linalg/vector.ts';

export const proxSchema = z
  .strictObject({
    l1: z.number().min(0, { error: 'l1 must be ≥ 0' }).optional().describe('weight λ₁ of h(x) = λ₁‖x‖₁'),
    box: z
      .tuple([z.number(), z.number()], { error: 'box must be [lower, upper]' })
      .refine(([lo, hi]) => lo <= hi, { error: 'box must be [lower, upper] with lower ≤ upper' })
      .optional()
      .describe('constraint set X = [lower, upper]ⁿ'),
    ball: z.number().positive({ error: 'ball must be a radius > 0' }).optional().describe('constraint set X = {‖x‖₂ ≤ R}'),
  })
  .superRefine((p, ctx) => {
    if (p.ball !== undefined && p.box !== undefined) ctx.addIssue({ code: 'custom', path: ['ball'], message: 'a box and a ball together are not supported (choose one constraint set)' });
    if (p.ball !== undefined && p.l1 !== undefined && p.l1 > 0)
      ctx.addIssue({ code: 'custom', path: ['ball'], message: 'ℓ₁ with an ℓ₂ ball is not supported (its prox is not separable); use l1 with box, or ball alone' });
  });

export type ProxSpec = z.infer<typeof proxSchema>;

/** out ← prox_{(h + ι_X)/τ}(v) (out may alias v). */
export function prox(spec: ProxSpec, tau: number, v: Vec, out: Vec): void {
  const t = (spec.l1 ?? 0) / tau;
  const [lo, hi] = spec.box ?? [-Infinity, Infinity];
  for (let i = 0; i < v.length; i++) {
    const a = v[i]!;
    const s = a > t ? a - t : a < -t ? a + t : 0;
    out[i] = s < lo ? lo : s > hi ? hi : s;
  }
  if (spec.ball !== undefined) projectBall(out, spec.ball);
}

/** out ← Π_X(v), the projection alone (h ignored), as Prometheus-dir uses it. */
export function project(spec: ProxSpec, v: Vec, out: Vec): void {
  const [lo, hi] = spec.box ?? [-Infinity, Infinity];
  for (let i = 0; i < v.length; i++) {
    const a = v[i]!;
    out[i] = a < lo ? lo : a > hi ? hi : a;
  }
  if (spec.ball !== undefined) projectBall(out, spec.ball);
}

/** h(x) = λ₁‖x‖₁ (0 without l1). */
export function regularizerValue(spec: ProxSpec, x: Vec): number {
  if (!spec.l1) return 0;
  let s = 0;
  for (let i = 0; i < x.length; i++) s += Math.abs(x[i]!);
  return spec.l1 * s;
}
