/**
 * ConsulRegistry against the hub's Consul-compatible API (a real HubServer on a free port):
 * the shared registry conformance suite, plus what is Consul's own.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { registryConformance } from '../../../test/conformance/registry-suite.ts';
import { waitFor } from '../../../test/support/wait.ts';
import { consulApi } from '../../hub/api/consul-api.ts';
import { HubServer } from '../../hub/server.ts';
import { RegistryError } from '../registry.ts';
import { consulUrl } from './agent-client.ts';
import { ConsulRegistry } from './registry.ts';

const hub = new HubServer({ port: 0, apis: [consulApi] });
await hub.listen();
after(() => hub.close());

registryConformance({
  name: 'consul (hub)',
  registry: async () => new ConsulRegistry({ url: hub.url }),
  shortTtlMs: 1000,
  expirySlackMs: 500,
});

describe('ConsulRegistry on the hub', () => {
  let registry: ConsulRegistry;
  before(() => {
    registry = new ConsulRegistry({ url: hub.url });
  });
  after(() => registry.close());

  it('registers again when the agent forgets the service', async () => {
    const lease = await registry.register(
      {
        service: 'consul.Forgotten',
        id: 'f-1',
        endpoints: [{ transport: 'grpc', host: '127.0.0.1', port: 50051 }],
        metadata: {},
      },
      { ttlMs: 600 },
    );
    try {
      // As an agent restarted without its state would: the service is gone.
      assert.equal(hub.registry.remove('consul.Forgotten', 'f-1'), true);
      await waitFor(async () => (await registry.list('consul.Forgotten')).length === 1, 2000);
    } finally {
      await lease.deregister();
    }
  });

  it('keeps an abandoned instance as critical, then deregisters it one ttl later', async () => {
    const lease = await registry.register(
      {
        service: 'consul.Abandoned',
        id: 'a-1',
        endpoints: [{ transport: 'grpc', host: '127.0.0.1', port: 50051 }],
        metadata: {},
      },
      { ttlMs: 500 },
    );
    lease.abandon();
    await waitFor(() => hub.registry.get('consul.Abandoned', 'a-1')?.health === 'critical', 2000);
    assert.deepEqual(await registry.list('consul.Abandoned'), []);
    await waitFor(() => hub.registry.get('consul.Abandoned', 'a-1') === undefined, 2000);
  });

  it('refuses metadata Consul could not hold with a TypeError, before sending anything', async () => {
    const instance = {
      service: 'consul.TooBig',
      id: 'big',
      endpoints: [{ transport: 'grpc' as const, host: '127.0.0.1', port: 1 }],
      metadata: { note: 'x'.repeat(600) },
    };
    await assert.rejects(registry.register(instance), (err: Error) => {
      assert.ok(err instanceof TypeError);
      assert.match(err.message, /Value is too long \(limit: 512/);
      return true;
    });
    assert.deepEqual(hub.registry.entries('consul.TooBig'), []);
  });

  it('reports an unreachable agent as RegistryError, and a watch reports and retries', async () => {
    const nowhere = new ConsulRegistry({ url: 'http://127.0.0.1:1' });
    await assert.rejects(nowhere.list('x'), RegistryError);
    const errors: Error[] = [];
    const watch = nowhere.watch(
      'x',
      () => assert.fail('nothing to push'),
      (err) => errors.push(err),
    );
    await waitFor(() => errors.length >= 2, 3000);
    watch.close();
    await nowhere.close();
    assert.ok(errors.every((e) => e instanceof RegistryError));
  });
});

describe('consulUrl', () => {
  it('takes options first, then CONSUL_HTTP_ADDR with or without a scheme, then the default', () => {
    assert.equal(consulUrl('http://h:1/', {}), 'http://h:1');
    assert.equal(consulUrl(undefined, { CONSUL_HTTP_ADDR: '10.0.0.1:8500' }), 'http://10.0.0.1:8500');
    assert.equal(
      consulUrl(undefined, { CONSUL_HTTP_ADDR: '10.0.0.1:8501', CONSUL_HTTP_SSL: 'true' }),
      'https://10.0.0.1:8501',
    );
    assert.equal(consulUrl(undefined, {}), 'http://127.0.0.1:8500');
    assert.throws(() => consulUrl('ftp://h:1', {}), TypeError);
  });
});
