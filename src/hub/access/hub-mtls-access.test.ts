/**
 * A hub served over mutual TLS with an access policy: the client certificate's identity is the
 * caller on the HTTP port and on the broker port, with no token; a certificate the policy does
 * not grant gets 403 / PERMISSION_DENIED, no certificate 401, and nothing changes on refusal.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HubBroker } from '../../app/brokers/hub-broker.ts';
import { createDevCa, type IssuedCert, issueDevCert } from '../../cli/dev-certs.ts';
import { HubServer } from '../server.ts';

describe('hub access by client certificate', () => {
  let dir: string;
  let hub: HubServer;
  let orders: IssuedCert;
  let billing: IssuedCert;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'sb-hub-mtls-'));
    await createDevCa({ dir, trustDomain: 'test.local' });
    const own = await issueDevCert({ dir, service: 'hub' });
    orders = await issueDevCert({ dir, service: 'orders' });
    billing = await issueDevCert({ dir, service: 'billing' });
    hub = new HubServer({
      port: 0,
      // Certificates are asked for and verified, not required: callers without one get 401.
      tls: { certFile: own.certFile, keyFile: own.keyFile, caFile: own.caFile, requireClientCert: false },
      access: {
        grants: [
          { who: 'spiffe://test.local/service/orders', write: 'shop.v1.Orders', publish: 'shop.orders.*' },
          { who: 'billing', read: '*' },
        ],
      },
    });
    await hub.listen();
  });
  after(async () => {
    await hub.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const register = (cert: IssuedCert | undefined, service: string) =>
    new Promise<number>((resolve, reject) => {
      const { port } = new URL(hub.url);
      const body = JSON.stringify({
        instance: {
          service,
          id: 'i-1',
          endpoints: [{ transport: 'grpc', host: '127.0.0.1', port: 1 }],
          metadata: {},
        },
      });
      const req = https.request(
        {
          host: '127.0.0.1',
          port,
          method: 'PUT',
          path: '/api/v1/instances',
          headers: { 'content-type': 'application/json' },
          ca: readFileSync(orders.caFile),
          ...(cert ? { cert: readFileSync(cert.certFile), key: readFileSync(cert.keyFile) } : {}),
          timeout: 5000,
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.once('error', reject);
      req.end(body);
    });

  it('HTTP: the certificate is the caller; others are refused and nothing is registered', async () => {
    assert.equal(await register(undefined, 'shop.v1.Orders'), 401);
    assert.equal(await register(billing, 'shop.v1.Orders'), 403, 'billing may read, not write');
    assert.equal(await register(orders, 'shop.v1.Payments'), 403);
    assert.equal(hub.registry.size, 0);
    assert.equal(await register(orders, 'shop.v1.Orders'), 200);
    assert.ok(hub.registry.get('shop.v1.Orders', 'i-1'));
  });

  it('broker port: the certificate is the caller', async () => {
    const files = (cert: IssuedCert) => ({
      caFile: cert.caFile,
      certFile: cert.certFile,
      keyFile: cert.keyFile,
    });
    const target = hub.brokerTarget as string;
    const publisher = new HubBroker({ target, tls: files(orders), token: '', publishTimeoutMs: 3000 });
    const other = new HubBroker({ target, tls: files(billing), token: '', publishTimeoutMs: 3000 });
    try {
      const payload = new TextEncoder().encode('x');
      assert.ok((await publisher.publish('shop.orders.created', { headers: {}, payload })).id);
      await assert.rejects(
        other.publish('shop.orders.created', { headers: {}, payload }),
        /spiffe:\/\/test\.local\/service\/billing may not publish to shop\.orders\.created/,
      );
    } finally {
      await Promise.all([publisher.close(), other.close()]);
    }
  });
});
