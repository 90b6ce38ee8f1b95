import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { ServiceInstance } from '../instance.ts';
import { detailsFor, readEurekaInstance, writeEurekaInstance } from './mapping.ts';
import { readApplications, reconcileHashCode } from './wire.ts';

const state = { status: 'UP' as const, registeredAt: 1, renewedAt: 2, updatedAt: 3, dirtyAt: 4 };

it('round-trips every kind of instance through the Eureka shape', () => {
  const instances: ServiceInstance[] = [
    {
      service: 'greet.Greeter',
      id: 'a',
      endpoints: [
        { transport: 'grpc', host: '10.0.0.1', port: 50051 },
        { transport: 'http', host: '10.0.0.1', port: 8080, tls: true },
      ],
      version: '1',
      zone: 'z',
      metadata: { k: 'v' },
    },
    { service: 'ORDERS', id: 'b', endpoints: [{ transport: 'http', host: '::1', port: 80 }], metadata: {} },
    {
      service: 'web',
      id: 'c',
      endpoints: [
        { transport: 'http', host: 'h', port: 80 },
        { transport: 'http', host: 'h', port: 443, tls: true },
      ],
      metadata: {},
    },
  ];
  for (const instance of instances) {
    const written = writeEurekaInstance(instance, detailsFor(instance, 30_000), state);
    assert.equal(written.app, instance.service.toUpperCase());
    assert.equal(written.leaseInfo.durationInSecs, 30);
    const json = JSON.parse(JSON.stringify(written));
    assert.deepEqual(readEurekaInstance(json).instance, instance);
  }
});

it('writes only what the ports cannot say', () => {
  const plain: ServiceInstance = {
    service: 'ORDERS',
    id: 'o',
    endpoints: [{ transport: 'http', host: '10.0.0.2', port: 8080 }],
    metadata: {},
  };
  const written = writeEurekaInstance(plain, detailsFor(plain, 90_000), state);
  assert.deepEqual(written.metadata, {});
  assert.deepEqual(written.port, { $: 8080, '@enabled': 'true' });
  assert.deepEqual(written.securePort, { $: 443, '@enabled': 'false' });
  assert.equal(written.homePageUrl, 'http://10.0.0.2:8080/');
  assert.equal(written.lastDirtyTimestamp, '4');
  assert.equal(written.isCoordinatingDiscoveryServer, 'false');
});

it('reads liberally: strings for numbers, @class in metadata, the AWS instance id, defaults', () => {
  const { instance, details } = readEurekaInstance({
    app: 'svc',
    hostName: 'ip-10-0-0-3',
    ipAddr: '10.0.0.3',
    port: '7001',
    securePort: { $: '7002', '@enabled': true },
    dataCenterInfo: { name: 'Amazon', metadata: { 'instance-id': 'i-0abc' } },
    leaseInfo: { durationInSecs: '15' },
    metadata: { '@class': 'java.util.Collections$EmptyMap', n: 5 },
    lastDirtyTimestamp: '1700000000000',
  });
  assert.deepEqual(instance, {
    service: 'svc',
    id: 'i-0abc',
    endpoints: [
      { transport: 'http', host: '10.0.0.3', port: 7001 },
      { transport: 'http', host: '10.0.0.3', port: 7002, tls: true },
    ],
    metadata: { n: '5' },
  });
  assert.equal(details.status, 'UP');
  assert.equal(details.durationInSecs, 15);
  assert.equal(details.lastDirtyTimestamp, 1_700_000_000_000);
});

it('ignores a switchboard-service that names another app', () => {
  const { instance } = readEurekaInstance({
    app: 'ORDERS',
    hostName: 'h',
    ipAddr: '10.0.0.4',
    port: 80,
    metadata: { 'switchboard-service': 'payments' },
  });
  assert.equal(instance.service, 'ORDERS');
});

it('reads single-element lists written as objects', () => {
  const apps = readApplications({
    applications: { application: { name: 'A', instance: { instanceId: 'x' } } },
  });
  assert.deepEqual(apps, [{ name: 'A', instances: [{ instanceId: 'x' }] }]);
  assert.deepEqual(readApplications({ applications: { application: [] } }), []);
  assert.throws(() => readApplications({ apps: [] }), TypeError);
});

it('computes Eureka reconcile hash codes', () => {
  assert.equal(reconcileHashCode(['UP', 'DOWN', 'UP', 'OUT_OF_SERVICE']), 'DOWN_1_OUT_OF_SERVICE_1_UP_2_');
  assert.equal(reconcileHashCode([]), '');
});
