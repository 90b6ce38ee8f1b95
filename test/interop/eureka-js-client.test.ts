/**
 * Interop with eureka-js-client 4.5, a real Eureka client, in both directions through the
 * hub's Eureka API: it registers, heartbeats and deregisters and EurekaRegistry sees it; it
 * finds what EurekaRegistry registers, by full fetch and by delta. Under both path prefixes.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { EurekaRegistry } from '../../src/discovery/eureka/registry.ts';
import type { ServiceInstance } from '../../src/discovery/index.ts';
import { eurekaApi } from '../../src/hub/api/eureka-api.ts';
import { HubServer } from '../../src/hub/server.ts';
import { waitFor } from '../support/wait.ts';

/** eureka-js-client as far as these tests use it (it ships no types). */
interface EurekaClient {
  start(callback: (err?: Error) => void): void;
  stop(callback: (err?: Error) => void): void;
  getInstancesByAppId(app: string): JsInstance[];
  getInstancesByVipAddress(vip: string): JsInstance[];
  on(event: 'heartbeat' | 'registryUpdated', listener: () => void): void;
}
interface JsInstance {
  instanceId: string;
  app: string;
  ipAddr: string;
  status: string;
  port: { $: number };
  metadata: Record<string, string>;
}
type EurekaConstructor = new (config: Record<string, unknown>) => EurekaClient;

const { Eureka } = createRequire(import.meta.url)('eureka-js-client') as { Eureka: EurekaConstructor };

const silent = { debug() {}, info() {}, warn() {}, error() {} };

function jsClient(
  hubPort: number,
  servicePath: string,
  app: string,
  options: { shouldUseDelta?: boolean } = {},
): EurekaClient {
  return new Eureka({
    logger: silent,
    ...options,
    instance: {
      app,
      instanceId: `${app}-1`,
      hostName: '127.0.0.1',
      ipAddr: '127.0.0.1',
      port: { $: 8081, '@enabled': true },
      vipAddress: app,
      statusPageUrl: 'http://127.0.0.1:8081/info',
      dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
      metadata: { team: 'orders' },
    },
    eureka: {
      host: '127.0.0.1',
      port: hubPort,
      servicePath,
      heartbeatInterval: 150,
      registryFetchInterval: 150,
      maxRetries: 0,
    },
  });
}

const start = (client: EurekaClient) =>
  new Promise<void>((resolve, reject) => client.start((err) => (err ? reject(err) : resolve())));
const stop = (client: EurekaClient) =>
  new Promise<void>((resolve, reject) => client.stop((err) => (err ? reject(err) : resolve())));

describe('eureka-js-client interop', () => {
  const paths: string[] = [];
  // Notes every path asked for, then lets the Eureka API answer.
  const recorder = () => ({
    name: 'recorder',
    handle: (_req: unknown, _res: unknown, url: URL) => {
      paths.push(url.pathname);
      return false;
    },
  });
  const hub = new HubServer({ port: 0, apis: [recorder, eurekaApi] });
  let port = 0;

  before(async () => {
    port = (await hub.listen()).port;
  });
  after(() => hub.close());

  for (const [servicePath, urlPrefix, useDelta] of [
    ['/eureka/apps/', '/eureka', false],
    ['/eureka/v2/apps/', '/eureka/v2', true],
  ] as const) {
    describe(`servicePath ${servicePath}${useDelta ? ', delta fetches' : ''}`, () => {
      const app = `js-orders${useDelta ? '-delta' : ''}`;
      let client: EurekaClient;
      let registry: EurekaRegistry;
      let running = false;

      before(async () => {
        registry = new EurekaRegistry({ url: `http://127.0.0.1:${port}${urlPrefix}`, pollIntervalMs: 100 });
        client = jsClient(port, servicePath, app, { shouldUseDelta: useDelta });
        await start(client);
        running = true;
      });
      after(async () => {
        if (running) await stop(client);
        await registry.close();
      });

      it('its registration and heartbeats keep it listed by EurekaRegistry', async () => {
        let beats = 0;
        client.on('heartbeat', () => beats++);
        await waitFor(() => beats >= 2, 3000);
        const [listed, ...others] = await registry.list(app);
        assert.equal(others.length, 0);
        assert.deepEqual(listed, {
          service: app.toUpperCase(),
          id: `${app}-1`,
          endpoints: [{ transport: 'http', host: '127.0.0.1', port: 8081 }],
          metadata: { team: 'orders' },
        } satisfies ServiceInstance);
        assert.ok((await registry.services()).includes(app.toUpperCase()));
        const pushed: string[][] = [];
        const watch = registry.watch(app, (list) => pushed.push(list.map((i) => i.id)));
        await waitFor(() => pushed.length === 1);
        watch.close();
        assert.deepEqual(pushed, [[`${app}-1`]]);
        // The hub keeps the name as registered for Switchboard's own callers.
        assert.equal(hub.registry.list(app).length, 1);
      });

      it('finds what EurekaRegistry registers, by app id and by vip address', async () => {
        const greeter: ServiceInstance = {
          service: 'greet.Greeter',
          id: `greeter-${useDelta ? 'd' : 'f'}`,
          endpoints: [
            { transport: 'http', host: '127.0.0.1', port: 8080 },
            { transport: 'grpc', host: '127.0.0.1', port: 50051 },
          ],
          zone: 'zone-a',
          metadata: {},
        };
        const lease = await registry.register(greeter, { ttlMs: 3000 });
        try {
          await waitFor(() => client.getInstancesByAppId('greet.Greeter').length === 1, 3000);
          const [found] = client.getInstancesByAppId('GREET.GREETER');
          assert.equal(found?.instanceId, greeter.id);
          assert.equal(found?.app, 'GREET.GREETER');
          assert.equal(found?.status, 'UP');
          assert.equal(found?.ipAddr, '127.0.0.1');
          assert.equal(found?.port.$, 8080);
          assert.equal(found?.metadata.zone, 'zone-a');
          assert.equal(found?.metadata['switchboard-service'], 'greet.Greeter');
          assert.equal(client.getInstancesByVipAddress('greet.Greeter').length, 1);
        } finally {
          await lease.deregister();
        }
        if (useDelta) {
          assert.ok(paths.includes('/eureka/v2/apps/delta'), 'the client fetched deltas');
          // A DELETED delta removes it from the client's cache.
          await waitFor(() => client.getInstancesByAppId('greet.Greeter').length === 0, 3000);
        } else {
          assert.ok(!paths.some((p) => p.endsWith('/delta')), 'the client fetched in full only');
        }
      });

      it('deregisters when stopped, and is gone from EurekaRegistry at once', async () => {
        await stop(client);
        running = false;
        assert.deepEqual(await registry.list(app), []);
        assert.ok(!(await registry.services()).includes(app.toUpperCase()));
      });
    });
  }
});
