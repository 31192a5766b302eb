/**
 * The communication graph drawn as SVG: agents on a circle, edges as lines,
 * caption with λ = max(|λ₂|, |λ_m|) and ρ = ‖W − 11ᵀ/m‖₂. Agents can be
 * coloured by a per-agent value (distance to consensus) on a log scale.
 */
import { escapeHtml } from './html.ts';

export interface GraphShape {
  agents: number;
  edges: ReadonlyArray<readonly [number, number]>;
  lambda?: number;
  rho?: number;
}

export function circleLayout(m: number, size: number): { x: number; y: number }[] {
  const r = size / 2 - 18;
  return Array.from({ length: m }, (_, i) => {
    const a = (2 * Math.PI * i) / m - Math.PI / 2;
    return { x: size / 2 + (m === 1 ? 0 : r * Math.cos(a)), y: size / 2 + (m === 1 ? 0 : r * Math.sin(a)) };
  });
}

/** Viridis-like ramp, t ∈ [0, 1] (0 = dark blue, 1 = yellow). */
export function ramp(t: number): string {
  const stops = [
    [68, 1, 84],
    [59, 82, 139],
    [33, 145, 140],
    [94, 201, 98],
    [253, 231, 37],
  ];
  const u = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (stops.length - 1);
  const k = Math.min(stops.length - 2, Math.floor(u));
  const f = u - k;
  const c = stops[k]!.map((v, j) => Math.round(v + f * (stops[k + 1]![j]! - v)));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

export function fmt(v: number | undefined): string {
  return v === undefined || !Number.isFinite(v) ? '—' : v.toPrecision(4);
}

export function topologySvg(g: GraphShape, options: { size?: number; colors?: ReadonlyArray<string>; label?: string } = {}): string {
  const size = options.size ?? 260;
  const pos = circleLayout(g.agents, size);
  const nodeR = Math.max(2, Math.min(9, (Math.PI * (size - 36)) / Math.max(1, g.agents) / 2.5));
  const edgeOpacity = g.edges.length > 500 ? 0.15 : 0.6;
  const edges = g.edges.map(([a, b]) => `<line x1="${pos[a]!.x.toFixed(1)}" y1="${pos[a]!.y.toFixed(1)}" x2="${pos[b]!.x.toFixed(1)}" y2="${pos[b]!.y.toFixed(1)}" stroke="#888" stroke-opacity="${edgeOpacity}"/>`).join('');
  const nodes = pos
    .map((p, i) => `<circle class="agent" data-agent="${i}" cx="${p.x.toFixed(1)}" cy="${p.y.toFixed(1)}" r="${nodeR.toFixed(1)}" fill="${options.colors?.[i] ?? '#4c78a8'}" stroke="#fff"><title>agent ${i}</title></circle>`)
    .join('');
  const caption = `${options.label ? `${escapeHtml(options.label)}: ` : ''}${g.agents} agents, ${g.edges.length} edges, λ = ${fmt(g.lambda)}, ρ = ${fmt(g.rho)}`;
  return `<figure class="topology"><svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 ${size} ${size}" role="img" aria-label="communication graph">${edges}${nodes}</svg><figcaption>${caption}</figcaption></figure>`;
}
