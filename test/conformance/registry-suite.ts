/**
 * The conformance suite every registry backend passes against its real server: the same
 * registrations, the same assertions, through the Registry interface only.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Registry, ServiceInstance } from '../../src/discovery/index.ts';
import { sleep, waitFor } from '../support/wait.ts';

export interface RegistryUnderTest {
  name: string;
  /** A new client of the backend; the suite closes it. Several may exist at once. */
  registry(): Promise<Registry>;
  /** The shortest lease the backend honours (ZooKeeper's session timeout, etcd's minimum TTL). */
  shortTtlMs: number;
  /** How long after a lease expires the backend may still list the instance. */
  expirySlackMs: number;
  /** Set when the suite must be skipped (a missing server outside CI). */
  skip?: string | false;
}

let serial = 0;

/** A unique service name per test, so backends that keep state between runs cannot confuse it. */
function serviceName(prefix: string): string {
  return `${prefix}.S${Date.now().toString(36)}${(serial++).toString(36)}`;
}

function instance(service: string, overrides: Partial<ServiceInstance> = {}): ServiceInstance {
  return {
    service,
    id: `i-${randomUUID().slice(0, 8)}`,
    endpoints: [
      { transport: 'grpc', host: '127.0.0.1', port: 50051 },
      { transport: 'native', host: '127.0.0.1', port: 50052 },
      { transport: 'http', host: '127.0.0.1', port: 8080 },
    ],
    version: '1.2.3',
    zone: 'zone-a',
    metadata: { team: 'greeters', 'weight.hint': '10' },
    ...overrides,
  };
}

function ids(list: readonly ServiceInstance[]): string[] {
  return list.map((i) => i.id).sort();
}

