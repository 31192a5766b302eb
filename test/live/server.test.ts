/**
 * The live server without a browser: the page and its script, the event
 * stream (everything so far on connect, keyed events replaced in place,
 * forgotten ones gone, `end` when finished), refusals (wrong Host, other
 * methods, unknown paths) and that it listens on 127.0.0.1 only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { LiveServer } from '../../src/live/server.ts';

function get(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The events of an SSE body, in order. */
function events(body: string): { event: string; data: unknown }[] {
  return body
    .split('\n\n')
    .filter((m) => m.startsWith('event: '))
    .map((m) => {
      const [e, d] = m.split('\n');
      return { event: e!.slice(7), data: JSON.parse(d!.slice(6)) as unknown };
    });
}

test('LiveServer: page, script and vega from 127.0.0.1; the stream replays what was published, keyed events replaced in place', async () => {
  const server = await LiveServer.start(0, 'a <b> run');
  try {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await get(server.url);
    assert.equal(page.status, 200);
    assert.match(page.type, /text\/html/);
    assert.match(page.body, /<title>dbo live: a &lt;b&gt; run<\/title>/);
    assert.doesNotMatch(page.body, /https?:\/\/(?!127\.0\.0\.1)/, 'no outside address in the page');
    assert.match((await get(`${server.url}page.js`)).body, /new EventSource\('\/events'\)/);
    const vega = await get(`${server.url}vega.js`);
    assert.equal(vega.status, 200);
    assert.match(vega.body.slice(0, 400), /\.vega=\{\}/, "vega's browser build");

    server.publish('spec', { n: 1 }, 'spec');
    server.publish('row', { i: 0 }, 'r:0');
    server.publish('agents', { it: 0 }, 'run');
    server.publish('row', { i: 1 }, 'r:1');
    server.publish('agents', { it: 1 }, 'run');
    server.publish('row', { i: 2 }, 's:0');
    server.forget('row', 's:');
    server.finish();
    server.publish('row', { i: 3 }, 'r:3');
    const stream = await get(`${server.url}events`);
    assert.match(stream.type, /text\/event-stream/);
    assert.deepEqual(events(stream.body), [
      { event: 'spec', data: { n: 1 } },
      { event: 'row', data: { i: 0 } },
      { event: 'agents', data: { it: 1 } },
      { event: 'row', data: { i: 1 } },
      { event: 'end', data: {} },
    ]);

    assert.equal((await get(server.url, { host: `evil.example:${server.port}` })).status, 403, 'a foreign Host is refused');
    assert.equal((await get(server.url, {}, 'POST')).status, 405);
    assert.equal((await get(`${server.url}nothing`)).status, 404);
  } finally {
    await server.close();
  }
  await assert.rejects(get(server.url), /ECONNREFUSED/);
});

test('LiveServer: a port in use is a ConfigError naming the option', async () => {
  const first = await LiveServer.start(0, 'one');
  try {
    await assert.rejects(LiveServer.start(first.port, 'two'), { name: 'ConfigError', message: `--serve: port ${first.port} on 127.0.0.1 is in use; choose another port, or 0 for any free one` });
  } finally {
    await first.close();
  }
});
