import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { registryConformance } from '../../../test/conformance/registry-suite.ts';
import { waitFor } from '../../../test/support/wait.ts';
import { eurekaApi, eurekaApiWith } from '../../hub/api/eureka-api.ts';
import { HubServer } from '../../hub/server.ts';
import { RegistryError } from '../registry.ts';
import { EurekaRegistry } from './registry.ts';

const hub = new HubServer({ port: 0, apis: [eurekaApi] });
await hub.listen();
after(() => hub.close());

registryConformance({
  name: 'eureka (hub)',
  registry: async () => new EurekaRegistry({ url: `${hub.url}/eureka`, pollIntervalMs: 100 }),
  // Eureka counts leases in whole seconds.
  shortTtlMs: 1000,
  // The hub sweeps every 250 ms.
  expirySlackMs: 300,
});

describe('EurekaRegistry', () => {
  let registry: EurekaRegistry;
  before(() => {
    registry = new EurekaRegistry({ url: `${hub.url}/eureka/v2/`, pollIntervalMs: 100 });
  });
  after(() => registry.close());

  const instance = {
    service: 'greet.Greeter',
    id: 'g-1',
    endpoints: [{ transport: 'grpc' as const, host: '127.0.0.1', port: 50051 }],
    metadata: {},
  };

  it('writes the app upper-cased, and finds it by any spelling', async () => {
    const lease = await registry.register(instance);
    try {
      const res = await fetch(`${hub.url}/eureka/apps/GREET.GREETER/g-1`, {
        headers: { accept: 'application/json' },
      });
      const body = (await res.json()) as { instance: Record<string, unknown> };
      assert.equal(body.instance.app, 'GREET.GREETER');
      assert.deepEqual(body.instance.metadata, {
        'switchboard-service': 'greet.Greeter',
        'switchboard-endpoints': 'grpc://127.0.0.1:50051',
      });
      for (const name of ['greet.Greeter', 'GREET.GREETER', 'greet.greeter']) {
        assert.deepEqual(await registry.list(name), [instance], name);
      }
    } finally {
      await lease.deregister();
    }
  });

  it('refuses metadata keys the mapping reserves', async () => {
    for (const key of ['zone', 'version', 'switchboard-service', 'switchboard-endpoints']) {
      await assert.rejects(
        registry.register({ ...instance, metadata: { [key]: 'x' } }),
        (err: Error) => err instanceof TypeError && err.message.includes(key),
      );
    }
  });

  it('registers again when the server forgot the instance', async () => {
    const lease = await registry.register({ ...instance, id: 'g-forgot' }, { ttlMs: 1500 });
    try {
      hub.registry.remove('greet.Greeter', 'g-forgot');
      assert.equal(hub.registry.get('greet.Greeter', 'g-forgot'), undefined);
      await waitFor(() => hub.registry.get('greet.Greeter', 'g-forgot') !== undefined, 2000);
    } finally {
      await lease.deregister();
    }
  });

  it('reports an unreachable server as a RegistryError, and to watchers once', async () => {
    const down = new EurekaRegistry({ url: 'http://127.0.0.1:9/eureka', pollIntervalMs: 50 });
    try {
      await assert.rejects(down.list('x'), RegistryError);
      await assert.rejects(down.register(instance), RegistryError);
      const errors: Error[] = [];
      const watch = down.watch(
        'x',
        () => assert.fail('nothing to push'),
        (err) => errors.push(err),
      );
      await waitFor(() => errors.length === 1);
      await new Promise((r) => setTimeout(r, 200));
      watch.close();
      assert.equal(errors.length, 1);
      assert.ok(errors[0] instanceof RegistryError);
    } finally {
      await down.close();
    }
  });

  it('fetches in full when the hash code shows a delta missed changes', async () => {
    const paths: string[] = [];
    const recorder = () => ({
      name: 'recorder',
      handle: (_req: unknown, _res: unknown, url: URL) => {
        paths.push(url.pathname);
        return false;
      },
    });
    // Changes leave the delta window long before the watcher polls.
    const forgetful = new HubServer({ port: 0, apis: [recorder, eurekaApiWith({ retentionMs: 20 })] });
    await forgetful.listen();
    const url = `${forgetful.url}/eureka`;
    const writer = new EurekaRegistry({ url });
    const watcher = new EurekaRegistry({ url, pollIntervalMs: 200 });
    try {
      const pushes: string[][] = [];
      const watch = watcher.watch('greet.Greeter', (list) => pushes.push(list.map((i) => i.id)));
      await waitFor(() => pushes.length === 1);
      await writer.register(instance);
      await waitFor(() => pushes.length === 2, 2000);
      watch.close();
      assert.deepEqual(pushes, [[], ['g-1']]);
      assert.ok(paths.includes('/eureka/apps/delta'), 'it fetched a delta');
      assert.ok(paths.filter((p) => p === '/eureka/apps').length >= 2, 'then the full registry again');
    } finally {
      await writer.close();
      await watcher.close();
      await forgetful.close();
    }
  });

  it('turns malformed, truncated, oversized and slow answers into RegistryErrors', async () => {
    const server = http.createServer((req, res) => {
      const app = req.url?.split('/')[3];
      if (app === 'MALFORMED') res.end('{"application": ');
      else if (app === 'WRONG') res.end('{"application": 5}');
      else if (app === 'TRUNCATED') {
        res.writeHead(200, { 'content-length': 1000 });
        res.write('{"application": {');
        setTimeout(() => res.destroy(), 20);
      } else if (app === 'HUGE') {
        res.writeHead(200, { 'content-length': 64 * 1024 * 1024 });
        res.write('{');
      } else if (app === 'REFUSED') {
        res.writeHead(500);
        res.end('boom');
      } else if (app !== 'SLOW') res.end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const odd = new EurekaRegistry({ url: `http://127.0.0.1:${port}/eureka`, requestTimeoutMs: 300 });
    try {
      const cases: [string, RegExp][] = [
        ['malformed', /malformed JSON/],
        ['wrong', /unreadable answer/],
        ['truncated', /terminated|other side closed|socket/i],
        ['huge', /exceeds/],
        ['refused', /HTTP 500 boom/],
        ['slow', /no answer in 300 ms/],
      ];
      for (const [app, message] of cases) {
        await assert.rejects(
          odd.list(app),
          (err: Error) => err instanceof RegistryError && message.test(err.message),
          app,
        );
      }
    } finally {
      await odd.close();
      server.closeAllConnections();
      server.close();
    }
  });

  it('refuses a url that is not http', () => {
    assert.throws(() => new EurekaRegistry({ url: 'ftp://x/eureka' }), TypeError);
    assert.throws(() => new EurekaRegistry({ url: 'not a url' }), TypeError);
  });
});
