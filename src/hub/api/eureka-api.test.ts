import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type EurekaHub, errorOf, startEurekaHub } from '../../../test/support/eureka-hub.ts';
import { sleep, waitFor } from '../../../test/support/wait.ts';
import type { EurekaApplications, EurekaInstance } from '../../discovery/eureka/wire.ts';

describe('hub Eureka API', () => {
  let eureka: EurekaHub;
  let hub: EurekaHub['hub'];
  let call: EurekaHub['call'];
  let register: EurekaHub['register'];

  before(async () => {
    eureka = await startEurekaHub({ retentionMs: 1500, maxItems: 50 });
    ({ hub, call, register } = eureka);
  });
  after(() => eureka.hub.close());

  describe('registration and queries', () => {
    it('registers (204), heartbeats (200), answers and deregisters (200) under both prefixes', async () => {
      for (const prefix of ['/eureka', '/eureka/v2']) {
        const id = `orders-1${prefix.length}`;
        assert.equal((await register('ORDERS', id, {}, prefix)).status, 204);
        assert.equal((await call('PUT', `${prefix}/apps/ORDERS/${id}`)).status, 200);
        const one = await call('GET', `${prefix}/apps/orders/${id}`);
        assert.equal(one.status, 200);
        const inst = (one.body as { instance: EurekaInstance }).instance;
        assert.equal(inst.app, 'ORDERS');
        assert.equal(inst.status, 'UP');
        assert.deepEqual(inst.port, { $: 8080, '@enabled': 'true' });
        assert.deepEqual(inst.metadata, { 'management.port': '8081', zone: 'zone-b' });
        assert.equal(inst.healthCheckUrl, 'http://10.0.0.7:8080/actuator/health');
        assert.equal(inst.leaseInfo.durationInSecs, 90);
        assert.equal(typeof inst.lastUpdatedTimestamp, 'string');
        const viaId = await call('GET', `${prefix}/instances/${id}`);
        assert.deepEqual((viaId.body as { instance: EurekaInstance }).instance.instanceId, id);
        assert.equal((await call('DELETE', `${prefix}/apps/ORDERS/${id}`)).status, 200);
        assert.equal((await call('GET', `${prefix}/apps/ORDERS/${id}`)).status, 404);
        assert.equal((await call('PUT', `${prefix}/apps/ORDERS/${id}`)).status, 404);
        assert.equal((await call('DELETE', `${prefix}/apps/ORDERS/${id}`)).status, 404);
      }
    });

    it('stores a Java app as a service with http at ipAddr:port and zone from metadata', async () => {
      await register('PAYMENTS', 'pay-1');
      try {
        const [listed] = hub.registry.list('PAYMENTS');
        assert.deepEqual(listed, {
          service: 'PAYMENTS',
          id: 'pay-1',
          endpoints: [{ transport: 'http', host: '10.0.0.7', port: 8080 }],
          zone: 'zone-b',
          metadata: { 'management.port': '8081' },
        });
      } finally {
        await call('DELETE', '/eureka/apps/PAYMENTS/pay-1');
      }
    });

    it('answers the full registry, one app and a vip address in Eureka shapes', async () => {
      await register('CATALOG', 'cat-1');
      await register('CATALOG', 'cat-2', { status: 'STARTING' });
      try {
        const all = (await call('GET', '/eureka/apps/')).body as EurekaApplications;
        const catalog = all.applications.application.find((a) => a.name === 'CATALOG');
        assert.deepEqual(catalog?.instance.map((i) => [i.instanceId, i.status]).sort(), [
          ['cat-1', 'UP'],
          ['cat-2', 'STARTING'],
        ]);
        assert.match(all.applications.apps__hashcode, /STARTING_1_.*UP_\d+_/);
        const app = (await call('GET', '/eureka/apps/catalog')).body as {
          application: { name: string; instance: unknown[] };
        };
        assert.equal(app.application.name, 'CATALOG');
        assert.equal(app.application.instance.length, 2);
        const vip = (await call('GET', '/eureka/vips/catalog')).body as EurekaApplications;
        assert.equal(vip.applications.application[0]?.instance.length, 2);
        assert.equal((await call('GET', '/eureka/vips/nothing')).status, 404);
        // Only UP is live for Switchboard callers.
        assert.deepEqual(
          hub.registry.list('CATALOG').map((i) => i.id),
          ['cat-1'],
        );
      } finally {
        await call('DELETE', '/eureka/apps/CATALOG/cat-1');
        await call('DELETE', '/eureka/apps/CATALOG/cat-2');
      }
      assert.equal((await call('GET', '/eureka/apps/CATALOG')).status, 404);
    });

    it('shows instances registered through other APIs, with their exact name in metadata', async () => {
      hub.registry.upsert(
        {
          service: 'greet.Greeter',
          id: 'native-1',
          endpoints: [
            { transport: 'native', host: '127.0.0.1', port: 50052 },
            { transport: 'http', host: '127.0.0.1', port: 8080 },
          ],
          version: '2.0.0',
          metadata: { team: 'greeters' },
        },
        10_000,
      );
      try {
        const inst = (
          (await call('GET', '/eureka/apps/GREET.GREETER/native-1')).body as { instance: EurekaInstance }
        ).instance;
        assert.equal(inst.app, 'GREET.GREETER');
        assert.equal(inst.hostName, '127.0.0.1');
        assert.deepEqual(inst.port, { $: 8080, '@enabled': 'true' });
        assert.deepEqual(inst.metadata, {
          team: 'greeters',
          version: '2.0.0',
          'switchboard-service': 'greet.Greeter',
          'switchboard-endpoints': 'native://127.0.0.1:50052 http://127.0.0.1:8080',
        });
        assert.equal(inst.vipAddress, 'greet.Greeter');
      } finally {
        hub.registry.remove('greet.Greeter', 'native-1');
      }
    });

    it('keeps the name an instance has when it re-registers with another spelling', async () => {
      await register('inventory', 'inv-1');
      await register('INVENTORY', 'inv-1', { ipAddr: '10.0.0.9' });
      try {
        assert.deepEqual(
          hub.registry.services().filter((s) => s.toUpperCase() === 'INVENTORY'),
          ['inventory'],
        );
        assert.equal(hub.registry.list('inventory')[0]?.endpoints[0]?.host, '10.0.0.9');
      } finally {
        await call('DELETE', '/eureka/apps/INVENTORY/inv-1');
      }
    });

    it('answers 404 for unknown apps, instances and paths, 405 for a wrong method', async () => {
      assert.equal((await call('GET', '/eureka/apps/NOPE')).status, 404);
      assert.equal((await call('GET', '/eureka/apps/NOPE/x')).status, 404);
      assert.equal((await call('GET', '/eureka/instances/nope')).status, 404);
      assert.equal((await call('GET', '/eureka/peers')).status, 404);
      assert.equal((await call('GET', '/eureka/apps/A/b/c/d')).status, 404);
      const wrong = await call('POST', '/eureka/apps/');
      assert.equal(wrong.status, 405);
      assert.match(errorOf(wrong), /use GET/);
      assert.equal((await call('PATCH', '/eureka/apps/ORDERS/x')).status, 405);
      // Not Eureka's: left to other APIs.
      assert.equal((await call('GET', '/eurekax/apps')).status, 404);
    });
  });

  describe('status and metadata', () => {
    it('takes an instance out of service and back, the override outliving re-registration', async () => {
      await register('ORDERS', 'st-1');
      try {
        assert.equal((await call('PUT', '/eureka/apps/ORDERS/st-1/status?value=OUT_OF_SERVICE')).status, 200);
        const out = (await call('GET', '/eureka/apps/ORDERS/st-1')).body as { instance: EurekaInstance };
        assert.equal(out.instance.status, 'OUT_OF_SERVICE');
        assert.equal(out.instance.overriddenStatus, 'OUT_OF_SERVICE');
        assert.equal(hub.registry.list('ORDERS').length, 0);
        // Heartbeats and re-registration do not undo an override.
        await call('PUT', '/eureka/apps/ORDERS/st-1?status=UP');
        await register('ORDERS', 'st-1');
        assert.equal(hub.registry.list('ORDERS').length, 0);
        assert.equal((await call('DELETE', '/eureka/apps/ORDERS/st-1/status?value=UP')).status, 200);
        const back = (await call('GET', '/eureka/apps/ORDERS/st-1')).body as { instance: EurekaInstance };
        assert.equal(back.instance.status, 'UP');
        assert.equal(back.instance.overriddenStatus, 'UNKNOWN');
        assert.equal(hub.registry.list('ORDERS').length, 1);
      } finally {
        await call('DELETE', '/eureka/apps/ORDERS/st-1');
      }
    });

    it('keeps an instance of another API out of service when that API heartbeats', async () => {
      hub.registry.upsert(
        { service: 'other', id: 'o-1', endpoints: [{ transport: 'grpc', host: 'h', port: 1 }], metadata: {} },
        10_000,
      );
      try {
        assert.equal((await call('PUT', '/eureka/apps/OTHER/o-1/status?value=OUT_OF_SERVICE')).status, 200);
        assert.equal(hub.registry.list('other').length, 0);
        hub.registry.renew('other', 'o-1', 'passing');
        await sleep(10);
        assert.equal(hub.registry.list('other').length, 0);
        assert.equal(hub.registry.get('other', 'o-1')?.output, 'Eureka status OUT_OF_SERVICE');
        await call('DELETE', '/eureka/apps/OTHER/o-1/status');
        assert.equal(hub.registry.list('other').length, 1);
      } finally {
        hub.registry.remove('other', 'o-1');
      }
    });

    it('honours the status a heartbeat reports, and asks a client with newer data to re-register', async () => {
      await register('ORDERS', 'hb-1');
      try {
        await call('PUT', '/eureka/apps/ORDERS/hb-1?status=DOWN&lastDirtyTimestamp=1000');
        assert.equal(hub.registry.list('ORDERS').length, 0);
        await call('PUT', '/eureka/apps/ORDERS/hb-1?status=UP');
        assert.equal(hub.registry.list('ORDERS').length, 1);
        const stale = await call('PUT', '/eureka/apps/ORDERS/hb-1?status=UP&lastDirtyTimestamp=2000');
        assert.equal(stale.status, 404);
        assert.match(errorOf(stale), /register again/);
      } finally {
        await call('DELETE', '/eureka/apps/ORDERS/hb-1');
      }
    });

    it('updates metadata, keeping the instance live', async () => {
      await register('ORDERS', 'md-1');
      try {
        assert.equal(
          (await call('PUT', '/eureka/apps/ORDERS/md-1/metadata?weight=5&zone=zone-c')).status,
          200,
        );
        const [listed] = hub.registry.list('ORDERS');
        assert.equal(listed?.metadata.weight, '5');
        assert.equal(listed?.zone, 'zone-c');
        const inst = ((await call('GET', '/eureka/apps/ORDERS/md-1')).body as { instance: EurekaInstance })
          .instance;
        assert.equal(inst.metadata.weight, '5');
        assert.equal(inst.healthCheckUrl, 'http://10.0.0.7:8080/actuator/health');
      } finally {
        await call('DELETE', '/eureka/apps/ORDERS/md-1');
      }
    });
  });

  describe('leases and deltas', () => {
    it('expires an instance whose heartbeats stop, within its lease', async () => {
      await register('SHORT', 'sh-1', { leaseInfo: { renewalIntervalInSecs: 1, durationInSecs: 1 } });
      assert.equal(hub.registry.list('SHORT').length, 1);
      await sleep(600);
      assert.equal((await call('PUT', '/eureka/apps/SHORT/sh-1')).status, 200);
      await sleep(600);
      assert.equal(hub.registry.list('SHORT').length, 1, 'the heartbeat kept it');
      await waitFor(() => hub.registry.list('SHORT').length === 0, 1000);
      assert.equal((await call('PUT', '/eureka/apps/SHORT/sh-1')).status, 404);
    });

    async function delta(): Promise<EurekaApplications> {
      return (await call('GET', '/eureka/v2/apps/delta')).body as EurekaApplications;
    }
    function actions(body: EurekaApplications, app: string): string[] {
      const found = body.applications.application.find((a) => a.name === app);
      return (found?.instance ?? []).map((i) => `${i.instanceId}:${i.actionType}`).sort();
    }

    it('reports ADDED, MODIFIED and DELETED once each, with the full registry hash code', async () => {
      await register('DELTA', 'd-1');
      await register('DELTA', 'd-2');
      await register('DELTA', 'd-3');
      assert.deepEqual(actions(await delta(), 'DELTA'), ['d-1:ADDED', 'd-2:ADDED', 'd-3:ADDED']);
      await call('PUT', '/eureka/apps/DELTA/d-2/status?value=OUT_OF_SERVICE');
      await call('DELETE', '/eureka/apps/DELTA/d-3');
      const body = await delta();
      assert.deepEqual(actions(body, 'DELTA'), ['d-1:ADDED', 'd-2:MODIFIED', 'd-3:DELETED']);
      const d2 = body.applications.application
        .find((a) => a.name === 'DELTA')
        ?.instance.find((i) => i.instanceId === 'd-2');
      assert.equal(d2?.status, 'OUT_OF_SERVICE');
      const full = (await call('GET', '/eureka/apps')).body as EurekaApplications;
      assert.equal(body.applications.apps__hashcode, full.applications.apps__hashcode);
      assert.match(full.applications.apps__hashcode, /^OUT_OF_SERVICE_1_UP_\d+_$/);
      assert.ok(Number(body.applications.versions__delta) > 0);
      // A heartbeat changes nothing a client must learn.
      const before = body.applications.versions__delta;
      await call('PUT', '/eureka/apps/DELTA/d-1');
      assert.equal((await delta()).applications.versions__delta, before);
      await call('DELETE', '/eureka/apps/DELTA/d-1');
      await call('DELETE', '/eureka/apps/DELTA/d-2');
    });

    it('reports an expired instance as DELETED, and forgets changes after the window', async () => {
      await register('EXPIRY', 'e-1', { leaseInfo: { durationInSecs: 1 } });
      await waitFor(async () => actions(await delta(), 'EXPIRY').includes('e-1:DELETED'), 2000);
      await waitFor(async () => actions(await delta(), 'EXPIRY').length === 0, 2500);
    });

    it('keeps at most maxItems changes', async () => {
      for (let i = 0; i < 60; i++)
        hub.registry.upsert(
          {
            service: 'burst',
            id: `b-${i}`,
            endpoints: [{ transport: 'grpc', host: 'h', port: 1 }],
            metadata: {},
          },
          60_000,
        );
      try {
        const body = await delta();
        const count = body.applications.application.reduce((n, a) => n + a.instance.length, 0);
        assert.ok(count <= 50, `${count} changes`);
        assert.ok(actions(body, 'BURST').includes('b-59:ADDED'));
        assert.ok(!actions(body, 'BURST').includes('b-0:ADDED'));
      } finally {
        for (let i = 0; i < 60; i++) hub.registry.remove('burst', `b-${i}`);
      }
    });
  });
});
