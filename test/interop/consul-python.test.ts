/**
 * Consul interop in both directions against the hub's Consul API: python-consul (Debian's
 * /usr/bin/python3) and the npm `consul` package register with TTL checks that ConsulRegistry
 * and the hub see, and they find, and block on, what ConsulRegistry registers.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import Consul from 'consul';
import { ConsulRegistry, type ServiceInstance } from '../../src/discovery/index.ts';
import { consulApi } from '../../src/hub/api/consul-api.ts';
import { HubServer } from '../../src/hub/server.ts';
import { waitFor } from '../support/wait.ts';

const PYTHON = '/usr/bin/python3';
const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'python', 'consul_client.py');

// biome-ignore lint/suspicious/noExplicitAny: Consul's JSON, read field by field
type Json = any;

const hub = new HubServer({ port: 0, apis: [consulApi] });
await hub.listen();
const { hostname, port } = new URL(hub.url);
after(() => hub.close());

function python(...args: string[]): Promise<Json> {
  return new Promise((resolve, reject) => {
    execFile(PYTHON, [SCRIPT, hostname, port, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`consul_client.py ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(JSON.parse(stdout));
    });
  });
}

function greeter(service: string, id: string): ServiceInstance {
  return {
    service,
    id,
    endpoints: [
      { transport: 'grpc', host: '127.0.0.1', port: 50051 },
      { transport: 'native', host: '127.0.0.1', port: 50052 },
    ],
    version: '1.2.3',
    metadata: { team: 'greeters', 'weight.hint': '10' },
  };
}

describe('python-consul and the hub', () => {
  let registry: ConsulRegistry;
  before(() => {
    registry = new ConsulRegistry({ url: hub.url });
  });
  after(() => registry.close());

  it('python-consul registers with a TTL check and passes it; ConsulRegistry and the hub see it', async () => {
    const out = await python('register', 'py.Service', 'py-1', '9000');
    assert.equal(out.entries[0].Service.Port, 9000);
    assert.deepEqual(await registry.list('py.Service'), [
      {
        service: 'py.Service',
        id: 'py-1',
        endpoints: [{ transport: 'grpc', host: '127.0.0.1', port: 9000 }],
        metadata: { 'consul-tags': '["python"]' },
      },
    ]);
    const entry = hub.registry.get('py.Service', 'py-1');
    assert.equal(entry?.health, 'passing');
    assert.equal(entry?.output, 'alive');
    assert.equal(entry?.ttlMs, 30_000);
    assert.equal(entry?.removeAfterCriticalMs, 60_000);
    await python('deregister', 'py-1');
    assert.deepEqual(await registry.list('py.Service'), []);
  });

  it('ConsulRegistry registers; python-consul health.service(passing=True) finds it, Meta and all', async () => {
    const lease = await registry.register(greeter('sb.Greeter', 'sb-1'));
    try {
      const out = await python('list', 'sb.Greeter');
      assert.equal(out.entries.length, 1);
      const service = out.entries[0].Service;
      assert.equal(service.ID, 'sb-1');
      assert.equal(service.Address, '127.0.0.1');
      assert.equal(service.Port, 50051);
      assert.deepEqual(service.Meta, {
        team: 'greeters',
        'switchboard-x-weight_2Ehint': '10',
        'switchboard-endpoints': 'grpc://127.0.0.1:50051 native://127.0.0.1:50052',
        'switchboard-version': '1.2.3',
      });
      assert.ok(Number(out.index) >= 1);
    } finally {
      await lease.deregister();
    }
    assert.deepEqual((await python('list', 'sb.Greeter')).entries, []);
  });

  it("python-consul's blocking query with index wakes on ConsulRegistry's registration", async () => {
    const child = spawn(PYTHON, [SCRIPT, hostname, port, 'wait', 'sb.Blocking', '1']);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      await waitFor(() => stdout.startsWith('READY '), 15_000);
      const lease = await registry.register(greeter('sb.Blocking', 'blk-1'));
      try {
        assert.equal(await exited, 0, stderr);
        const result = JSON.parse(stdout.split('\n')[1] ?? '');
        assert.equal(result.entries[0].Service.ID, 'blk-1');
        assert.ok(Number(result.index) > Number(stdout.split('\n')[0]?.slice('READY '.length)));
        assert.ok(result.seconds < 5, `the blocking query took ${result.seconds} s`);
      } finally {
        await lease.deregister();
      }
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});

describe('the npm consul client and the hub', () => {
  let registry: ConsulRegistry;
  let consul: Consul;
  before(() => {
    registry = new ConsulRegistry({ url: hub.url });
    consul = new Consul({ host: hostname, port: Number(port) });
  });
  after(async () => {
    await registry.close();
    consul.destroy();
  });

  it('registers with a TTL check and passes it; ConsulRegistry sees it, then not once deregistered', async () => {
    await consul.agent.service.register({
      name: 'npm.Service',
      id: 'npm-1',
      port: 7000,
      address: '10.0.0.7',
      tags: ['node'],
      meta: { owner: 'npm' },
      check: { ttl: '30s', deregistercriticalserviceafter: '1m' } as never,
    });
    assert.deepEqual(await registry.list('npm.Service'), []);
    await consul.agent.check.pass('service:npm-1');
    assert.deepEqual(await registry.list('npm.Service'), [
      {
        service: 'npm.Service',
        id: 'npm-1',
        endpoints: [{ transport: 'grpc', host: '10.0.0.7', port: 7000 }],
        metadata: { owner: 'npm', 'consul-tags': '["node"]' },
      },
    ]);
    assert.deepEqual((await consul.catalog.service.list())['npm.Service'], ['node']);
    await consul.agent.service.deregister('npm-1');
    assert.deepEqual(await registry.list('npm.Service'), []);
  });

  it('finds what ConsulRegistry registers, and its watch follows changes', async () => {
    const seen: string[][] = [];
    const watch = consul.watch({
      method: consul.health.service,
      options: { service: 'npm.Watched', passing: 'true', wait: '5s' },
    });
    watch.on('change', (entries: Json[]) => seen.push(entries.map((e) => e.Service.ID)));
    watch.on('error', () => {});
    try {
      await waitFor(() => seen.length === 1, 5000);
      assert.deepEqual(seen[0], []);
      const lease = await registry.register(greeter('npm.Watched', 'w-1'));
      await waitFor(() => JSON.stringify(seen.at(-1)) === '["w-1"]', 5000);
      const entries: Json[] = await consul.health.service({ service: 'npm.Watched', passing: true });
      assert.equal(entries[0].Service.Meta['switchboard-version'], '1.2.3');
      await lease.deregister();
      await waitFor(() => JSON.stringify(seen.at(-1)) === '[]', 5000);
    } finally {
      watch.end();
    }
    assert.equal(await consul.status.leader(), '127.0.0.1:8300');
  });

  it('gets plain-text Consul errors as rejections with the status and the reason', async () => {
    const refusedWith = (status: number, text: RegExp) => (err: Json) => {
      assert.equal(err.statusCode, status);
      assert.match(String(err.response.body), text);
      return true;
    };
    await assert.rejects(consul.agent.check.pass('service:nobody'), refusedWith(404, /^Unknown check ID/));
    await assert.rejects(
      consul.agent.service.register({ name: 'bad', port: 70000 }),
      refusedWith(400, /^Invalid Port/),
    );
  });
});
