import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rawRequest, rawSocket } from '../../../test/support/raw-http.ts';
import { sleep, waitFor } from '../../../test/support/wait.ts';
import type { ServiceInstance } from '../../discovery/instance.ts';
import { HubServer } from '../server.ts';

const JSON_HEADERS = { 'content-type': 'application/json' };

function instance(service: string, id = 'i-1', overrides: Partial<ServiceInstance> = {}): ServiceInstance {
  return {
    service,
    id,
    endpoints: [{ transport: 'grpc', host: '127.0.0.1', port: 50051 }],
    metadata: {},
    ...overrides,
  };
}

describe('hub registry API', () => {
  const hub = new HubServer({ port: 0, requestTimeoutMs: 1000, maxWaitMs: 2000 });
  let base = '';
  const call = (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = JSON_HEADERS,
  ) =>
    rawRequest(base, method, path, {
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      headers: body === undefined ? {} : headers,
    });
  const register = (inst: ServiceInstance, ttlMs?: number) =>
    call('PUT', '/api/v1/instances', { instance: inst, ttlMs });

  /** After every refusal the hub still answers a good request. */
  async function stillServing(): Promise<void> {
    const ok = await register(instance('still.Serving', `s-${Math.random().toString(36).slice(2, 8)}`));
    assert.equal(ok.status, 200, ok.text);
  }

  before(async () => {
    await hub.listen();
    base = hub.url;
  });
  after(() => hub.close());

  it('registers, lists, renews and deregisters, with service names encoded', async () => {
    const svc = 'greet/v1.Greeter';
    const put = await register(instance(svc, 'a-1', { version: '2', zone: 'z' }), 3000);
    assert.equal(put.status, 200, put.text);
    const { index, ttlMs } = put.json as { index: number; ttlMs: number };
    assert.equal(ttlMs, 3000);
    assert.equal(index, hub.registry.index);
    const enc = encodeURIComponent(svc);
    const listed = await call('GET', `/api/v1/services/${enc}`);
    assert.deepEqual((listed.json as { instances: ServiceInstance[] }).instances, [
      instance(svc, 'a-1', { version: '2', zone: 'z' }),
    ]);
    // An unencoded slash in the service name is read the same way.
    assert.equal(
      ((await call('GET', `/api/v1/services/${svc}`)).json as { instances: [] }).instances.length,
      1,
    );
    const services = (await call('GET', '/api/v1/services')).json as {
      services: { name: string; instances: number }[];
      index: number;
    };
    assert.deepEqual(
      services.services.find((s) => s.name === svc),
      { name: svc, instances: 1 },
    );
    assert.equal((await call('PUT', `/api/v1/instances/${enc}/a-1/heartbeat`)).status, 200);
    assert.equal((await call('DELETE', `/api/v1/instances/${enc}/a-1`)).status, 200);
    const gone = await call('DELETE', `/api/v1/instances/${enc}/a-1`);
    assert.equal(gone.status, 404);
    assert.match((gone.json as { error: string }).error, /no instance a-1 of greet\/v1\.Greeter/);
  });

  it('clamps the ttl to 1 s .. 5 min and defaults it to 10 s', async () => {
    const ttl = async (value: unknown) =>
      (
        (await call('PUT', '/api/v1/instances', { instance: instance('ttl.Svc'), ttlMs: value })).json as {
          ttlMs: number;
        }
      ).ttlMs;
    assert.equal(await ttl(1), 1000);
    assert.equal(await ttl(1e12), 300_000);
    assert.equal(await ttl(undefined), 10_000);
    assert.equal(hub.registry.get('ttl.Svc', 'i-1')?.ttlMs, 10_000);
  });

  it('answers an unknown service with an empty list, not an error', async () => {
    const res = await call('GET', '/api/v1/services/no.Such');
    assert.equal(res.status, 200);
    assert.deepEqual((res.json as { instances: [] }).instances, []);
  });

  it('refuses bad requests with the right status and a clear message, and keeps serving', async () => {
    const big = { instance: instance('big.Svc'), pad: 'x'.repeat(300 * 1024) };
    const fatMetadata = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, 'v'.repeat(1000)]));
    const cases: [string, () => ReturnType<typeof call>, number, RegExp][] = [
      [
        'unknown endpoint',
        () => call('GET', '/api/v1/nothing'),
        404,
        /no hub endpoint GET \/api\/v1\/nothing/,
      ],
      ['outside the API', () => call('GET', '/elsewhere'), 404, /no hub endpoint/],
      ['wrong method', () => call('POST', '/api/v1/instances', {}), 405, /POST is not allowed .*use PUT/],
      ['wrong method on an instance', () => call('GET', '/api/v1/instances/a.B/i-1'), 405, /use DELETE/],
      ['malformed JSON', () => call('PUT', '/api/v1/instances', '{"instance": '), 400, /malformed JSON/],
      ['no body', () => call('PUT', '/api/v1/instances', ''), 400, /expected a JSON body/],
      ['not an object', () => call('PUT', '/api/v1/instances', '[1]'), 400, /expected a JSON object/],
      [
        'wrong content type',
        () => call('PUT', '/api/v1/instances', 'x', { 'content-type': 'text/plain' }),
        415,
        /expected content-type application\/json/,
      ],
      ['oversized body', () => call('PUT', '/api/v1/instances', big), 413, /larger than 262144 bytes/],
      [
        'oversized metadata',
        () => register(instance('meta.Svc', 'm', { metadata: fatMetadata })),
        400,
        /metadata: \d+ bytes, more than the limit of 16384/,
      ],
      [
        'too long a metadata value',
        () => register(instance('meta.Svc', 'm', { metadata: { k: 'v'.repeat(2000) } })),
        400,
        /metadata\.k: longer than 1024/,
      ],
      [
        'no endpoints',
        () => register(instance('bad.Svc', 'b', { endpoints: [] })),
        400,
        /endpoints: expected at least one endpoint/,
      ],
      [
        'bad ttl',
        () => call('PUT', '/api/v1/instances', { instance: instance('bad.Svc'), ttlMs: 'ten' }),
        400,
        /ttlMs: expected a number/,
      ],
      ['bad encoding', () => call('GET', '/api/v1/services/%E0%A4%A'), 400, /not URL-encoded/],
      [
        'bad index',
        () => call('GET', '/api/v1/services/a.B?index=abc'),
        400,
        /index: expected a non-negative/,
      ],
      ['bad wait', () => call('GET', '/api/v1/services/a.B?index=1&wait=forever'), 400, /wait: "forever"/],
      [
        'unknown heartbeat',
        () => call('PUT', '/api/v1/instances/a.B/nobody/heartbeat'),
        404,
        /no instance nobody/,
      ],
      ['too long a name', () => call('GET', `/api/v1/services/${'n'.repeat(300)}`), 400, /longer than 256/],
    ];
    for (const [name, send, status, message] of cases) {
      const res = await send();
      assert.equal(res.status, status, `${name}: ${res.text}`);
      assert.match((res.json as { error: string }).error, message, name);
      await stillServing();
    }
    assert.equal((await call('POST', '/api/v1/instances', {})).headers.allow, 'PUT');
    assert.equal(hub.registry.entries('meta.Svc').length + hub.registry.entries('bad.Svc').length, 0);
  });

  it('refuses registrations beyond the table limit with 507 and keeps renewing the ones it has', async () => {
    const small = new HubServer({ port: 0, maxInstances: 1 });
    await small.listen();
    try {
      const put = (id: string) =>
        rawRequest(small.url, 'PUT', '/api/v1/instances', {
          body: JSON.stringify({ instance: instance('full.Svc', id) }),
          headers: JSON_HEADERS,
        });
      assert.equal((await put('a')).status, 200);
      const full = await put('b');
      assert.equal(full.status, 507);
      assert.match((full.json as { error: string }).error, /holds its limit of 1 instances/);
      assert.equal((await put('a')).status, 200, 'replacing a registered instance still works');
    } finally {
      await small.close();
    }
  });

  it('answers a blocking query when the service changes', async () => {
    const svc = 'block.Change';
    const { index } = (await call('GET', `/api/v1/services/${svc}`)).json as { index: number };
    const started = Date.now();
    const waiting = call('GET', `/api/v1/services/${svc}?index=${index}&wait=5s`);
    await waitFor(() => hub.stats().blockingQueries === 1);
    // A change to another service does not answer it.
    await register(instance('block.Other'));
    await sleep(100);
    assert.equal(hub.stats().blockingQueries, 1);
    await register(instance(svc, 'b-1'));
    const res = await waiting;
    const body = res.json as { instances: ServiceInstance[]; index: number };
    assert.deepEqual(
      body.instances.map((i) => i.id),
      ['b-1'],
    );
    assert.ok(body.index > index);
    assert.ok(Date.now() - started < 2000);
    // A query with an index already passed answers at once.
    const at = Date.now();
    await call('GET', `/api/v1/services/${svc}?index=${index}&wait=5s`);
    assert.ok(Date.now() - at < 500);
    // The list of services blocks on a change to any service.
    const now = hub.registry.index;
    const all = call('GET', `/api/v1/services?index=${now}&wait=5s`);
    await waitFor(() => hub.stats().blockingQueries === 1);
    await register(instance('block.Any'));
    const names = ((await all).json as { services: { name: string }[] }).services.map((s) => s.name);
    assert.ok(names.includes('block.Any'));
  });

  it('answers a blocking query after its wait with the unchanged index, wait capped by maxWaitMs', async () => {
    const svc = 'block.Quiet';
    const { index } = (await call('GET', `/api/v1/services/${svc}`)).json as { index: number };
    let started = Date.now();
    const quiet = await call('GET', `/api/v1/services/${svc}?index=${index}&wait=300ms`);
    const waited = Date.now() - started;
    assert.ok(waited >= 280 && waited < 1500, `waited ${waited} ms`);
    assert.deepEqual((quiet.json as { instances: [] }).instances, []);
    started = Date.now();
    await call('GET', `/api/v1/services/${svc}?index=${hub.registry.index}&wait=1h`);
    const capped = Date.now() - started;
    assert.ok(capped >= 1900 && capped < 3500, `capped wait took ${capped} ms`);
    // The wait outlived requestTimeoutMs (1 s): that bounds only the arrival of a request.
  });

  it('ends a blocking query whose client went away', async () => {
    const { socket } = await rawSocket(
      base,
      `GET /api/v1/services/block.Gone?index=${hub.registry.index}&wait=30s HTTP/1.1\r\nhost: hub\r\n\r\n`,
    );
    await waitFor(() => hub.stats().blockingQueries === 1);
    socket.destroy();
    await waitFor(() => hub.stats().blockingQueries === 0);
    await stillServing();
  });

  it('refuses blocking queries beyond maxBlockingQueries with 503', async () => {
    const small = new HubServer({ port: 0, maxBlockingQueries: 1 });
    await small.listen();
    try {
      const path = `/api/v1/services/busy.Svc?index=${small.registry.index}&wait=5s`;
      const first = rawRequest(small.url, 'GET', path);
      await waitFor(() => small.stats().blockingQueries === 1);
      const refused = await rawRequest(small.url, 'GET', path);
      assert.equal(refused.status, 503);
      assert.match((refused.json as { error: string }).error, /limit of 1 blocking queries; try again later/);
      // Without an index the same list answers at once.
      assert.equal((await rawRequest(small.url, 'GET', '/api/v1/services/busy.Svc')).status, 200);
      small.registry.upsert(instance('busy.Svc'), 10_000);
      assert.equal((await first).status, 200);
    } finally {
      await small.close();
    }
  });

  it('times out a client that sends half a body and stalls, without holding up others', async () => {
    const { socket, received } = await rawSocket(
      base,
      'PUT /api/v1/instances HTTP/1.1\r\nhost: hub\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"instance": {"service": "sl',
    );
    try {
      const started = Date.now();
      for (let i = 0; i < 5; i++) await stillServing();
      assert.ok(Date.now() - started < 900, 'other clients were served while one stalled');
      await waitFor(() => received().startsWith('HTTP/1.1 408'), 4000);
      await waitFor(() => socket.destroyed || socket.readableEnded, 2000);
    } finally {
      socket.destroy();
    }
    // One that goes away mid-body is forgotten.
    const { socket: gone } = await rawSocket(
      base,
      'PUT /api/v1/instances HTTP/1.1\r\nhost: hub\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n{"inst',
    );
    await sleep(50);
    gone.destroy();
    await stillServing();
  });

  it('answers a slow but steady body', async () => {
    const body = JSON.stringify({ instance: instance('slow.Body', 's-1') });
    const { socket, received } = await rawSocket(
      base,
      `PUT /api/v1/instances HTTP/1.1\r\nhost: hub\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n`,
    );
    try {
      for (const piece of [body.slice(0, 20), body.slice(20, 60), body.slice(60)]) {
        await sleep(100);
        socket.write(piece);
      }
      await waitFor(() => received().startsWith('HTTP/1.1 200'));
      assert.ok(hub.registry.get('slow.Body', 's-1'));
    } finally {
      socket.destroy();
    }
  });
});
