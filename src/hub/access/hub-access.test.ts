/**
 * A hub with an access policy, over real HTTP and its real broker port: every API family asks
 * for a credential (401 with WWW-Authenticate: Bearer), refuses what is not granted (403), and
 * changes nothing when it refuses; lists show only what the caller may read.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../../../test/support/wait.ts';
import { HubBroker } from '../../app/brokers/hub-broker.ts';
import { EjectionReporter } from '../../app/ejection-reporter.ts';
import { HubRegistry } from '../../discovery/hub/registry.ts';
import type { ServiceInstance } from '../../discovery/instance.ts';
import { HubServer } from '../server.ts';
import type { HubAccessConfig } from './policy.ts';

const ORDERS = 'orders-token-0123456789abcdef';
const READER = 'reader-token-0123456789abcdef';
const OPS = 'ops-token-0123456789abcdefghi';

const POLICY: HubAccessConfig = {
  tokens: { [ORDERS]: { name: 'orders' }, [READER]: { name: 'reader' }, [OPS]: { name: 'ops' } },
  grants: [
    { who: 'orders', write: ['shop.v1.Orders', 'orders'], read: 'shop.v1.*', publish: 'shop.orders.*' },
    { who: 'reader', read: 'shop.v1.Orders', subscribe: 'shop.orders.*' },
    { who: 'ops', dashboard: true, read: '*' },
  ],
};

function instance(service: string, id: string): ServiceInstance {
  return { service, id, endpoints: [{ transport: 'grpc', host: '127.0.0.1', port: 50051 }], metadata: {} };
}

interface Answer {
  status: number;
  text: string;
  headers: Headers;
}

describe('hub access policy, enforced on every API', () => {
  let hub: HubServer;
  const call = async (
    method: string,
    path: string,
    init: { token?: string; headers?: Record<string, string>; body?: unknown } = {},
  ): Promise<Answer> => {
    const headers: Record<string, string> = { ...init.headers };
    if (init.token) headers.authorization = `Bearer ${init.token}`;
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${hub.url}${path}`, {
      method,
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: AbortSignal.timeout(5000),
    });
    return { status: res.status, text: await res.text(), headers: res.headers };
  };

  before(async () => {
    hub = new HubServer({ port: 0, access: POLICY });
    await hub.listen();
  });
  after(() => hub.close());

  it('registry API: 401 with a Bearer challenge without a credential, and nothing registered', async () => {
    const body = { instance: instance('shop.v1.Orders', 'o-1'), ttlMs: 10_000 };
    const anonymous = await call('PUT', '/api/v1/instances', { body });
    assert.equal(anonymous.status, 401, anonymous.text);
    assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Bearer realm=/);
    const unknown = await call('PUT', '/api/v1/instances', { body, token: 'not-a-token-of-this-hub' });
    assert.equal(unknown.status, 401);
    assert.match(unknown.headers.get('www-authenticate') ?? '', /invalid_token/);
    const notGranted = await call('PUT', '/api/v1/instances', {
      body: { instance: instance('shop.v1.Payments', 'p-1') },
      token: ORDERS,
    });
    assert.equal(notGranted.status, 403, notGranted.text);
    assert.match(notGranted.text, /orders may not register or deregister instances of shop\.v1\.Payments/);
    const readerWrite = await call('PUT', '/api/v1/instances', { body, token: READER });
    assert.equal(readerWrite.status, 403);
    assert.equal(hub.registry.size, 0, 'no refused request changed the registry');
    const granted = await call('PUT', '/api/v1/instances', { body, token: ORDERS });
    assert.equal(granted.status, 200, granted.text);
    assert.equal(hub.registry.size, 1);
  });

  it('registry API: heartbeat and deregister need write; reads need read; lists show what may be read', async () => {
    hub.registry.upsert(instance('billing.v1.Invoices', 'b-1'), 60_000);
    assert.equal(
      (await call('DELETE', '/api/v1/instances/shop.v1.Orders/o-1', { token: READER })).status,
      403,
    );
    assert.equal((await call('DELETE', '/api/v1/instances/shop.v1.Orders/o-1')).status, 401);
    assert.ok(hub.registry.get('shop.v1.Orders', 'o-1'), 'still registered');
    assert.equal(
      (await call('PUT', '/api/v1/instances/shop.v1.Orders/o-1/heartbeat', { token: ORDERS })).status,
      200,
    );
    assert.equal((await call('GET', '/api/v1/services/shop.v1.Orders', { token: READER })).status, 200);
    assert.equal((await call('GET', '/api/v1/services/billing.v1.Invoices', { token: READER })).status, 403);
    assert.equal((await call('GET', '/api/v1/watch/billing.v1.Invoices', { token: READER })).status, 403);
    assert.equal((await call('GET', '/api/v1/services')).status, 401);
    const list = await call('GET', '/api/v1/services', { token: READER });
    assert.deepEqual(
      (JSON.parse(list.text) as { services: { name: string }[] }).services.map((s) => s.name),
      ['shop.v1.Orders'],
    );
    const all = await call('GET', '/api/v1/services', { token: OPS });
    assert.equal((JSON.parse(all.text) as { services: unknown[] }).services.length, 2);
    hub.registry.remove('billing.v1.Invoices', 'b-1');
  });

  it('HubRegistry carries its token: registers, lists and watches what it is granted, refused otherwise', async () => {
    const registry = new HubRegistry({ url: hub.url, token: ORDERS });
    const anonymous = new HubRegistry({ url: hub.url, token: '' });
    try {
      await registry.register(instance('shop.v1.Orders', 'o-2'), { ttlMs: 10_000 });
      assert.equal((await registry.list('shop.v1.Orders')).length, 2);
      await assert.rejects(registry.register(instance('shop.v1.Payments', 'p-2')), /403|may not/);
      await assert.rejects(anonymous.list('shop.v1.Orders'), /401|credential/);
      const seen = await new Promise<number>((resolve, reject) => {
        const watch = registry.watch(
          'shop.v1.Orders',
          (list) => {
            watch.close();
            resolve(list.length);
          },
          reject,
        );
      });
      assert.equal(seen, 2);
    } finally {
      await registry.close();
      await anonymous.close();
    }
    assert.equal(hub.registry.get('shop.v1.Orders', 'o-2'), undefined, 'close() deregistered with the token');
  });

  it('Consul API: Authorization, X-Consul-Token or ?token=; catalog shows what may be read', async () => {
    const body = { ID: 'c-1', Name: 'shop.v1.Orders', Port: 9000 };
    assert.equal((await call('PUT', '/v1/agent/service/register', { body })).status, 401);
    assert.equal(hub.registry.get('shop.v1.Orders', 'c-1'), undefined);
    const refused = await call('PUT', '/v1/agent/service/register', {
      body: { ...body, Name: 'shop.v1.Payments' },
      headers: { 'x-consul-token': ORDERS },
    });
    assert.equal(refused.status, 403);
    assert.equal(hub.registry.get('shop.v1.Payments', 'c-1'), undefined);
    const viaHeader = await call('PUT', '/v1/agent/service/register', {
      body,
      headers: { 'x-consul-token': ORDERS },
    });
    assert.equal(viaHeader.status, 200, viaHeader.text);
    assert.ok(hub.registry.get('shop.v1.Orders', 'c-1'));
    assert.equal((await call('PUT', '/v1/agent/service/deregister/c-1', { token: READER })).status, 403);
    assert.ok(hub.registry.get('shop.v1.Orders', 'c-1'), 'a refused deregister leaves it');
    hub.registry.upsert(instance('billing.v1.Invoices', 'b-2'), 60_000);
    const catalog = await call('GET', `/v1/catalog/services?token=${READER}`);
    assert.deepEqual(Object.keys(JSON.parse(catalog.text)), ['shop.v1.Orders']);
    assert.equal((await call('GET', `/v1/health/service/billing.v1.Invoices?token=${READER}`)).status, 403);
    assert.equal((await call('PUT', `/v1/agent/service/deregister/c-1?token=${ORDERS}`)).status, 200);
    assert.equal(hub.registry.get('shop.v1.Orders', 'c-1'), undefined);
    hub.registry.remove('billing.v1.Invoices', 'b-2');
  });

  it('python-consul with a token registers what it may; without one it is refused and nothing changes', async () => {
    const { hostname, port } = new URL(hub.url);
    // python-consul 0.7 sends its token as ?token= on every request.
    const script = [
      'import consul, sys, json',
      'c = consul.Consul(host=sys.argv[1], port=int(sys.argv[2]), token=sys.argv[3] or None)',
      'try:',
      '    c.agent.service.register(sys.argv[4], service_id="py-1", port=9000)',
      '    print(json.dumps({"ok": True, "services": sorted(c.catalog.services()[1].keys())}))',
      'except consul.ConsulException as e:',
      '    print(json.dumps({"ok": False, "error": type(e).__name__ + ": " + str(e)}))',
    ].join('\n');
    const python = (token: string, service: string) =>
      new Promise<{ ok: boolean; services?: string[]; error?: string }>((resolve, reject) => {
        execFile(
          '/usr/bin/python3',
          ['-c', script, hostname, port, token, service],
          { timeout: 20_000 },
          (err, out, stderr) => (err ? reject(new Error(stderr || err.message)) : resolve(JSON.parse(out))),
        );
      });
    const anonymous = await python('', 'shop.v1.Orders');
    assert.equal(anonymous.ok, false);
    assert.match(anonymous.error ?? '', /needs a credential/);
    const refused = await python(READER, 'shop.v1.Orders');
    assert.equal(refused.ok, false);
    assert.match(refused.error ?? '', /^ACLPermissionDenied: reader may not register/);
    assert.equal(hub.registry.findById('py-1'), undefined);
    const granted = await python(ORDERS, 'shop.v1.Orders');
    assert.deepEqual(granted, { ok: true, services: ['shop.v1.Orders'] });
    assert.equal(hub.registry.get('shop.v1.Orders', 'py-1')?.instance.endpoints[0]?.port, 9000);
    hub.registry.remove('shop.v1.Orders', 'py-1');
  });

  it('Eureka API: writes need write on the app, reads are filtered; Basic auth carries the token', async () => {
    const eurekaInstance = {
      instance: {
        app: 'SHOP.V1.ORDERS',
        instanceId: 'e-1',
        hostName: 'localhost',
        ipAddr: '127.0.0.1',
        port: { $: 8080, '@enabled': 'true' },
        status: 'UP',
        dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
      },
    };
    const basic = (token: string) => ({
      authorization: `Basic ${Buffer.from(`svc:${token}`).toString('base64')}`,
    });
    assert.equal((await call('POST', '/eureka/apps/SHOP.V1.ORDERS', { body: eurekaInstance })).status, 401);
    const readerPost = await call('POST', '/eureka/apps/SHOP.V1.ORDERS', {
      body: eurekaInstance,
      headers: basic(READER),
    });
    assert.equal(readerPost.status, 403);
    assert.equal(hub.registry.findById('e-1'), undefined);
    const posted = await call('POST', '/eureka/apps/SHOP.V1.ORDERS', {
      body: eurekaInstance,
      headers: basic(ORDERS),
    });
    assert.equal(posted.status, 204, posted.text);
    const service = hub.registry.findById('e-1')?.instance.service;
    assert.ok(service);
    assert.equal(
      (await call('DELETE', '/eureka/apps/SHOP.V1.ORDERS/e-1', { headers: basic(READER) })).status,
      403,
    );
    assert.ok(hub.registry.findById('e-1'));
    hub.registry.upsert(instance('billing.v1.Invoices', 'b-3'), 60_000);
    const apps = await call('GET', '/eureka/apps', {
      headers: { ...basic(READER), accept: 'application/json' },
    });
    const names = (
      JSON.parse(apps.text) as { applications: { application: { name: string }[] } }
    ).applications.application.map((a) => a.name);
    assert.ok(!names.includes('BILLING.V1.INVOICES'), `reader sees ${names}`);
    assert.equal(
      (await call('GET', '/eureka/apps/BILLING.V1.INVOICES', { headers: basic(READER) })).status,
      403,
    );
    assert.equal(
      (await call('DELETE', '/eureka/apps/SHOP.V1.ORDERS/e-1', { headers: basic(ORDERS) })).status,
      200,
    );
    hub.registry.remove('billing.v1.Invoices', 'b-3');
  });

  it('dashboard, its data, traces and /metrics need the dashboard grant; spans need write on their service', async () => {
    for (const path of ['/', '/metrics', '/api/v1/dashboard/snapshot', '/api/v1/traces']) {
      assert.equal((await call('GET', path)).status, 401, path);
      assert.equal((await call('GET', path, { token: ORDERS })).status, 403, path);
      assert.equal((await call('GET', path, { token: OPS })).status, 200, path);
    }
    const spans = (service: string) => ({
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
          scopeSpans: [
            {
              spans: [
                {
                  traceId: '0af7651916cd43dd8448eb211c80319c',
                  spanId: 'b7ad6b7169203331',
                  name: 'GetOrder',
                  kind: 2,
                  startTimeUnixNano: '1000000',
                  endTimeUnixNano: '2000000',
                },
              ],
            },
          ],
        },
      ],
    });
    assert.equal((await call('POST', '/v1/traces', { body: spans('orders') })).status, 401);
    assert.equal((await call('POST', '/v1/traces', { body: spans('payments'), token: ORDERS })).status, 403);
    assert.equal(hub.telemetry.traces.size, 0, 'refused spans are not kept');
    const accepted = await call('POST', '/v1/traces', { body: spans('orders'), token: ORDERS });
    assert.equal(accepted.status, 200, accepted.text);
    assert.equal(hub.telemetry.traces.size, 1);
    assert.equal((await call('GET', '/healthz')).status, 200, 'liveness stays open');
  });

  it('EjectionReporter carries its token: reports in its own name land, others are refused', async () => {
    const errors: Error[] = [];
    const granted = new EjectionReporter({ hubUrl: hub.url, by: 'orders', token: ORDERS });
    const refused = new EjectionReporter({
      hubUrl: hub.url,
      by: 'payments',
      token: ORDERS,
      onError: (err) => errors.push(err),
    });
    try {
      granted.ejected({ service: 'shop.v1.Orders', instance: 'x-1' });
      refused.ejected({ service: 'shop.v1.Orders', instance: 'x-2' });
      await waitFor(() => hub.telemetry.ejections.isEjected('x-1') && errors.length > 0);
      assert.ok(hub.telemetry.ejections.isEjected('x-1'));
      assert.ok(!hub.telemetry.ejections.isEjected('x-2'));
      assert.match(String(errors[0]?.message), /403/);
    } finally {
      await Promise.all([granted.close(), refused.close()]);
    }
  });

  it('broker port: publish and consume need the grant on the topic; the token travels as metadata', async () => {
    const publisher = await HubBroker.fromHub(hub.url, { token: ORDERS, publishTimeoutMs: 2000 });
    const reader = await HubBroker.fromHub(hub.url, { token: READER, publishTimeoutMs: 2000 });
    const anonymous = new HubBroker({
      target: hub.brokerTarget as string,
      token: '',
      publishTimeoutMs: 2000,
    });
    try {
      await assert.rejects(HubBroker.fromHub(hub.url, { token: '' }), /401/);
      const payload = new TextEncoder().encode('hello');
      const receipt = await publisher.publish('shop.orders.created', { headers: {}, payload });
      assert.ok(receipt.id);
      await assert.rejects(
        publisher.publish('billing.invoices', { headers: {}, payload }),
        /orders may not publish to billing\.invoices/,
      );
      await assert.rejects(
        anonymous.publish('shop.orders.created', { headers: {}, payload }),
        /needs a credential to publish/,
      );
      await assert.rejects(
        publisher.subscribe('shop.orders.created', async () => {}, { group: 'g' }),
        (err: Error) => /may not consume/.test(err.message),
      );
      const got = new Promise<string>((resolve) => {
        void reader.subscribe(
          'shop.orders.created',
          async (delivery) => resolve(new TextDecoder().decode(delivery.payload)),
          { group: 'g', startAt: 'earliest' },
        );
      });
      assert.equal(await got, 'hello');
    } finally {
      await Promise.all([publisher.close(), reader.close(), anonymous.close()]);
    }
  });
});
