/**
 * Line charts as Vega-Lite specs, rendered to SVG in Node by vega (no
 * browser) and to PNG by resvg. The spec carries its data inline, so the
 * `.vl.json` written next to an image can be restyled and re-rendered on its
 * own (e.g. in the Vega editor). vega, vega-lite and resvg are loaded on first
 * use so that commands which draw nothing start fast.
 */
import { columnTitle, type Series } from './series.ts';

export interface Panel {
  /** Column on the y axis. */
  y: string;
  log: boolean;
  series: Series[];
}

export interface ChartOptions {
  x: string;
  logX?: boolean;
  panels: Panel[];
  title?: string;
  width?: number;
  height?: number;
}

type Spec = Record<string, unknown>;

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/** Data rows of one panel; points that a log axis cannot show (≤ 0) are left out. */
function panelRows(panel: Panel, logX: boolean): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  for (const s of panel.series) {
    for (const p of s.points) {
      if (panel.log && !(p.y > 0)) continue;
      if (logX && !(p.x > 0)) continue;
      const lo = panel.log && !(p.lo > 0) ? p.y : p.lo;
      rows.push({ panel: panel.y, run: s.label, seeds: s.n, x: p.x, y: p.y, lo, hi: p.hi });
    }
  }
  return rows;
}

function layer(panel: Panel, options: ChartOptions, showLegend: boolean): Spec {
  const xScale = options.logX ? { type: 'log' } : { zero: false };
  const yScale = panel.log ? { type: 'log' } : { zero: false };
  const logAxis = { format: '~e', grid: true };
  const x = { field: 'x', type: 'quantitative', title: columnTitle(options.x), scale: xScale, ...(options.logX ? { axis: logAxis } : {}) };
  const color = {
    field: 'run',
    type: 'nominal',
    title: null,
    ...(showLegend ? { legend: { orient: 'bottom', direction: 'vertical', labelLimit: 0, symbolType: 'stroke', symbolOpacity: 1, symbolStrokeWidth: 3 } } : { legend: null }),
  };
  return {
    width: options.width ?? 560,
    height: options.height ?? 320,
    transform: [{ filter: { field: 'panel', equal: panel.y } }],
    encoding: { x, color },
    layer: [
      {
        name: 'band',
        transform: [{ filter: 'datum.seeds > 1' }],
        mark: { type: 'area', opacity: 0.2 },
        encoding: {
          y: { field: 'lo', type: 'quantitative', scale: yScale, title: columnTitle(panel.y), ...(panel.log ? { axis: logAxis } : {}) },
          y2: { field: 'hi' },
        },
      },
      {
        name: 'curve',
        mark: { type: 'line', strokeWidth: 2, clip: true },
        encoding: {
          y: { field: 'y', type: 'quantitative', scale: yScale, title: columnTitle(panel.y), ...(panel.log ? { axis: logAxis } : {}) },
          tooltip: [
            { field: 'run', type: 'nominal' },
            { field: 'x', type: 'quantitative', title: options.x },
            { field: 'y', type: 'quantitative', title: panel.y },
            { field: 'seeds', type: 'quantitative' },
          ],
        },
      },
    ],
  };
}

/** A Vega-Lite spec: one panel per y column, one colour per curve, bands for seed groups. */
export function lineChartSpec(options: ChartOptions): Spec {
  const values = options.panels.flatMap((p) => panelRows(p, options.logX ?? false));
  const base: Spec = {
    $schema: SCHEMA,
    ...(options.title ? { title: options.title } : {}),
    data: { values },
    config: { font: 'DejaVu Sans, Liberation Sans, Arial, sans-serif', axis: { labelFontSize: 11, titleFontSize: 12 }, legend: { labelFontSize: 11 } },
  };
  if (options.panels.length === 1) return { ...base, ...layer(options.panels[0]!, options, true) };
  return { ...base, vconcat: options.panels.map((p) => layer(p, options, true)), resolve: { scale: { color: 'shared' } } };
}

/** Renders a Vega-Lite spec to an SVG string. */
export async function renderSvg(spec: Spec): Promise<string> {
  const [vega, vl] = await Promise.all([import('vega'), import('vega-lite')]);
  const compiled = vl.compile(spec as never).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Renders an SVG string to PNG bytes, `width` pixels wide (height follows the aspect ratio). */
export async function renderPng(svg: string, width?: number): Promise<{ png: Buffer; width: number; height: number }> {
  const { Resvg } = await import('@resvg/resvg-js');
  const resvg = new Resvg(svg, {
    ...(width ? { fitTo: { mode: 'width' as const, value: width } } : {}),
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
    background: 'white',
  });
  const image = resvg.render();
  return { png: image.asPng(), width: image.width, height: image.height };
}
