import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import zookeeper from 'node-zookeeper-client';
import { registryConformance } from '../../../test/conformance/registry-suite.ts';
import { portOpen, serviceMissing } from '../../../test/support/services.ts';
import { TcpProxy } from '../../../test/support/tcp-proxy.ts';
import { waitFor } from '../../../test/support/wait.ts';
import { ZooKeeperServer, zookeeperInstalled } from '../../../test/support/zookeeper-server.ts';
import { ENDPOINTS_METADATA_KEY, type ServiceInstance } from '../instance.ts';
import { ZooKeeperRegistry } from './registry.ts';

const ZK = '127.0.0.1:2181';
const skip = await serviceMissing('ZooKeeper', () => portOpen('127.0.0.1', 2181));
/** Apart from /services, so tests never mix with anything else on the server. */
const basePath = '/switchboard-test/services';

// The server runs with tickTime 500 ms (scripts/services.sh), so it grants sessions from 1 s.
registryConformance({
  name: 'zookeeper',
  registry: async () => new ZooKeeperRegistry({ connect: ZK, basePath }),
  shortTtlMs: 1000,
  expirySlackMs: 1000,
  skip,
});

let serial = 0;
function service(prefix: string): string {
  return `zk.${prefix}.S${Date.now().toString(36)}${(serial++).toString(36)}`;
}

function instance(svc: string, overrides: Partial<ServiceInstance> = {}): ServiceInstance {
  return {
    service: svc,
    id: `i-${randomUUID().slice(0, 8)}`,
    endpoints: [
      { transport: 'grpc', host: '127.0.0.1', port: 50051 },
      { transport: 'native', host: '127.0.0.1', port: 50052 },
    ],
    metadata: { team: 'greeters' },
    ...overrides,
  };
}

/** A bare node-zookeeper-client, standing in for a Java service's Curator. */
class RawClient {
  readonly client: zookeeper.Client;
  constructor(connect = ZK) {
    this.client = zookeeper.createClient(connect, { sessionTimeout: 5000 });
    this.client.connect();
  }
  ready(): Promise<void> {
    return new Promise((resolve) => this.client.once('connected', () => resolve()));
  }
  mkdirp(path: string): Promise<void> {
    return new Promise((resolve, reject) => this.client.mkdirp(path, (e) => (e ? reject(e) : resolve())));
  }
  create(path: string, data: Buffer | undefined, mode = zookeeper.CreateMode.EPHEMERAL): Promise<void> {
    const done = (resolve: () => void, reject: (e: unknown) => void) => (e: unknown) =>
      e ? reject(e) : resolve();
    return new Promise((resolve, reject) =>
      data
        ? this.client.create(path, data, mode, done(resolve, reject))
        : this.client.create(path, mode, done(resolve, reject)),
    );
  }
  setData(path: string, data: Buffer): Promise<void> {
    return new Promise((resolve, reject) =>
      this.client.setData(path, data, (e) => (e ? reject(e) : resolve())),
    );
  }
  get(path: string): Promise<[Buffer, zookeeper.Stat]> {
    return new Promise((resolve, reject) =>
      this.client.getData(path, (e, data, stat) => (e ? reject(e) : resolve([data, stat]))),
    );
  }
  async removeTree(path: string): Promise<void> {
    const children = await new Promise<string[]>((resolve) =>
      this.client.getChildren(path, (e, list) => resolve(e ? [] : list)),
    );
    await Promise.all(children.map((child) => this.removeTree(`${path}/${child}`)));
    await new Promise<void>((resolve) => this.client.remove(path, () => resolve()));
  }
  close(): void {
    this.client.close();
  }
}

// Leaves the shared server as it found it: the persistent nodes the tests wrote go.
after(async () => {
  if (skip) return;
  const raw = new RawClient();
  await raw.ready();
  await raw.removeTree(basePath.slice(0, basePath.lastIndexOf('/')) || basePath);
  raw.close();
});

