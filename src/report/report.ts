/**
 * `dbo report DIR`: one self-contained HTML file (inline SVG, CSS and a few
 * lines of JS; no network access) for a run, a sweep or a directory of runs
 * such as a reproduction: the verdict (verdict.md) when there is one, the
 * figures, a table of final metrics with communication and oracle totals,
 * the topologies drawn with λ and ρ, and every resolved config.
 */
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { DboError } from '../errors.ts';
import { escapeHtml, markdownToHtml } from './html.ts';
import { plotRuns, type PlotOptions } from './plot.ts';
import { collectRuns, type Collected, type RunData } from './run-data.ts';
import { columnTitle } from './series.ts';
import { fmt, topologySvg } from './topology-svg.ts';

export interface Figure {
  x: string;
  y: string[];
  title: string;
}

/** The figures a report shows, each when its columns are there. */
export const DEFAULT_FIGURES: Figure[] = [
  { x: 'iteration', y: ['hypergradNormSq'], title: 'Stationarity ‖∇Φ(x̄)‖² per iteration' },
  { x: 'bytes', y: ['hypergradNormSq'], title: 'Stationarity against communication (MB)' },
  { x: 'iteration', y: ['testAccuracy'], title: 'Test accuracy' },
  { x: 'iteration', y: ['consensusX', 'lowerError'], title: 'Consensus of x and lower-level error' },
  { x: 'iteration', y: ['interactMetric'], title: 'INTERACT metric' },
  { x: 'iteration', y: ['prometheusMetric'], title: 'Prometheus metric' },
  { x: 'iteration', y: ['upperLoss'], title: 'Upper-level loss' },
];

const TOTAL_COLUMNS = ['rounds', 'messages', 'bytes', 'gradF', 'gradG', 'hvp', 'jvp', 'valueF', 'valueG', 'hessian', 'jacobian'];
const METRIC_COLUMNS = ['hypergradNormSq', 'consensusX', 'lowerError', 'upperLoss', 'lowerLoss', 'testAccuracy', 'interactMetric', 'prometheusMetric'];

function has(runs: ReadonlyArray<RunData>, column: string): boolean {
  return runs.every((r) => r.rows.some((row) => typeof row[column] === 'number'));
}

function runName(c: Collected, r: RunData): string {
  return c.kind === 'run' ? basename(resolve(r.dir)) : relative(c.dir, r.dir) || basename(r.dir);
}

function cell(v: unknown, column: string): string {
  if (typeof v === 'string') return escapeHtml(v);
  if (typeof v !== 'number') return '—';
  if (column === 'bytes') return (v / 1e6).toFixed(3);
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
  return v === 0 ? '0' : Math.abs(v) >= 1e-3 && Math.abs(v) < 1e4 ? v.toPrecision(4) : v.toExponential(3);
}

