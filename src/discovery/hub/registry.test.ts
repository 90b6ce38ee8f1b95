import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { registryConformance } from '../../../test/conformance/registry-suite.ts';
import { sleep, waitFor } from '../../../test/support/wait.ts';
import { HubServer } from '../../hub/server.ts';
import type { ServiceInstance } from '../instance.ts';
import { RegistryError } from '../registry.ts';
import { HubRegistry } from './registry.ts';

const hub = new HubServer({ port: 0, minTtlMs: 100, sweepIntervalMs: 50 });
let url = '';
before(async () => {
  await hub.listen();
  url = hub.url;
});
after(() => hub.close());

registryConformance({
  name: 'hub',
  registry: async () => new HubRegistry({ url }),
  shortTtlMs: 500,
  expirySlackMs: 200,
});

function instance(service: string, id = 'i-1'): ServiceInstance {
  return { service, id, endpoints: [{ transport: 'grpc', host: '127.0.0.1', port: 50051 }], metadata: {} };
}

describe('HubRegistry', () => {
  it('encodes service names with slashes and ids that are dot segments', async () => {
    const registry = new HubRegistry({ url });
    try {
      const lease = await registry.register(instance('greet/v1.Greeter', '..'));
      assert.deepEqual(
        (await registry.list('greet/v1.Greeter')).map((i) => i.id),
        ['..'],
      );
      assert.ok(hub.registry.get('greet/v1.Greeter', '..'));
      await lease.deregister();
      assert.deepEqual(await registry.list('greet/v1.Greeter'), []);
    } finally {
      await registry.close();
    }
  });

  it('says clearly when the hub is unreachable', async () => {
    const registry = new HubRegistry({ url: 'http://127.0.0.1:1' });
    try {
      await assert.rejects(registry.list('x.Y'), (err: Error) => {
        assert.ok(err instanceof RegistryError);
        assert.equal(err.message, 'hub at http://127.0.0.1:1: connection refused');
        return true;
      });
    } finally {
      await registry.close();
    }
  });

  it("carries the hub's status and reason when it refuses", async () => {
    const small = new HubServer({ port: 0, maxInstances: 1 });
    await small.listen();
    const registry = new HubRegistry({ url: small.url });
    try {
      await registry.register(instance('full.Svc', 'a'));
      await assert.rejects(registry.register(instance('full.Svc', 'b')), (err: Error) => {
        assert.ok(err instanceof RegistryError);
        assert.equal(err.status, 507);
        assert.match(
          err.message,
          /refused to register b of full\.Svc: 507 the registry holds its limit of 1/,
        );
        return true;
      });
    } finally {
      await registry.close();
      await small.close();
    }
  });

  it('registers again, without an error, when the hub forgot the instance; refuses use after close', async () => {
    const errors: Error[] = [];
    const registry = new HubRegistry({ url, onError: (err) => errors.push(err) });
    await registry.register(instance('gone.Hub'), { ttlMs: 300 });
    hub.registry.remove('gone.Hub', 'i-1');
    // The next heartbeat finds it gone and registers again, without any error.
    await waitFor(() => hub.registry.get('gone.Hub', 'i-1') !== undefined);
    assert.deepEqual(errors, []);
    await registry.close();
    assert.equal(hub.registry.get('gone.Hub', 'i-1'), undefined);
    await assert.rejects(registry.list('gone.Hub'), /is closed/);
  });
});

