import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { rawRequest, rawSocket } from '../../../test/support/raw-http.ts';
import { sleep, waitFor } from '../../../test/support/wait.ts';
import type { ServiceInstance } from '../../discovery/instance.ts';
import { HubServer } from '../server.ts';

function instance(service: string, id = 'i-1', metadata: Record<string, string> = {}): ServiceInstance {
  return { service, id, endpoints: [{ transport: 'grpc', host: '127.0.0.1', port: 50051 }], metadata };
}

interface OpenWatch {
  res: http.IncomingMessage;
  text: () => string;
  /** The data of every `instances` event so far. */
  events: () => { instances: ServiceInstance[]; index: number }[];
  close: () => void;
}

/** A watch stream read through node:http (which undoes the chunked encoding). */
function openWatch(base: string, service: string): Promise<OpenWatch> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${base}/api/v1/watch/${encodeURIComponent(service)}`, { agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        text += d;
      });
      res.on('error', () => {});
      resolve({
        res,
        text: () => text,
        events: () =>
          [...text.matchAll(/^event: instances\nid: \d+\ndata: (.*)\n\n/gm)].map((m) =>
            JSON.parse(m[1] as string),
          ),
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
  });
}

async function stillServing(hub: HubServer): Promise<void> {
  const res = await rawRequest(hub.url, 'GET', '/api/v1/services');
  assert.equal(res.status, 200, res.text);
}

describe('hub watch streams', () => {
  const hub = new HubServer({ port: 0, requestTimeoutMs: 1000, watchHeartbeatMs: 100, watchStallMs: 500 });

  before(() => hub.listen());
  after(() => hub.close());

  it('frames the full list as an event at once, after every change, with keep-alive comments', async () => {
    const index = hub.registry.index;
    const watch = await openWatch(hub.url, 'sse.Framing');
    try {
      assert.equal(watch.res.statusCode, 200);
      assert.equal(watch.res.headers['content-type'], 'text/event-stream; charset=utf-8');
      assert.equal(watch.res.headers['cache-control'], 'no-cache');
      await waitFor(() => watch.text().length > 0);
      assert.equal(
        watch.text().split('\n\n')[0],
        `event: instances\nid: ${index}\ndata: {"instances":[],"index":${index}}`,
      );
      hub.registry.upsert(instance('sse.Framing', 'f-1'), 10_000);
      await waitFor(() => watch.events().length === 2);
      assert.deepEqual(watch.events()[1]?.instances, [instance('sse.Framing', 'f-1')]);
      // Changes to other services are not pushed.
      hub.registry.upsert(instance('sse.Other'), 10_000);
      await sleep(50);
      assert.equal(watch.events().length, 2);
      // A burst of changes in one turn is one event.
      for (let i = 2; i < 30; i++) hub.registry.upsert(instance('sse.Framing', `f-${i}`), 10_000);
      await waitFor(() => watch.events().length === 3);
      assert.equal(watch.events()[2]?.instances.length, 29);
      // Past the request timeout (1 s), the stream is still open and beating.
      await sleep(1200);
      const before = watch.text().length;
      await waitFor(() => watch.text().length > before);
      assert.match(watch.text().slice(before), /^(: keepalive\n\n)+$/);
      hub.registry.remove('sse.Framing', 'f-1');
      await waitFor(() => watch.events().length === 4);
    } finally {
      watch.close();
    }
    await waitFor(() => hub.stats().watchers === 0);
  });

  it('survives 2,000 watchers that come and go, leaving no watcher and no connection behind', async () => {
    const head = 'GET /api/v1/watch/flood.Svc HTTP/1.1\r\nhost: hub\r\n\r\n';
    const rounds = Array.from({ length: 2000 }, async (_, i) => {
      const { socket, received } = await rawSocket(hub.url, head);
      // A quarter go away before the answer; the others once the first event is in.
      if (i % 4 !== 0) {
        await new Promise<void>((resolve, reject) => {
          const check = () => {
            if (received().includes('event: instances')) resolve();
          };
          socket.on('data', check);
          check();
          socket.once('close', () => reject(new Error('closed before the first event')));
        });
      }
      socket.destroy();
    });
    await Promise.all(rounds);
    await waitFor(() => hub.stats().watchers === 0 && hub.stats().connections === 0, 20_000);
    await stillServing(hub);
    const watch = await openWatch(hub.url, 'flood.Svc');
    try {
      await waitFor(() => watch.events().length === 1);
    } finally {
      watch.close();
    }
  });

  it('keeps only the latest list for a watcher that does not read, then drops it', async () => {
    const svc = 'slow.Reader';
    const { socket } = await rawSocket(hub.url, `GET /api/v1/watch/${svc} HTTP/1.1\r\nhost: hub\r\n\r\n`);
    socket.pause();
    const reader = await openWatch(hub.url, svc);
    try {
      await waitFor(() => hub.stats().watchers === 2);
      // Twenty instances of ~15 KB each: every event is ~300 KB; a hundred of them is 30 MB.
      const fat = Object.fromEntries(Array.from({ length: 15 }, (_, k) => [`k${k}`, 'v'.repeat(1000)]));
      for (let i = 0; i < 20; i++) hub.registry.upsert(instance(svc, `s-${i}`, fat), 60_000);
      let most = 0;
      for (let round = 0; round < 100; round++) {
        hub.registry.renew(svc, 's-0', round % 2 === 0 ? 'warning' : 'passing');
        await new Promise((resolve) => setImmediate(resolve));
        most = Math.max(most, hub.stats().watchBufferedBytes);
      }
      assert.ok(most < 2 * 1024 * 1024, `the hub buffered ${most} bytes for its watchers`);
      await waitFor(() => hub.stats().watchers === 1, 5000);
      assert.ok(!reader.res.destroyed, 'the reading watcher is still there');
      const last = hub.registry.list(svc).length;
      await waitFor(() => reader.events().at(-1)?.instances.length === last, 5000);
      await stillServing(hub);
    } finally {
      socket.destroy();
      reader.close();
    }
  });
});

describe('hub watch limits', () => {
  it('refuses watchers beyond maxWatchers with 503 and takes new ones once others left', async () => {
    const hub = new HubServer({ port: 0, maxWatchers: 2 });
    await hub.listen();
    const a = await openWatch(hub.url, 'limit.Svc');
    const b = await openWatch(hub.url, 'limit.Other');
    try {
      const refused = await rawRequest(hub.url, 'GET', '/api/v1/watch/limit.Svc');
      assert.equal(refused.status, 503);
      assert.equal(refused.headers['retry-after'], '5');
      assert.match((refused.json as { error: string }).error, /limit of 2 watch streams; try again later/);
      await stillServing(hub);
      a.close();
      await waitFor(() => hub.stats().watchers === 1);
      const c = await openWatch(hub.url, 'limit.Svc');
      assert.equal(c.res.statusCode, 200);
      c.close();
    } finally {
      a.close();
      b.close();
      await hub.close();
    }
  });

  it('ends every stream and blocking query when the hub closes', async () => {
    const hub = new HubServer({ port: 0 });
    await hub.listen();
    const watch = await openWatch(hub.url, 'closing.Svc');
    const ended = new Promise<void>((resolve) => watch.res.once('close', resolve));
    const blocking = rawRequest(
      hub.url,
      'GET',
      `/api/v1/services/closing.Svc?index=${hub.registry.index}&wait=1m`,
    );
    await waitFor(() => hub.stats().blockingQueries === 1 && hub.stats().watchers === 1);
    const started = Date.now();
    await hub.close();
    await ended;
    // The blocking query is answered (with the list as it is), not cut off.
    assert.equal((await blocking).status, 200);
    assert.ok(Date.now() - started < 2000);
    assert.equal(hub.stats().watchers, 0);
    assert.equal(hub.stats().blockingQueries, 0);
  });
});
