import assert from 'node:assert/strict';
import net from 'node:net';
import { it } from 'node:test';
import { serveMetrics } from './endpoint.ts';
import { Metrics } from './metrics.ts';

it('serveMetrics answers the text format at /metrics, HEAD without a body, 405 and 404 elsewhere', async () => {
  const metrics = new Metrics();
  metrics.gauge('sb_test_level', 'A level.', []).set(3);
  const listener = await serveMetrics(metrics, { port: 0 });
  try {
    assert.equal(listener.url, `http://127.0.0.1:${listener.port}/metrics`);
    const ok = await fetch(listener.url);
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('content-type'), metrics.contentType);
    assert.match(await ok.text(), /^sb_test_level 3$/m);
    const head = await fetch(listener.url, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
    const post = await fetch(listener.url, { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
    await post.body?.cancel();
    const other = await fetch(`http://127.0.0.1:${listener.port}/other`);
    assert.equal(other.status, 404);
    await other.body?.cancel();
  } finally {
    await listener.close();
  }
  await assert.rejects(fetch(listener.url), /fetch failed/);
});

it('serveMetrics bounds its scrapers: connections over maxConnections close, big headers get 431', async () => {
  const listener = await serveMetrics(new Metrics(), { port: 0, maxConnections: 2 });
  const sockets: net.Socket[] = [];
  const open = () =>
    new Promise<net.Socket>((resolve, reject) => {
      const socket = net.connect(listener.port, '127.0.0.1', () => resolve(socket));
      socket.once('error', reject);
      sockets.push(socket);
    });
  const closed = (socket: net.Socket) =>
    new Promise<void>((resolve) => socket.once('close', () => resolve()));
  try {
    await open();
    await open();
    const third = await open();
    await closed(third); // closed by the listener, not by us
    sockets[0]!.destroy();
    await closed(sockets[0]!);
    sockets[1]!.destroy();
    const big = await fetch(listener.url, { headers: { 'x-filler': 'x'.repeat(10_000) } });
    assert.equal(big.status, 431);
    assert.equal((await fetch(listener.url)).status, 200, 'scrapes still work');
  } finally {
    for (const socket of sockets) socket.destroy();
    await listener.close();
  }
});
