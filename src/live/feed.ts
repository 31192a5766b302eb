/**
 * What the live page is sent (see server.ts): the chart spec, the metric
 * rows as they are written, the topology, and each agent's distance to
 * consensus ‖xᵢ − x̄‖ at every evaluation point, with its colour.
 *
 * Events (SSE, JSON data):
 *   spec      { x, panels: [{ y, log }], vega }  once, before the first row
 *   row       { run, row }                        every metrics row
 *   topology  { run, svg }                        the communication graph
 *   agents    { run, iteration, distance, colors, max, decades }
 *   case      { id, status }                      sweeps: a case's status
 *   reset     { run }                             sweeps: a case restarted
 *   end       {}                                  the run is over
 *
 * The charts are the report's Vega-Lite specs (src/report/chart.ts) with a
 * named data source `rows` the page streams into; they are compiled to Vega
 * here, so the page needs only vega's browser build.
 */
import type { StateView } from '../algorithms/types.ts';
import { topologyJson } from '../graph/index.ts';
import { distSq, meanInto } from '../linalg/vector.ts';
import type { MetricsRow, PreparedRun } from '../experiments/runner.ts';
import { lineChartSpec } from '../report/chart.ts';
import { ramp, topologySvg } from '../report/topology-svg.ts';
import type { LiveServer } from './server.ts';

/** Columns drawn live, in order of preference (those a row has; at most three). */
const PREFERRED = ['hypergradNormSq', 'consensusX', 'testAccuracy', 'upperLoss', 'lowerError'];
/** Columns that are never negative, drawn on a log axis (the others on a linear one). */
const LOG = new Set(['hypergradNormSq', 'consensusX', 'lowerError']);
/** Decades of the agents' colour scale below the largest distance at that evaluation. */
export const COLOR_DECADES = 2;
/** Graphs with more edges are drawn without them (the page would be slow). */
const MAX_DRAWN_EDGES = 20000;

export interface LivePanel {
  y: string;
  log: boolean;
}

type VegaLite = typeof import('vega-lite');

/** The panels for rows like `row`: the preferred columns it has. */
export function livePanels(row: Record<string, unknown>): LivePanel[] {
  const present = PREFERRED.filter((c) => typeof row[c] === 'number' || typeof row[c] === 'string');
  return present.slice(0, 3).map((y) => ({ y, log: LOG.has(y) }));
}

/**
 * The spec event: per panel, a Vega spec (compiled from the report's
 * Vega-Lite line chart) reading the named data source `rows`. Each panel is
 * its own view, so that a log panel without positive points yet (e.g. the
 * consensus error at iteration 0) leaves the others drawing.
 */
export function specEvent(vl: VegaLite, panels: LivePanel[], x = 'iteration'): Record<string, unknown> {
  return {
    x,
    panels: panels.map((p, i) => {
      const spec = lineChartSpec({ x, width: 520, height: 170, panels: [{ ...p, series: [] }] });
      delete spec.data;
      // One legend, under the first panel.
      if (i > 0) (spec.encoding as { color: Record<string, unknown> }).color.legend = null;
      // Laid out again at every update: the axis labels change as the curve grows.
      return { ...p, vega: vl.compile({ ...spec, data: { name: 'rows' }, autosize: { type: 'pad', resize: true } } as never).spec };
    }),
  };
}

/** ‖xᵢ − x̄‖ for every agent. */
export function consensusDistances(agents: ReadonlyArray<StateView>): number[] {
  const mean = new Float64Array(agents[0]?.x.length ?? 0);
  meanInto(mean, agents.map((a) => a.x));
  return agents.map((a) => Math.sqrt(distSq(a.x, mean)));
}

/**
 * Colours on a log scale below the largest distance `max` at this
 * evaluation: yellow for the farthest agent, dark blue `COLOR_DECADES`
 * decades below it or at exact consensus. (How far the network as a whole
 * is from consensus is the consensusX curve; the legend gives the scale.)
 */
export function distanceColors(distance: ReadonlyArray<number>, max: number): string[] {
  return distance.map((d) => (d > 0 && max > 0 ? ramp(1 + Math.log10(d / max) / COLOR_DECADES) : ramp(0)));
}

/** Publishes the rows (chart spec first) of one or more curves; builds the spec from the first row. */
export class ChartFeed {
  private panels: LivePanel[] | null = null;

  constructor(
    protected readonly server: LiveServer,
    private readonly vl: VegaLite,
  ) {}

  static async create<T extends ChartFeed>(this: new (server: LiveServer, vl: VegaLite) => T, server: LiveServer): Promise<T> {
    return new this(server, await import('vega-lite'));
  }

  /** Sends one row of curve `run` (kept for pages that connect later under key `run:n`). */
  row(run: string, n: number, row: Record<string, unknown>): void {
    if (!this.panels) {
      this.panels = livePanels(row);
      this.server.publish('spec', specEvent(this.vl, this.panels), 'spec');
    }
    this.server.publish('row', { run, row }, `${run}:${n}`);
  }
}

/** The live feed of one run: plug `observer` into runToDirectory's `observe`. */
export class RunFeed extends ChartFeed {
  private rows = 0;
  private label = 'run';

  get observer(): { prepared(run: PreparedRun): void; row(row: MetricsRow): void; agents(iteration: number, agents: ReadonlyArray<StateView>): Promise<void> } {
    return {
      prepared: (run) => {
        this.label = run.config.name ?? run.algorithm.name;
        const t = topologyJson(run.topology) as { agents: number; edges: [number, number][]; lambda: number; rho: number };
        const drawn = t.edges.length <= MAX_DRAWN_EDGES;
        const svg = topologySvg({ agents: t.agents, edges: drawn ? t.edges : [], lambda: t.lambda, rho: t.rho }, { size: 320, label: drawn ? run.config.topology.type : `${run.config.topology.type} (${t.edges.length} edges, not drawn)` });
        this.server.publish('topology', { run: this.label, svg }, 'run');
      },
      row: (row) => this.row(this.label, this.rows++, row as unknown as Record<string, unknown>),
      agents: (iteration, agents) => {
        const distance = consensusDistances(agents);
        const max = Math.max(0, ...distance.filter(Number.isFinite));
        this.server.publish('agents', { run: this.label, iteration, distance: distance.map((d) => Number(d.toPrecision(4))), colors: distanceColors(distance, max), max, decades: COLOR_DECADES }, 'run');
        // The in-process simulator computes without giving the event loop a
        // turn; here the server gets one to accept pages and send the events.
        return new Promise((resolve) => setImmediate(resolve));
      },
    };
  }
}