/** What Curator's JsonInstanceSerializer writes for a ServiceInstance<Void> (Curator 4/5). */
function curatorNode(svc: string, id: string, fields: Record<string, unknown> = {}): Buffer {
  return Buffer.from(
    JSON.stringify({
      name: svc,
      id,
      address: '10.1.2.3',
      port: 8080,
      sslPort: null,
      payload: null,
      registrationTimeUTC: 1_700_000_000_000,
      serviceType: 'DYNAMIC',
      uriSpec: {
        parts: [
          { value: 'scheme', variable: true },
          { value: '://', variable: false },
          { value: 'address', variable: true },
          { value: ':', variable: false },
          { value: 'port', variable: true },
        ],
      },
      enabled: true,
      ...fields,
    }),
  );
}

describe('ZooKeeper registry', { skip }, () => {
  let raw: RawClient;
  let registry: ZooKeeperRegistry;

  before(async () => {
    raw = new RawClient();
    await raw.ready();
    registry = new ZooKeeperRegistry({ connect: ZK, basePath });
  });
  after(async () => {
    raw?.close();
    await registry?.close();
  });

  it('lists instances that Curator clients registered, with or without a payload', async () => {
    const svc = service('Curator');
    await raw.mkdirp(`${basePath}/${svc}`);
    const plain = randomUUID();
    const spring = randomUUID();
    const old = randomUUID();
    const disabled = randomUUID();
    await raw.create(`${basePath}/${svc}/${plain}`, curatorNode(svc, plain));
    // Spring Cloud Zookeeper's payload, TLS only, and a field this reader has never heard of.
    await raw.create(
      `${basePath}/${svc}/${spring}`,
      curatorNode(svc, spring, {
        address: 'billing.internal',
        port: null,
        sslPort: 8443,
        payload: {
          '@class': 'org.springframework.cloud.zookeeper.discovery.ZookeeperInstance',
          id: 'billing-1',
          name: svc,
          metadata: { instance_status: 'UP' },
        },
        futureField: { nested: true },
      }),
    );
    // Curator before 2.10 (no "enabled"), a flat map payload, both ports.
    const { enabled: _, ...withoutEnabled } = JSON.parse(curatorNode(svc, old).toString());
    await raw.create(
      `${basePath}/${svc}/${old}`,
      Buffer.from(
        JSON.stringify({
          ...withoutEnabled,
          address: '10.9.9.9',
          sslPort: 8443,
          payload: { '@class': 'java.util.HashMap', region: 'eu' },
        }),
      ),
    );
    await raw.create(`${basePath}/${svc}/${disabled}`, curatorNode(svc, disabled, { enabled: false }));

    const byId = new Map((await registry.list(svc)).map((i) => [i.id, i]));
    assert.equal(byId.size, 3, 'the disabled instance is not listed');
    assert.deepEqual(byId.get(plain), {
      service: svc,
      id: plain,
      endpoints: [{ transport: 'grpc', host: '10.1.2.3', port: 8080 }],
      metadata: {},
    });
    assert.deepEqual(byId.get(spring), {
      service: svc,
      id: spring,
      endpoints: [{ transport: 'grpc', host: 'billing.internal', port: 8443, tls: true }],
      metadata: { instance_status: 'UP' },
    });
    assert.deepEqual(byId.get(old)?.endpoints, [
      { transport: 'grpc', host: '10.9.9.9', port: 8080 },
      { transport: 'grpc', host: '10.9.9.9', port: 8443, tls: true },
    ]);
    assert.deepEqual(byId.get(old)?.metadata, { region: 'eu' });
    assert.ok((await registry.services()).includes(svc));
  });

  it('writes an ephemeral node with the fields of a Curator instance', async () => {
    const svc = service('Ours');
    const inst = instance(svc, {
      endpoints: [
        { transport: 'grpc', host: '10.0.0.7', port: 50443, tls: true },
        { transport: 'http', host: '10.0.0.7', port: 8080 },
      ],
      version: '2.0.1',
      zone: 'eu-1a',
    });
    const before = Date.now();
    const lease = await registry.register(inst);
    try {
      const [data, stat] = await raw.get(`${basePath}/${svc}/${inst.id}`);
      assert.notEqual(stat.ephemeralOwner.toString('hex'), '0000000000000000', 'the node is ephemeral');
      const json = JSON.parse(data.toString());
      assert.deepEqual(Object.keys(json), [
        'name',
        'id',
        'address',
        'port',
        'sslPort',
        'payload',
        'registrationTimeUTC',
        'serviceType',
        'uriSpec',
        'enabled',
      ]);
      assert.equal(json.name, svc);
      assert.equal(json.id, inst.id);
      assert.equal(json.address, '10.0.0.7');
      assert.equal(json.port, null);
      assert.equal(json.sslPort, 50443);
      assert.equal(json.serviceType, 'DYNAMIC');
      assert.equal(json.enabled, true);
      assert.ok(json.registrationTimeUTC >= before && json.registrationTimeUTC <= Date.now());
      assert.equal(json.payload['@class'], 'org.springframework.cloud.zookeeper.discovery.ZookeeperInstance');
      assert.equal(json.payload.metadata.team, 'greeters');
      assert.equal(
        json.payload.metadata[ENDPOINTS_METADATA_KEY],
        'grpcs://10.0.0.7:50443 http://10.0.0.7:8080',
      );
      assert.deepEqual(
        json.uriSpec.parts.map((p: { value: string }) => p.value),
        ['grpcs://', 'address', ':', 'ssl-port'],
      );
      assert.deepEqual((await registry.list(svc))[0], inst);
    } finally {
      await lease.deregister();
    }
  });

  it('refuses metadata under the keys its payload reserves, and service names with "/"', async () => {
    const svc = service('Reserved');
    await assert.rejects(
      registry.register(instance(svc, { metadata: { [ENDPOINTS_METADATA_KEY]: 'grpc://h:1' } })),
      TypeError,
    );
    await assert.rejects(registry.register(instance(`${svc}/nested`)), TypeError);
    assert.deepEqual(await registry.list(svc), []);
  });

  it('skips malformed nodes in list and reports them to a watch, which keeps going', async () => {
    const svc = service('Malformed');
    await raw.mkdirp(`${basePath}/${svc}`);
    await raw.create(
      `${basePath}/${svc}/not-json`,
      Buffer.from('{"name": "x", oops'),
      zookeeper.CreateMode.PERSISTENT,
    );
    await raw.create(
      `${basePath}/${svc}/wrong-shape`,
      Buffer.from('[1,2,3]'),
      zookeeper.CreateMode.PERSISTENT,
    );
    await raw.create(`${basePath}/${svc}/no-port`, curatorNode(svc, 'no-port', { port: null }));
    await raw.create(`${basePath}/${svc}/bad-port`, curatorNode(svc, 'bad-port', { port: 'eighty' }));
    await raw.create(`${basePath}/${svc}/empty`, undefined);
    const good = instance(svc);
    const lease = await registry.register(good);
    const pushes: string[][] = [];
    const errors: Error[] = [];
    const watch = registry.watch(
      svc,
      (list) => pushes.push(list.map((i) => i.id)),
      (err) => errors.push(err),
    );
    try {
      assert.deepEqual(
        (await registry.list(svc)).map((i) => i.id),
        [good.id],
      );
      await waitFor(() => pushes.length >= 1);
      assert.deepEqual(pushes.at(-1), [good.id]);
      await waitFor(() => errors.length >= 5);
      for (const name of ['not-json', 'wrong-shape', 'no-port', 'bad-port', 'empty']) {
        assert.ok(
          errors.some((e) => e.message.includes(`/${name}`)),
          `no error names ${name}: ${errors.map((e) => e.message).join('; ')}`,
        );
      }
      // A good node turned bad in place (setData) is dropped from the list, and reported.
      await raw.setData(`${basePath}/${svc}/${good.id}`, Buffer.from('garbage'));
      await waitFor(() => JSON.stringify(pushes.at(-1)) === '[]');
      assert.ok(errors.some((e) => e.message.includes(good.id)));
      const second = await registry.register(instance(svc, { id: 'second' }));
      await waitFor(() => JSON.stringify(pushes.at(-1)) === '["second"]');
      await second.deregister();
    } finally {
      watch.close();
      await lease.deregister();
    }
  });
});