describe('HubRegistry across a hub restart', () => {
  it('re-registers through heartbeats when the hub lost its state, and the watch reconnects', async () => {
    const first = new HubServer({ port: 0, minTtlMs: 100, sweepIntervalMs: 50 });
    const { port } = await first.listen();
    const firstUrl = first.url;
    const errors: Error[] = [];
    const registry = new HubRegistry({ url: first.url, onError: (err) => errors.push(err) });
    const pushes: string[][] = [];
    const watch = registry.watch('restart.Svc', (list) => pushes.push(list.map((i) => i.id)));
    let second: HubServer | undefined;
    try {
      await registry.register(instance('restart.Svc', 'r-1'), { ttlMs: 600 });
      await waitFor(() => JSON.stringify(pushes.at(-1)) === '["r-1"]');
      const before = pushes.length;
      await first.close();
      await waitFor(() =>
        errors.some((e) => /watch of restart\.Svc: .*(ended the stream|connection)/.test(e.message)),
      );
      // Heartbeats fail while the hub is away: reported, retried, never thrown.
      await waitFor(() => errors.some((e) => e.message === `hub at ${firstUrl}: connection refused`));
      // A new hub, same port, no data: the lease's next heartbeat gets 404 and registers again.
      second = new HubServer({ port, minTtlMs: 100, sweepIntervalMs: 50, broker: false });
      await second.listen();
      await waitFor(() => second?.registry.get('restart.Svc', 'r-1') !== undefined, 5000);
      // The watch came back and pushed the current list again.
      await waitFor(() => pushes.length > before && JSON.stringify(pushes.at(-1)) === '["r-1"]', 8000);
      assert.ok(errors.every((e) => e instanceof RegistryError));
    } finally {
      watch.close();
      await registry.close();
      await second?.close();
    }
  });
});

describe('HubRegistry watch parsing', () => {
  // A real server that speaks the stream in the worst possible way: one byte per write.
  const list = [{ ...instance('parse.Svc', 'p-1'), metadata: { who: 'Zoë 😀' } }];
  let mode: 'bytes' | 'malformed' | 'refuse' | 'silent' = 'bytes';
  let connects = 0;
  const server = http.createServer(async (_req, res) => {
    connects++;
    if (mode === 'refuse') {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'the hub serves its limit of 1 watch streams; try again later' }));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    if (mode === 'silent') {
      res.flushHeaders();
      return;
    }
    const text =
      mode === 'bytes'
        ? `: hello\r\nevent: instances\r\nid: 7\r\ndata: ${JSON.stringify({ instances: list, index: 7 })}\r\n\r\n`
        : 'event: instances\ndata: {"instances": nope}\n\n';
    for (const byte of Buffer.from(text)) {
      if (res.destroyed) return;
      res.write(Buffer.from([byte]));
      await new Promise((resolve) => setImmediate(resolve));
    }
  });
  let base = '';
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('assembles events split anywhere, even inside a character', async () => {
    mode = 'bytes';
    const registry = new HubRegistry({ url: base });
    const pushes: ServiceInstance[][] = [];
    const watch = registry.watch('parse.Svc', (l) => pushes.push(l));
    try {
      await waitFor(() => pushes.length === 1);
      assert.deepEqual(pushes[0], list);
    } finally {
      watch.close();
      await registry.close();
    }
  });

  it('reports a malformed event and a refusal to onError, and keeps reconnecting', async () => {
    const registry = new HubRegistry({ url: base });
    const errors: Error[] = [];
    mode = 'malformed';
    connects = 0;
    const watch = registry.watch(
      'parse.Svc',
      () => assert.fail('nothing to push'),
      (e) => errors.push(e),
    );
    try {
      await waitFor(() =>
        errors.some((e) => /watch of parse\.Svc: hub at .* sent a malformed event/.test(e.message)),
      );
      mode = 'refuse';
      await waitFor(() =>
        errors.some(
          (e) =>
            e instanceof RegistryError &&
            e.status === 503 &&
            /watch of parse\.Svc: hub at .* refused to open the stream: 503 the hub serves its limit/.test(
              e.message,
            ),
        ),
      );
      assert.ok(connects >= 2);
    } finally {
      watch.close();
      await registry.close();
    }
    const after = connects;
    await sleep(300);
    assert.equal(connects, after, 'a closed watch does not reconnect');
  });

  it('reopens a stream that falls silent', async () => {
    mode = 'silent';
    connects = 0;
    const registry = new HubRegistry({ url: base, watchIdleMs: 200 });
    const errors: Error[] = [];
    const watch = registry.watch(
      'parse.Svc',
      () => {},
      (e) => errors.push(e),
    );
    try {
      await waitFor(() =>
        errors.some((e) => /watch of parse\.Svc: hub at .*: the hub went silent/.test(e.message)),
      );
      await waitFor(() => connects >= 2);
    } finally {
      watch.close();
      await registry.close();
    }
  });
});
