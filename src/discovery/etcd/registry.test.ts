import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Etcd3 } from 'etcd3';
import { registryConformance } from '../../../test/conformance/registry-suite.ts';
import { portOpen, serviceMissing } from '../../../test/support/services.ts';
import { TcpProxy } from '../../../test/support/tcp-proxy.ts';
import { waitFor } from '../../../test/support/wait.ts';
import type { ServiceInstance } from '../instance.ts';
import { EtcdRegistry } from './registry.ts';

const skip = await serviceMissing('etcd', () => portOpen('127.0.0.1', 2379));
/** Apart from the default prefix, so tests never mix with anything else on the server. */
const prefix = '/switchboard-test/services';

// etcd grants leases of at least 2 s with its default timings (3/2 of the election timeout),
// and revokes expired leases every 500 ms.
registryConformance({
  name: 'etcd',
  registry: async () => new EtcdRegistry({ prefix }),
  shortTtlMs: 2000,
  expirySlackMs: 1000,
  skip,
});

let serial = 0;
function service(name: string): string {
  return `etcd.${name}.S${Date.now().toString(36)}${(serial++).toString(36)}`;
}

function instance(svc: string, overrides: Partial<ServiceInstance> = {}): ServiceInstance {
  return {
    service: svc,
    id: `i-${randomUUID().slice(0, 8)}`,
    endpoints: [{ transport: 'grpc', host: '127.0.0.1', port: 50051 }],
    metadata: { team: 'greeters' },
    ...overrides,
  };
}

function ids(list: readonly ServiceInstance[]): string {
  return JSON.stringify(list.map((i) => i.id));
}