describe('ZooKeeper registry through a partition', { skip }, () => {
  it('registers again in a new session after the old one expired, and the watch comes back', async () => {
    const proxy = await TcpProxy.start({ host: '127.0.0.1', port: 2181 });
    const partitioned = new ZooKeeperRegistry({
      connect: proxy.address,
      basePath,
      sessionTimeoutMs: 2000,
      requestTimeoutMs: 2000,
    });
    const observer = new ZooKeeperRegistry({ connect: ZK, basePath });
    const raw = new RawClient();
    const svc = service('Expiry');
    const inst = instance(svc);
    try {
      await raw.ready();
      const lease = await partitioned.register(inst, { ttlMs: 1000 });
      const path = `${basePath}/${svc}/${inst.id}`;
      const owner = (await raw.get(path))[1].ephemeralOwner.toString('hex');
      const pushes: string[][] = [];
      const errors: Error[] = [];
      const watch = partitioned.watch(
        svc,
        (list) => pushes.push(list.map((i) => i.id)),
        (err) => errors.push(err),
      );
      await waitFor(() => JSON.stringify(pushes.at(-1)) === JSON.stringify([inst.id]));

      proxy.partition();
      // The server expires the lease's session (1 s) and the watching session (2 s).
      await waitFor(async () => (await observer.list(svc)).length === 0, 4000);
      await waitFor(() => errors.length > 0, 4000);
      const pushesBefore = pushes.length;
      await new Promise((resolve) => setTimeout(resolve, 2000));
      proxy.heal();

      await waitFor(async () => (await observer.list(svc)).length === 1, 8000);
      const newOwner = (await raw.get(path))[1].ephemeralOwner.toString('hex');
      assert.notEqual(newOwner, owner, 'the node belongs to a new session');
      await waitFor(
        () => pushes.length > pushesBefore && JSON.stringify(pushes.at(-1)) === JSON.stringify([inst.id]),
        8000,
      );
      watch.close();
      await lease.deregister();
      await waitFor(async () => (await observer.list(svc)).length === 0);
    } finally {
      raw.close();
      await Promise.all([partitioned.close(), observer.close()]);
      await proxy.close();
    }
  });
});