function finalTable(c: Collected): string {
  const finals = c.runs.map((r) => r.rows.at(-1) ?? {});
  const metrics = METRIC_COLUMNS.filter((k) => finals.some((f) => k in f));
  const totals = TOTAL_COLUMNS.filter((k) => finals.some((f) => typeof f[k] === 'number' && (f[k] as number) !== 0));
  const head = ['run', 'algorithm', 'seed', 'status', 'iteration', ...metrics, ...totals.map((k) => (k === 'bytes' ? 'MB' : k)), 'compute s'];
  const rows = c.runs.map((r, i) => {
    const f = finals[i]!;
    const algorithm = (r.config.algorithm as { name?: string } | undefined)?.name ?? '?';
    const status = (r.summary?.status as string | undefined) ?? 'running';
    const cells = [escapeHtml(runName(c, r)), escapeHtml(algorithm), String(r.config.seed ?? '—'), escapeHtml(status), cell(f.iteration, 'iteration'), ...metrics.map((k) => cell(f[k], k)), ...totals.map((k) => cell(f[k], k)), typeof f.elapsedMs === 'number' ? (f.elapsedMs / 1000).toFixed(2) : '—'];
    return `<tr>${cells.map((x, j) => `<td${j >= 4 ? ' class="num"' : ''}>${x}</td>`).join('')}</tr>`;
  });
  return `<table class="sortable"><thead><tr>${head.map((h) => `<th title="${escapeHtml(columnTitle(h === 'MB' ? 'bytes' : h))}">${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>
<p class="note">Final row of each run's metrics.jsonl. Communication (rounds, messages, MB = 10⁶ bytes of payload) and oracle calls are totals over all agents.</p>`;
}

function topologies(c: Collected): string {
  const seen = new Map<string, { runs: string[]; r: RunData }>();
  for (const r of c.runs) {
    if (!r.topology) continue;
    const key = JSON.stringify([r.topology.agents, r.topology.edges, r.topology.lambda]);
    const entry = seen.get(key) ?? { runs: [], r };
    entry.runs.push(runName(c, r));
    seen.set(key, entry);
  }
  if (seen.size === 0) return '<p>No topology.json in these runs.</p>';
  return [...seen.values()]
    .map(({ runs, r }) => {
      const t = r.topology!;
      const type = ((r.config.topology as { type?: string; mixing?: string } | undefined) ?? {}) as { type?: string; mixing?: string };
      const label = `${type.type ?? 'graph'}${type.mixing ? ` (${type.mixing})` : ''}`;
      return `<div class="topo">${topologySvg(t, { label })}<p class="note">spectral gap 1 − λ = ${fmt(1 - t.lambda)}; used by ${runs.length > 6 ? `${runs.length} runs` : runs.map(escapeHtml).join(', ')}</p></div>`;
    })
    .join('');
}

function configs(c: Collected): string {
  return c.runs
    .map((r) => `<details><summary>${escapeHtml(runName(c, r))}</summary><pre>${escapeHtml(JSON.stringify(r.config, null, 2))}</pre></details>`)
    .join('\n');
}

function sweepSection(c: Collected): string {
  if (c.kind !== 'sweep' || !c.sweep) return '';
  const vary = c.sweep.vary ?? [];
  const rows = c.sweep.cases.map((k) => `<tr><td>${escapeHtml(k.id)}</td>${vary.map((v) => `<td>${escapeHtml(JSON.stringify(k.values[v] ?? null))}</td>`).join('')}<td>${escapeHtml(k.status)}</td></tr>`);
  const missing = c.missing.length ? `<p class="note">Not complete yet: ${c.missing.map(escapeHtml).join(', ')}.</p>` : '';
  return `<section><h2>Sweep cases</h2><table class="sortable"><thead><tr><th>case</th>${vary.map((v) => `<th>${escapeHtml(v)}</th>`).join('')}<th>status</th></tr></thead><tbody>${rows.join('')}</tbody></table>${missing}</section>`;
}

const CSS = `
body{font-family:"DejaVu Sans","Liberation Sans",Arial,sans-serif;margin:0 auto;max-width:1200px;padding:1em 2em;color:#222}
h1{font-size:1.5em;margin-bottom:.2em} h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
.meta,.note{color:#666;font-size:.9em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0} th,td{border:1px solid #ddd;padding:.25em .5em} th{background:#f4f4f4;cursor:pointer;position:sticky;top:0}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.figures{display:flex;flex-wrap:wrap;gap:1.5em} figure{margin:0} figcaption{font-size:.9em;color:#444;margin-top:.3em}
.topos{display:flex;flex-wrap:wrap;gap:2em}
pre{background:#f7f7f7;padding:.6em;overflow:auto;font-size:.8em}
.verdict{background:#f6faf6;border:1px solid #cde3cd;padding:.5em 1.2em;border-radius:4px}
`;

/** Click a header to sort a table by that column (numbers numerically). */
const SORT_JS = `
document.querySelectorAll('table.sortable th').forEach(function (th, col) {
  th.addEventListener('click', function () {
    var table = th.closest('table'), body = table.tBodies[0];
    var dir = th.dataset.dir === 'asc' ? 'desc' : 'asc'; th.dataset.dir = dir;
    var idx = Array.prototype.indexOf.call(th.parentNode.children, th);
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.cells[idx].textContent, y = b.cells[idx].textContent, nx = parseFloat(x), ny = parseFloat(y);
      var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
      return dir === 'asc' ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  });
});
`;

/** Makes an SVG's ids (clip paths, gradients) unique inside a page that holds several. */
export function scopeSvgIds(svg: string, prefix: string): string {
  return svg.replace(/\bid="([^"]+)"/g, `id="${prefix}$1"`).replace(/url\(#([^)]+)\)/g, `url(#${prefix}$1)`).replace(/href="#([^"]+)"/g, `href="#${prefix}$1"`);
}