export function registryConformance(t: RegistryUnderTest): void {
  describe(`${t.name} registry conformance`, { skip: t.skip }, () => {
    let registry: Registry;
    let observer: Registry;
    const opened: Registry[] = [];

    before(async () => {
      registry = await t.registry();
      observer = await t.registry();
      opened.push(registry, observer);
    });
    after(async () => {
      await Promise.all(opened.map((r) => r.close()));
    });

    it('lists a registered instance with endpoints, version, zone and metadata intact', async () => {
      const svc = serviceName('conf.Intact');
      const inst = instance(svc);
      const lease = await registry.register(inst);
      try {
        await waitFor(async () => (await observer.list(svc)).length === 1);
        const [listed] = await observer.list(svc);
        assert.deepEqual(listed, inst);
      } finally {
        await lease.deregister();
      }
    });

    it('lists several instances of one service and keeps services apart', async () => {
      const a = serviceName('conf.A');
      const b = serviceName('conf.B');
      const leases = await Promise.all([
        registry.register(instance(a, { id: 'a-1' })),
        registry.register(instance(a, { id: 'a-2' })),
        registry.register(instance(b, { id: 'b-1' })),
      ]);
      try {
        await waitFor(async () => (await observer.list(a)).length === 2);
        assert.deepEqual(ids(await observer.list(a)), ['a-1', 'a-2']);
        assert.deepEqual(ids(await observer.list(b)), ['b-1']);
        const names = await observer.services();
        assert.ok(
          names.includes(a) && names.includes(b),
          `services() lacks ${a} or ${b}: ${names.join(', ')}`,
        );
      } finally {
        await Promise.all(leases.map((l) => l.deregister()));
      }
    });

    it('answers [] for an unknown service', async () => {
      assert.deepEqual(await observer.list(serviceName('conf.Unknown')), []);
    });

    it('forgets a deregistered instance, and deregistering twice is harmless', async () => {
      const svc = serviceName('conf.Dereg');
      const lease = await registry.register(instance(svc));
      await waitFor(async () => (await observer.list(svc)).length === 1);
      await lease.deregister();
      await lease.deregister();
      await waitFor(async () => (await observer.list(svc)).length === 0);
      assert.ok(!(await observer.services()).includes(svc));
    });

    it('keeps a heartbeating instance past its ttl', async () => {
      const svc = serviceName('conf.Alive');
      const lease = await registry.register(instance(svc), { ttlMs: t.shortTtlMs });
      try {
        await sleep(t.shortTtlMs * 2 + t.expirySlackMs);
        assert.equal((await observer.list(svc)).length, 1);
      } finally {
        await lease.deregister();
      }
    });

    it('drops an instance whose heartbeats stop, within its lease', async () => {
      const svc = serviceName('conf.Dead');
      const lease = await registry.register(instance(svc), { ttlMs: t.shortTtlMs });
      await waitFor(async () => (await observer.list(svc)).length === 1);
      const stopped = Date.now();
      lease.abandon();
      await waitFor(
        async () => (await observer.list(svc)).length === 0,
        t.shortTtlMs + t.expirySlackMs + 2000,
      );
      const gone = Date.now() - stopped;
      assert.ok(gone <= t.shortTtlMs + t.expirySlackMs + 1000, `gone after ${gone} ms`);
    });

    it('pushes the current list to a watcher, then every change', async () => {
      const svc = serviceName('conf.Watch');
      const pushes: string[][] = [];
      const watch = observer.watch(svc, (list) => pushes.push(ids(list)));
      try {
        await waitFor(() => pushes.length >= 1);
        assert.deepEqual(pushes[0], []);
        const one = await registry.register(instance(svc, { id: 'w-1' }));
        await waitFor(() => JSON.stringify(pushes.at(-1)) === '["w-1"]');
        const two = await registry.register(instance(svc, { id: 'w-2' }));
        await waitFor(() => JSON.stringify(pushes.at(-1)) === '["w-1","w-2"]');
        await one.deregister();
        await waitFor(() => JSON.stringify(pushes.at(-1)) === '["w-2"]');
        await two.deregister();
        await waitFor(() => JSON.stringify(pushes.at(-1)) === '[]');
      } finally {
        watch.close();
      }
    });

    it('pushes nothing after a watch is closed', async () => {
      const svc = serviceName('conf.Closed');
      let pushes = 0;
      const watch = observer.watch(svc, () => pushes++);
      await waitFor(() => pushes === 1);
      watch.close();
      const lease = await registry.register(instance(svc));
      try {
        await waitFor(async () => (await observer.list(svc)).length === 1);
        await sleep(200);
        assert.equal(pushes, 1);
      } finally {
        await lease.deregister();
      }
    });

    it('re-registering the same id replaces the instance', async () => {
      const svc = serviceName('conf.Replace');
      const first = await registry.register(instance(svc, { id: 'same', version: '1' }));
      const second = await registry.register(instance(svc, { id: 'same', version: '2' }));
      try {
        await waitFor(async () => (await observer.list(svc))[0]?.version === '2');
        assert.equal((await observer.list(svc)).length, 1);
      } finally {
        await second.deregister();
        await first.deregister();
      }
    });

    it('rejects malformed instances with a TypeError before anything is stored', async () => {
      const svc = serviceName('conf.Bad');
      const bad: unknown[] = [
        { ...instance(svc), service: '' },
        { ...instance(svc), id: 'has space' },
        { ...instance(svc), endpoints: [] },
        { ...instance(svc), endpoints: [{ transport: 'smtp', host: 'h', port: 25 }] },
        { ...instance(svc), endpoints: [{ transport: 'grpc', host: 'h', port: 70000 }] },
        { ...instance(svc), metadata: { big: 'x'.repeat(100_000) } },
      ];
      for (const value of bad) {
        await assert.rejects(registry.register(value as ServiceInstance), TypeError);
      }
      assert.deepEqual(await observer.list(svc), []);
    });

    it('deregisters what it still holds when closed', async () => {
      const svc = serviceName('conf.CloseDereg');
      const own = await t.registry();
      await own.register(instance(svc));
      await waitFor(async () => (await observer.list(svc)).length === 1);
      await own.close();
      await waitFor(async () => (await observer.list(svc)).length === 0);
    });
  });
}
