/** Services and the hub over mutual TLS: the registry's HTTPS port and the broker's TLS port. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HubBroker } from '../../app/brokers/hub-broker.ts';
import { createDevCa, type IssuedCert, issueDevCert } from '../../cli/dev-certs.ts';
import { HubServer } from '../../hub/server.ts';
import type { ServiceInstance } from '../instance.ts';
import { RegistryError } from '../registry.ts';
import { HubRegistry } from './registry.ts';

const instance: ServiceInstance = {
  service: 'shop.Orders',
  id: 'o-1',
  endpoints: [{ transport: 'grpc', host: '127.0.0.1', port: 50051, tls: true }],
  metadata: {},
};

describe('hub over mutual TLS', () => {
  let dir: string;
  let hub: HubServer;
  let orders: IssuedCert;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'sb-hub-mtls-'));
    await createDevCa({ dir });
    const own = await issueDevCert({ dir, service: 'hub' });
    orders = await issueDevCert({ dir, service: 'orders' });
    hub = new HubServer({
      port: 0,
      tls: { certFile: own.certFile, keyFile: own.keyFile, caFile: own.caFile },
    });
    await hub.listen();
  });
  after(async () => {
    await hub.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves HTTPS', () => {
    assert.match(hub.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it('refuses a registry client without a certificate', async () => {
    const registry = new HubRegistry({
      url: hub.url,
      tls: { caFile: orders.caFile },
      requestTimeoutMs: 3000,
    });
    try {
      await assert.rejects(registry.register(instance), RegistryError);
      assert.equal(hub.registry.size, 0);
    } finally {
      await registry.close();
    }
  });

  it('registers a service that shows its certificate', async () => {
    const registry = new HubRegistry({ url: hub.url, tls: orders });
    try {
      const lease = await registry.register(instance);
      assert.ok(hub.registry.get('shop.Orders', 'o-1'));
      assert.deepEqual(
        (await registry.list('shop.Orders')).map((i) => i.id),
        ['o-1'],
      );
      await lease.deregister();
    } finally {
      await registry.close();
    }
  });

  it('serves its broker port over mutual TLS only', async () => {
    const broker = await HubBroker.fromHub(hub.url, { tls: orders, publishTimeoutMs: 3000 });
    // The same broker port, from a client without a certificate.
    const anonymous = new HubBroker({
      target: hub.brokerTarget!,
      tls: { caFile: orders.caFile },
      publishTimeoutMs: 500,
    });
    try {
      const receipt = await broker.publish('orders.created', { payload: new Uint8Array([1]) });
      assert.ok(receipt);
      await assert.rejects(anonymous.publish('orders.created', { payload: new Uint8Array([2]) }));
    } finally {
      await broker.close();
      await anonymous.close();
    }
  });
});