const GENERATOR = '<meta name="generator" content="dbo report">';

export interface ReportOptions {
  figures?: Figure[];
  title?: string;
}

/** The report's HTML for a run, sweep or directory of runs. */
export async function buildReport(dir: string, options: ReportOptions = {}): Promise<string> {
  const c = collectRuns(dir);
  const figures: string[] = [];
  for (const f of options.figures ?? DEFAULT_FIGURES) {
    const ys = f.y.filter((y) => has(c.runs, y));
    if (ys.length === 0 || !has(c.runs, f.x)) continue;
    const opts: PlotOptions = { x: f.x, y: ys, width: 460, height: 260 };
    const plot = await plotRuns(c.runs, opts);
    figures.push(`<figure class="chart">${scopeSvgIds(plot.svg, `f${figures.length}-`)}<figcaption>${escapeHtml(f.title)}${plot.notes.length ? ` (${escapeHtml(plot.notes.join('; '))})` : ''}</figcaption></figure>`);
  }
  // Images a reproduction wrote next to its runs.
  const extra = readdirSync(dir)
    .filter((n) => n.endsWith('.svg') && !n.startsWith('.'))
    .sort()
    .map((n, i) => `<figure class="chart">${scopeSvgIds(readFileSync(join(dir, n), 'utf8').replace(/<\?xml[^>]*>/, ''), `x${i}-`)}<figcaption>${escapeHtml(n)}</figcaption></figure>`);
  const verdictFile = join(dir, 'verdict.md');
  const verdict = existsSync(verdictFile) ? `<section class="verdict"><h2>Verdict</h2>${markdownToHtml(readFileSync(verdictFile, 'utf8'))}</section>` : '';
  const kind = c.kind === 'run' ? 'run' : c.kind === 'sweep' ? `sweep of ${c.sweep?.cases.length ?? c.runs.length} cases` : `${c.runs.length} runs`;
  const title = options.title ?? `dbo report: ${basename(resolve(dir))}`;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">${GENERATOR}
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(title)}</title><style>${CSS}</style></head>
<body>
<h1>${escapeHtml(title)}</h1>
<p class="meta">${escapeHtml(kind)} · ${escapeHtml(resolve(dir))} · generated ${new Date().toISOString()}</p>
${verdict}
${sweepSection(c)}
<section><h2>Figures</h2><div class="figures">${[...figures, ...extra].join('\n') || '<p>No plottable columns.</p>'}</div></section>
<section><h2>Final metrics, communication and oracle totals</h2>${finalTable(c)}</section>
<section><h2>Topology</h2><div class="topos">${topologies(c)}</div></section>
<section><h2>Resolved configs</h2>${configs(c)}</section>
<script>${SORT_JS}</script>
</body></html>
`;
}

/** Writes DIR/report.html (or `out`) and returns its path; a file that is not a previous report is replaced only with `force`. */
export async function writeReport(dir: string, options: ReportOptions & { out?: string; force?: boolean } = {}): Promise<string> {
  const out = options.out ?? join(dir, 'report.html');
  if (!/\.html?$/i.test(out)) throw new DboError(`--out ${out}: expected a file name ending in .html`);
  if (existsSync(out) && !options.force && !readFileSync(out, 'utf8').includes(GENERATOR)) throw new DboError(`${out}: already exists and was not written by dbo report (choose another --out or pass --force)`);
  const html = await buildReport(dir, options);
  const tmp = `${out}.tmp-${process.pid}`;
  writeFileSync(tmp, html);
  renameSync(tmp, out);
  return out;
}