describe('etcd registry', { skip }, () => {
  let raw: Etcd3;
  let registry: EtcdRegistry;
  let observer: EtcdRegistry;

  before(() => {
    raw = new Etcd3({ hosts: '127.0.0.1:2379' });
    registry = new EtcdRegistry({ prefix });
    observer = new EtcdRegistry({ prefix });
  });
  after(async () => {
    await Promise.all([registry?.close(), observer?.close()]);
    await raw?.delete().prefix(`${prefix}/etcd.`);
    raw?.close();
  });

  it('stores the instance as JSON under <prefix>/<service>/<id>, on a lease of ceil(ttl) seconds', async () => {
    const svc = service('Layout');
    const inst = instance(svc, { version: '3.1.0', zone: 'eu-1b' });
    const lease = await registry.register(inst, { ttlMs: 4500 });
    try {
      const res = await raw.get(`${prefix}/${svc}/${inst.id}`).exec();
      const [kv] = res.kvs;
      assert.ok(kv, 'the key exists');
      assert.deepEqual(JSON.parse(kv.value.toString()), inst);
      assert.notEqual(kv.lease, '0', 'the key is attached to a lease');
      const ttl = await raw.leaseClient.leaseTimeToLive({ ID: kv.lease });
      assert.equal(Number(ttl.grantedTTL), 5);
    } finally {
      await lease.deregister();
    }
    assert.equal(
      (await raw.get(`${prefix}/${svc}/${inst.id}`).exec()).kvs.length,
      0,
      'revoked with its lease',
    );
  });

  it('skips malformed values in list and reports them to a watch, which keeps going', async () => {
    const svc = service('Malformed');
    const good = instance(svc, { id: 'good' });
    await raw.put(`${prefix}/${svc}/not-json`).value('{"service": oops');
    await raw.put(`${prefix}/${svc}/wrong-shape`).value(JSON.stringify({ service: svc, id: 'wrong-shape' }));
    await raw
      .put(`${prefix}/${svc}/other-id`)
      .value(JSON.stringify({ ...instance(svc), id: 'someone-else' }));
    // A deeper key belongs to the service "<svc>/deeper", not to this one: neither listed nor an error.
    await raw.put(`${prefix}/${svc}/deeper/x`).value(JSON.stringify(instance(`${svc}/deeper`, { id: 'x' })));
    const lease = await registry.register(good);
    const pushes: string[] = [];
    const errors: Error[] = [];
    const watch = observer.watch(
      svc,
      (list) => pushes.push(ids(list)),
      (err) => errors.push(err),
    );
    try {
      assert.equal(ids(await observer.list(svc)), '["good"]');
      assert.ok((await observer.services()).includes(`${svc}/deeper`));
      await waitFor(() => pushes.length >= 1);
      assert.equal(pushes.at(-1), '["good"]');
      assert.equal(errors.length, 3, errors.map((e) => e.message).join('; '));
      for (const key of ['not-json', 'wrong-shape', 'other-id']) {
        assert.ok(
          errors.some((e) => e.message.includes(`${svc}/${key}`)),
          `no error names ${key}`,
        );
      }
      // A good key overwritten with garbage leaves the list, with an error; others still arrive.
      await raw.put(`${prefix}/${svc}/good`).value('\u0000\u0001binary');
      await waitFor(() => pushes.at(-1) === '[]');
      assert.equal(errors.length, 4);
      const second = await registry.register(instance(svc, { id: 'second' }));
      await waitFor(() => pushes.at(-1) === '["second"]');
      await second.deregister();
    } finally {
      watch.close();
      await lease.deregister();
      await raw.delete().prefix(`${prefix}/${svc}/`);
    }
  });

  it('keeps delivering changes when etcd compacts its history under an open watch', async () => {
    const svc = service('Compact');
    const pushes: string[] = [];
    const watch = observer.watch(svc, (list) => pushes.push(ids(list)));
    const a = await registry.register(instance(svc, { id: 'a' }));
    try {
      await waitFor(() => pushes.at(-1) === '["a"]');
      const { header } = await raw.get(`${prefix}/${svc}/a`).exec();
      await raw.kv.compact({ revision: header.revision, physical: true });
      const b = await registry.register(instance(svc, { id: 'b' }));
      await waitFor(() => pushes.at(-1) === '["a","b"]');
      await b.deregister();
      await waitFor(() => pushes.at(-1) === '["a"]');
    } finally {
      watch.close();
      await a.deregister();
    }
  });

  it('lists again when its watch resumes at a revision compacted away (ErrCompacted)', async () => {
    const svc = service('Compacted');
    const proxy = await TcpProxy.start({ host: '127.0.0.1', port: 2379 });
    const remote = new EtcdRegistry({ hosts: proxy.address, prefix, requestTimeoutMs: 2000 });
    const pushes: string[] = [];
    const errors: Error[] = [];
    const a = await registry.register(instance(svc, { id: 'a' }));
    const watch = remote.watch(
      svc,
      (list) => pushes.push(ids(list)),
      (err) => errors.push(err),
    );
    try {
      await waitFor(() => pushes.at(-1) === '["a"]', 5000);
      proxy.partition();
      proxy.reset();
      await waitFor(() => errors.length > 0, 5000);
      // While the watch is away: changes, then a compaction past them.
      const b = await registry.register(instance(svc, { id: 'b' }));
      await a.deregister();
      const { header } = await raw.get(`${prefix}/${svc}/b`).exec();
      await raw.kv.compact({ revision: header.revision, physical: true });
      proxy.heal();

      await waitFor(() => pushes.at(-1) === '["b"]', 15_000);
      await waitFor(() => errors.some((e) => /cancel/i.test(e.message)), 5000);
      const c = await registry.register(instance(svc, { id: 'c' }));
      await waitFor(() => pushes.at(-1) === '["b","c"]', 5000);
      await Promise.all([b.deregister(), c.deregister()]);
      await waitFor(() => pushes.at(-1) === '[]', 5000);
    } finally {
      watch.close();
      await a.deregister();
      await remote.close();
      await proxy.close();
    }
  });

  it('registers again on a new lease when its lease is revoked behind its back', async () => {
    const svc = service('Revoked');
    const inst = instance(svc);
    const key = `${prefix}/${svc}/${inst.id}`;
    const lease = await registry.register(inst, { ttlMs: 3000 });
    try {
      const [before] = (await raw.get(key).exec()).kvs;
      assert.ok(before);
      await raw.leaseClient.leaseRevoke({ ID: before.lease });
      assert.equal((await raw.get(key).exec()).kvs.length, 0, 'the revoke deleted the key');
      // The next keepalive (every ttl/3) learns the lease is gone; a new one puts the key again.
      await waitFor(async () => (await observer.list(svc)).length === 1, 5000);
      const [again] = (await raw.get(key).exec()).kvs;
      assert.ok(again);
      assert.notEqual(again.lease, before.lease);
      assert.deepEqual((await observer.list(svc))[0], inst);
    } finally {
      await lease.deregister();
    }
    await waitFor(async () => (await observer.list(svc)).length === 0);
  });
});
