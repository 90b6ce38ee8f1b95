import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { rawRequest } from '../../test/support/raw-http.ts';
import { sleep, waitFor } from '../../test/support/wait.ts';
import { HubRegistry } from '../discovery/hub/registry.ts';
import type { ServiceInstance } from '../discovery/instance.ts';
import { HubServer, type HubServerOptions } from './server.ts';

function instance(service: string, id: string): ServiceInstance {
  return {
    service,
    id,
    endpoints: [{ transport: 'native', host: '10.0.0.7', port: 50052, tls: true }],
    version: '3',
    metadata: { team: 'a' },
  };
}

describe('hub persistence', () => {
  let dir = '';
  const logs: string[] = [];
  const opened: HubServer[] = [];
  const hub = async (options: HubServerOptions = {}) => {
    const server = new HubServer({ port: 0, dataDir: dir, log: (m) => logs.push(m), ...options });
    opened.push(server);
    await server.listen();
    return server;
  };

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sb-hub-data-'));
    logs.length = 0;
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((h) => h.close()));
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps registrations across a restart, each with a fresh lease, health included', async () => {
    const first = await hub();
    const put = await rawRequest(first.url, 'PUT', '/api/v1/instances', {
      body: JSON.stringify({ instance: instance('keep.Svc', 'k-1'), ttlMs: 60_000 }),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(put.status, 200, put.text);
    first.registry.upsert(instance('keep.Svc', 'k-2'), 5000);
    first.registry.renew('keep.Svc', 'k-2', 'critical', 'disk full');
    // As the Consul API registers: a service with no check never expires; a TTL check turns critical.
    first.registry.upsert(instance('keep.Svc', 'k-3'), Number.POSITIVE_INFINITY);
    first.registry.upsert(instance('keep.Svc', 'k-4'), 5000, {
      onExpiry: 'critical',
      removeAfterCriticalMs: 60_000,
    });
    await first.close();
    const second = await hub();
    const k1 = second.registry.get('keep.Svc', 'k-1');
    assert.deepEqual(k1?.instance, instance('keep.Svc', 'k-1'));
    assert.equal(k1?.ttlMs, 60_000);
    assert.ok((k1?.expiresAt ?? 0) >= Date.now() + 59_000, 'the lease starts at the restart');
    const k2 = second.registry.get('keep.Svc', 'k-2');
    assert.equal(k2?.health, 'critical');
    assert.equal(k2?.output, 'disk full');
    assert.equal(second.registry.get('keep.Svc', 'k-3')?.ttlMs, Number.POSITIVE_INFINITY);
    const k4 = second.registry.get('keep.Svc', 'k-4');
    assert.equal(k4?.onExpiry, 'critical');
    assert.equal(k4?.removeAfterCriticalMs, 60_000);
    assert.deepEqual(
      second.registry
        .list('keep.Svc')
        .map((i) => i.id)
        .sort(),
      ['k-1', 'k-3', 'k-4'],
    );
    assert.deepEqual(logs, []);
  });

  it('writes a change to disk within 200 ms, atomically', async () => {
    const server = await hub();
    const file = path.join(dir, 'registry.json');
    const started = Date.now();
    server.registry.upsert(instance('soon.Svc', 's-1'), 10_000);
    await waitFor(async () => (await readFile(file, 'utf8').catch(() => '')).includes('s-1'), 1000);
    assert.ok(Date.now() - started <= 300, `on disk after ${Date.now() - started} ms`);
    server.registry.remove('soon.Svc', 's-1');
    await waitFor(async () => !(await readFile(file, 'utf8')).includes('s-1'), 1000);
    // 'broker' is the embedded broker's folder, which a hub with a data folder keeps beside.
    assert.deepEqual((await readdir(dir)).sort(), ['broker', 'registry.json'], 'no temporary file left');
  });

  it('lets restored instances that no one renews expire within their ttl', async () => {
    const first = await hub();
    first.registry.upsert(instance('dead.Svc', 'd-1'), 1000);
    await first.close();
    const second = await hub({ minTtlMs: 100, sweepIntervalMs: 50 });
    assert.equal(second.registry.list('dead.Svc').length, 1);
    await waitFor(() => second.registry.list('dead.Svc').length === 0, 2000);
  });

  for (const [name, text] of [
    ['garbage', 'not json at all \u0000\u00ff'],
    [
      'a truncated file',
      JSON.stringify({ format: 'switchboard-registry', version: 1, instances: [] }).slice(0, 30),
    ],
    [
      'an invalid instance',
      JSON.stringify({ format: 'switchboard-registry', version: 1, instances: [{ ttlMs: 5 }] }),
    ],
    ['another format', '{"hello": "world"}'],
  ] as const) {
    it(`starts empty on ${name}, says why and keeps the file aside`, async () => {
      await writeFile(path.join(dir, 'registry.json'), text);
      const server = await hub();
      assert.equal(server.registry.size, 0);
      assert.equal(logs.length, 1);
      assert.match(
        logs[0] ?? '',
        /registry\.json is not a readable registry \(.+\); starting empty, the file is kept as .*registry\.json\.corrupt/,
      );
      assert.equal(await readFile(path.join(dir, 'registry.json.corrupt'), 'utf8'), text);
      // It serves, and saves anew.
      const put = await rawRequest(server.url, 'PUT', '/api/v1/instances', {
        body: JSON.stringify({ instance: instance('after.Corrupt', 'a-1') }),
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(put.status, 200);
      await waitFor(async () =>
        (await readFile(path.join(dir, 'registry.json'), 'utf8').catch(() => '')).includes('a-1'),
      );
    });
  }

  it('keeps a HubRegistry lease and watch across a restart with its data', async () => {
    const first = await hub({ minTtlMs: 100, sweepIntervalMs: 50 });
    const { port } = new URL(first.url);
    const errors: Error[] = [];
    const registry = new HubRegistry({ url: first.url, onError: (e) => errors.push(e) });
    const pushes: string[][] = [];
    const watch = registry.watch('restart.Data', (list) => pushes.push(list.map((i) => i.id)));
    try {
      await registry.register(instance('restart.Data', 'r-1'), { ttlMs: 600 });
      await waitFor(() => JSON.stringify(pushes.at(-1)) === '["r-1"]');
      const before = pushes.length;
      await first.close();
      await waitFor(() => errors.length > 0);
      const second = await hub({ port: Number(port), minTtlMs: 100, sweepIntervalMs: 50, broker: false });
      // Restored from disk: there before any heartbeat.
      assert.ok(second.registry.get('restart.Data', 'r-1'));
      await waitFor(() => pushes.length > before, 8000);
      assert.deepEqual(pushes.at(-1), ['r-1']);
      // Heartbeats renew it on the new hub: it outlives its 600 ms lease.
      await sleep(900);
      assert.ok(second.registry.get('restart.Data', 'r-1'));
    } finally {
      watch.close();
      await registry.close();
    }
  });
});
