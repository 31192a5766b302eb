/**
 * Plots of metrics.jsonl columns across runs, as a library: `plotRuns`
 * builds the Vega-Lite spec and its SVG; `writePlot` writes FILE.svg or
 * FILE.png with the spec next to it as FILE.vl.json. Used by `dbo plot`,
 * `dbo report` and the reproduction presets.
 */
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { DboError } from '../errors.ts';
import { lineChartSpec, renderPng, renderSvg, type Panel } from './chart.ts';
import type { RunData } from './run-data.ts';
import { aggregate, checkColumn, checkMonotone, groupRuns, resolveColumn, spansDecades, type RunGroup } from './series.ts';

export interface PlotOptions {
  /** x column (default `iteration`); `bytes` is shown in MB. */
  x?: string;
  /** y columns, one panel each (default: hypergradNormSq, or testAccuracy / upperLoss when absent). */
  y?: string[];
  /** true: log y axis; false: linear; undefined: log where the positive values span two decades or more. */
  logY?: boolean;
  logX?: boolean;
  title?: string;
  width?: number;
  height?: number;
}

export interface PlotSpec {
  spec: Record<string, unknown>;
  x: string;
  panels: Panel[];
  groups: RunGroup[];
  /** Things the user should know (e.g. points a log axis cannot show). */
  notes: string[];
}

function defaultY(runs: ReadonlyArray<RunData>): string[] {
  for (const c of ['hypergradNormSq', 'testAccuracy', 'upperLoss']) if (runs.every((r) => r.rows.some((row) => typeof row[c] === 'number'))) return [c];
  return ['upperLoss'];
}

/** Validates the columns and builds the chart's spec (no rendering). */
export function plotSpec(runs: ReadonlyArray<RunData>, options: PlotOptions = {}): PlotSpec {
  if (runs.length === 0) throw new DboError('plot: no runs to plot');
  const x = resolveColumn(options.x ?? 'iteration');
  const ys = (options.y && options.y.length > 0 ? options.y : defaultY(runs)).map(resolveColumn);
  checkColumn(runs, x, 'x');
  for (const y of ys) checkColumn(runs, y, 'y');
  checkMonotone(runs, x);
  const groups = groupRuns(runs);
  const notes: string[] = [];
  const panels: Panel[] = ys.map((y) => {
    const series = groups.map((g) => aggregate(g, x, y));
    const values = series.flatMap((s) => s.points.map((p) => p.y));
    const log = options.logY ?? spansDecades(values);
    if (log) {
      const dropped = values.filter((v) => !(v > 0)).length;
      if (dropped > 0) notes.push(`${y}: ${dropped} point(s) ≤ 0 left out of the log axis`);
    }
    for (const s of series) if (s.points.length === 0) notes.push(`${y}: ${s.label} has no finite values`);
    return { y, log, series };
  });
  const spec = lineChartSpec({
    x,
    panels,
    ...(options.logX ? { logX: true } : {}),
    ...(options.title ? { title: options.title } : {}),
    ...(options.width ? { width: options.width } : {}),
    ...(options.height ? { height: options.height } : {}),
  });
  return { spec, x, panels, groups, notes };
}

export interface RenderedPlot extends PlotSpec {
  svg: string;
}

export async function plotRuns(runs: ReadonlyArray<RunData>, options: PlotOptions = {}): Promise<RenderedPlot> {
  const built = plotSpec(runs, options);
  return { ...built, svg: await renderSvg(built.spec) };
}

/** FILE.svg / FILE.png → FILE.vl.json. */
export function specPathFor(out: string): string {
  return out.replace(/\.(svg|png)$/i, '') + '.vl.json';
}

function writeAtomic(file: string, data: string | Buffer): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

export interface WrittenPlot extends RenderedPlot {
  files: string[];
  /** PNG size in pixels (PNG output only). */
  size?: { width: number; height: number };
}

/**
 * Renders and writes `out` (.svg or .png; `pngWidth` sets a PNG's width in
 * pixels, default twice the SVG's) and the spec next to it. An existing file
 * is replaced only when it is a previous plot (its .vl.json is there) or `force`.
 */
export async function writePlot(runs: ReadonlyArray<RunData>, out: string, options: PlotOptions & { pngWidth?: number; force?: boolean } = {}): Promise<WrittenPlot> {
  const ext = /\.(svg|png)$/i.exec(out)?.[1]?.toLowerCase();
  if (!ext) throw new DboError(`--out ${out}: expected a file name ending in .svg or .png`);
  const specFile = specPathFor(out);
  for (const f of [out, specFile])
    if (existsSync(f) && !options.force && !existsSync(specFile)) throw new DboError(`${f}: already exists and was not written by dbo plot (choose another --out or pass --force)`);
  const plot = await plotRuns(runs, options);
  let size: { width: number; height: number } | undefined;
  let image: string | Buffer = plot.svg;
  if (ext === 'png') {
    const svgWidth = Number(/<svg[^>]*\swidth="([\d.]+)"/.exec(plot.svg)?.[1] ?? 600);
    const r = await renderPng(plot.svg, options.pngWidth ?? Math.round(2 * svgWidth));
    image = r.png;
    size = { width: r.width, height: r.height };
  }
  writeAtomic(out, image);
  writeAtomic(specFile, `${JSON.stringify(plot.spec, null, 2)}\n`);
  return { ...plot, files: [out, specFile], ...(size ? { size } : {}) };
}
