// The live page's script (served by src/live/server.ts; plain browser JavaScript).
// It listens to /events (Server-Sent Events, see src/live/feed.ts for the
// event list), streams metric rows into a Vega view compiled by the server,
// and colours the topology's agents by their distance to consensus.
/* global vega, document, EventSource, setTimeout */
'use strict';
(function () {
  const state = document.getElementById('state');
  const where = document.getElementById('where');
  const casesTable = document.getElementById('cases');
  // One Vega view per panel: { y, log, view }.
  let panels = [];
  let xColumn = 'iteration';
  let queue = [];
  let removals = [];
  let timer = null;
  let rows = 0;
  let lastIteration = null;
  const cases = new Map();

  function setState(text, cls) {
    state.textContent = text;
    state.className = cls;
  }

  function finite(v) {
    return typeof v === 'number' && Number.isFinite(v);
  }

  // One row of metrics.jsonl → one chart point per panel (the report's long format).
  function points(run, row) {
    const out = [];
    const x = row[xColumn];
    if (!finite(x)) return out;
    for (const p of panels) {
      const y = row[p.y];
      if (!finite(y) || (p.log && !(y > 0))) continue;
      out.push({ panel: p.y, run, seeds: 1, x: xColumn === 'bytes' ? x / 1e6 : x, y, lo: y, hi: y });
    }
    return out;
  }

  function flush() {
    timer = null;
    for (const p of panels) {
      const change = vega.changeset();
      for (const run of removals) change.remove((d) => d.run === run);
      change.insert(queue.filter((d) => d.panel === p.y));
      p.view.change('rows', change);
      p.view.runAsync();
    }
    removals = [];
    queue = [];
  }

  function schedule() {
    if (timer === null) timer = setTimeout(flush, 120);
  }

  function caseRow(id) {
    let entry = cases.get(id);
    if (!entry) {
      const tr = document.createElement('tr');
      const cells = ['', '', ''].map((_, i) => {
        const td = document.createElement('td');
        if (i === 2) td.className = 'num';
        tr.appendChild(td);
        return td;
      });
      cells[0].textContent = id;
      casesTable.tBodies[0].appendChild(tr);
      entry = { status: cells[1], iteration: cells[2] };
      cases.set(id, entry);
      casesTable.hidden = false;
    }
    return entry;
  }

  function describe() {
    const parts = [];
    if (lastIteration !== null) parts.push(`iteration ${lastIteration}`);
    parts.push(`${rows} row${rows === 1 ? '' : 's'}`);
    where.textContent = parts.join(' · ');
  }

  const events = new EventSource('/events');
  events.addEventListener('open', () => {
    if (state.className !== 'finished') setState('running', 'running');
  });
  events.addEventListener('error', () => {
    if (state.className !== 'finished') setState('connection lost; retrying…', 'lost');
  });
  events.addEventListener('spec', (e) => {
    const spec = JSON.parse(e.data);
    for (const p of panels) p.view.finalize();
    const charts = document.getElementById('charts');
    charts.textContent = '';
    xColumn = spec.x;
    panels = spec.panels.map((p) => {
      const container = document.createElement('div');
      container.className = 'panel';
      container.dataset.column = p.y;
      charts.appendChild(container);
      return { y: p.y, log: p.log, view: new vega.View(vega.parse(p.vega), { renderer: 'svg', container, hover: true }) };
    });
    schedule();
  });
  events.addEventListener('row', (e) => {
    const { run, row } = JSON.parse(e.data);
    queue.push(...points(run, row));
    rows++;
    if (finite(row.iteration)) {
      lastIteration = row.iteration;
      if (cases.has(run)) cases.get(run).iteration.textContent = String(row.iteration);
    }
    describe();
    schedule();
  });
  events.addEventListener('reset', (e) => {
    const { run } = JSON.parse(e.data);
    queue = queue.filter((d) => d.run !== run);
    removals.push(run);
    schedule();
  });
  events.addEventListener('case', (e) => {
    const { id, status, iteration } = JSON.parse(e.data);
    const entry = caseRow(id);
    entry.status.textContent = status;
    entry.status.className = `status-${status}`;
    if (finite(iteration)) entry.iteration.textContent = String(iteration);
  });
  events.addEventListener('topology', (e) => {
    document.getElementById('topology').innerHTML = JSON.parse(e.data).svg;
  });
  events.addEventListener('agents', (e) => {
    const a = JSON.parse(e.data);
    const circles = document.querySelectorAll('#topology circle.agent');
    circles.forEach((c) => {
      const i = Number(c.getAttribute('data-agent'));
      if (a.colors[i] === undefined) return;
      c.setAttribute('fill', a.colors[i]);
      const title = c.querySelector('title');
      if (title) title.textContent = `agent ${i}: ‖xᵢ − x̄‖ = ${a.distance[i]} at iteration ${a.iteration}`;
    });
    document.getElementById('legend').hidden = false;
    document.getElementById('legend-low').textContent = `≤ ${(a.max * 10 ** -a.decades).toExponential(1)}`;
    document.getElementById('legend-high').textContent = `${a.max.toExponential(2)} (farthest)`;
  });
  events.addEventListener('end', () => {
    events.close();
    flush();
    setState('finished', 'finished');
  });
})();