const noServer = await serviceMissing('the zookeeper package (a private server)', zookeeperInstalled);

describe('ZooKeeper registry across a server restart', { skip: skip || noServer }, () => {
  it('keeps its session, its nodes and its watch when the server comes back', async () => {
    const server = await ZooKeeperServer.start();
    // The registry keeps the default 10 s request timeout (a JVM just started can be slow on a
    // busy machine); the observer's short one makes its list fail fast while the server is down.
    const registry = new ZooKeeperRegistry({ connect: server.address });
    const observer = new ZooKeeperRegistry({ connect: server.address, requestTimeoutMs: 3000 });
    const svc = service('Restart');
    try {
      const lease = await registry.register(instance(svc, { id: 'before' }), { ttlMs: 10_000 });
      const pushes: string[][] = [];
      const errors: Error[] = [];
      const watch = observer.watch(
        svc,
        (list) => pushes.push(list.map((i) => i.id)),
        (err) => errors.push(err),
      );
      await waitFor(() => JSON.stringify(pushes.at(-1)) === '["before"]', 10_000);
      const pushesBefore = pushes.length;

      await server.kill();
      await waitFor(() => errors.length > 0, 5000);
      await assert.rejects(observer.list(svc));
      await server.resume();

      // Sessions live through the restart (ZooKeeper restores them from its log); the watch
      // pushes the list again once reconnected. A JVM starting while the rest of the suite
      // runs (browsers, whole demos) has taken over 10 s: give it 30.
      await waitFor(() => pushes.length > pushesBefore, 30_000);
      assert.deepEqual(pushes.at(-1), ['before']);
      const after = await registry.register(instance(svc, { id: 'after' }));
      await waitFor(() => JSON.stringify(pushes.at(-1)) === '["after","before"]', 10_000);
      await after.deregister();
      await lease.deregister();
      await waitFor(() => JSON.stringify(pushes.at(-1)) === '[]', 10_000);
      watch.close();
    } finally {
      await Promise.all([registry.close(), observer.close()]);
      await server.stop();
    }
  });
});
