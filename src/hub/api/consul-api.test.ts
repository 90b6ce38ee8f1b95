/**
 * The hub's Consul-compatible API over real HTTP: registration as Consul's clients send it,
 * blocking queries, TTL checks turning critical and being deregistered, and tags and Meta
 * coming back as they went in. Bad input: consul-api-input.test.ts.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { type Caller, type Json, json, refused, startConsulHub } from '../../../test/support/consul-hub.ts';
import { sleep, waitFor } from '../../../test/support/wait.ts';
import type { HubServer } from '../server.ts';

describe('Consul API: registration and reads', () => {
  let hub: HubServer;
  let call: Caller;
  before(async () => ({ hub, call } = await startConsulHub()));
  after(() => hub.close());

  it('registers what python-consul sends (lower-case keys, no ID, no Address) as Consul would', async () => {
    const reg = await call('PUT', '/v1/agent/service/register', { name: 'web', port: 8080, tags: ['v1'] });
    assert.equal(reg.status, 200, reg.text);
    const { index, body } = await json(call, '/v1/health/service/web');
    assert.ok(index >= 1);
    assert.equal(body.length, 1);
    const [entry] = body;
    assert.equal(entry.Service.ID, 'web');
    assert.equal(entry.Service.Service, 'web');
    assert.equal(entry.Service.Address, '127.0.0.1');
    assert.equal(entry.Service.Port, 8080);
    assert.deepEqual(entry.Service.Tags, ['v1']);
    assert.deepEqual(entry.Service.Meta, {});
    assert.equal(entry.Node.Node, 'switchboard-hub');
    assert.equal(entry.Node.Address, '127.0.0.1');
    assert.deepEqual(
      entry.Checks.map((c: Json) => c.CheckID),
      ['serfHealth'],
    );
    const instance = hub.registry.get('web', 'web')?.instance;
    assert.deepEqual(instance?.endpoints, [{ transport: 'grpc', host: '127.0.0.1', port: 8080 }]);
  });

  it('round-trips tags and Meta, and maps version, zone and endpoints to the instance', async () => {
    const meta = {
      team: 'greeters',
      'with-dash_and_underscore': 'v',
      'switchboard-version': '2.0.0',
      'switchboard-zone': 'eu-1a',
      'switchboard-endpoints': 'grpc://10.0.0.5:50051 native://10.0.0.5:50052',
    };
    const reg = await call('PUT', '/v1/agent/service/register', {
      ID: 'g-1',
      Name: 'greet.Greeter',
      Address: '10.0.0.5',
      Port: 50051,
      Tags: ['blue', 'canary'],
      Meta: meta,
    });
    assert.equal(reg.status, 200, reg.text);
    const { body } = await json(call, '/v1/health/service/greet.Greeter');
    assert.deepEqual(body[0].Service.Tags, ['blue', 'canary']);
    assert.deepEqual(body[0].Service.Meta, meta);
    assert.deepEqual(hub.registry.get('greet.Greeter', 'g-1')?.instance, {
      service: 'greet.Greeter',
      id: 'g-1',
      endpoints: [
        { transport: 'grpc', host: '10.0.0.5', port: 50051 },
        { transport: 'native', host: '10.0.0.5', port: 50052 },
      ],
      version: '2.0.0',
      zone: 'eu-1a',
      metadata: { team: 'greeters', 'with-dash_and_underscore': 'v', 'consul-tags': '["blue","canary"]' },
    });
    const services = await json(call, '/v1/agent/services');
    assert.deepEqual(services.body['g-1'].Tags, ['blue', 'canary']);
    assert.deepEqual(services.body['g-1'].Meta, meta);
    const catalog = await json(call, '/v1/catalog/services');
    assert.deepEqual(catalog.body['greet.Greeter'], ['blue', 'canary']);
    const flat = await json(call, '/v1/catalog/service/greet.Greeter?tag=canary');
    assert.equal(flat.body[0].ServicePort, 50051);
    assert.deepEqual(flat.body[0].ServiceMeta, meta);
    assert.equal((await json(call, '/v1/health/service/greet.Greeter?tag=blue&tag=canary')).body.length, 1);
    assert.equal((await json(call, '/v1/health/service/greet.Greeter?tag=red')).body.length, 0);
  });

  it('answers status and agent/self, and [] for an unknown service', async () => {
    assert.equal((await json(call, '/v1/status/leader')).body, '127.0.0.1:8300');
    assert.deepEqual((await json(call, '/v1/status/peers')).body, ['127.0.0.1:8300']);
    const self = await json(call, '/v1/agent/self');
    assert.equal(self.body.Config.Datacenter, 'dc1');
    const unknown = await call('GET', '/v1/health/service/nothing.Here');
    assert.equal(unknown.status, 200);
    assert.equal(unknown.text, '[]');
    assert.equal(unknown.headers.get('x-consul-knownleader'), 'true');
    assert.equal(unknown.headers.get('x-consul-lastcontact'), '0');
    assert.ok(Number(unknown.headers.get('x-consul-index')) >= 1);
  });

  it('moves an ID registered again under another name, and deregisters by ID', async () => {
    assert.equal(
      (await call('PUT', '/v1/agent/service/register', { ID: 'mv', Name: 'old.Name', Port: 1 })).status,
      200,
    );
    assert.equal(
      (await call('PUT', '/v1/agent/service/register', { ID: 'mv', Name: 'new.Name', Port: 1 })).status,
      200,
    );
    assert.deepEqual(hub.registry.entries('old.Name'), []);
    assert.equal(hub.registry.entries('new.Name').length, 1);
    assert.equal((await call('PUT', '/v1/agent/service/deregister/mv')).status, 200);
    assert.deepEqual(hub.registry.entries('new.Name'), []);
  });

  it('shows instances of other hub APIs with a check for their lease', async () => {
    hub.registry.upsert(
      {
        service: 'native.Svc',
        id: 'n-1',
        endpoints: [{ transport: 'native', host: '10.1.1.1', port: 7 }],
        metadata: {},
      },
      5000,
    );
    const { body } = await json(call, '/v1/health/service/native.Svc?passing');
    assert.equal(body[0].Service.Meta['switchboard-endpoints'], 'native://10.1.1.1:7');
    assert.equal(body[0].Checks[1].CheckID, 'service:n-1');
    assert.equal((await call('PUT', '/v1/agent/check/fail/service:n-1?note=down')).status, 200);
    assert.equal(hub.registry.get('native.Svc', 'n-1')?.health, 'critical');
    assert.equal(hub.registry.get('native.Svc', 'n-1')?.output, 'down');
  });
});

describe('Consul API: blocking queries', () => {
  let hub: HubServer;
  let call: Caller;
  before(async () => ({ hub, call } = await startConsulHub()));
  after(() => hub.close());

  it('returns at once without an index, and on the change when blocking', async () => {
    await call('PUT', '/v1/agent/service/register', { ID: 'b-1', Name: 'block.Svc', Port: 1 });
    const first = await json(call, '/v1/health/service/block.Svc');
    const started = Date.now();
    const blocked = json(call, `/v1/health/service/block.Svc?index=${first.index}&wait=5s`);
    await sleep(100);
    await call('PUT', '/v1/agent/service/register', { ID: 'b-2', Name: 'block.Svc', Port: 2 });
    const second = await blocked;
    assert.ok(Date.now() - started < 2000);
    assert.ok(second.index > first.index);
    assert.equal(second.body.length, 2);
  });

  it('times out after wait with the same index when nothing changed, even if other services did', async () => {
    const { index } = await json(call, '/v1/health/service/block.Svc');
    const started = Date.now();
    const blocked = json(call, `/v1/health/service/block.Svc?index=${index}&wait=400ms`);
    await sleep(50);
    await call('PUT', '/v1/agent/service/register', { ID: 'o-1', Name: 'other.Svc', Port: 1 });
    const answer = await blocked;
    const took = Date.now() - started;
    assert.ok(took >= 390 && took < 2000, `took ${took} ms`);
    assert.equal(answer.body.length, 2);
    assert.ok(answer.index >= index);
  });

  it('blocks catalog/services on any change', async () => {
    const { index } = await json(call, '/v1/catalog/services');
    const blocked = json(call, `/v1/catalog/services?index=${index}&wait=5s`);
    await sleep(50);
    await call('PUT', '/v1/agent/service/register', { ID: 'c-1', Name: 'catalog.New', Port: 1 });
    const answer = await blocked;
    assert.ok(answer.index > index);
    assert.ok('catalog.New' in answer.body);
  });

  it('ends the wait when the client goes away', async () => {
    const { index } = await json(call, '/v1/health/service/block.Svc');
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const req = http.get(`${hub.url}/v1/health/service/block.Svc?index=${index}&wait=60s`);
    req.on('error', () => {});
    await waitFor(() => timers() > before, 2000);
    req.destroy();
    await waitFor(() => timers() === before, 2000);
  });
});

describe('Consul API: TTL checks', () => {
  let hub: HubServer;
  let call: Caller;
  before(async () => ({ hub, call } = await startConsulHub()));
  after(() => hub.close());

  it('starts critical, passes, goes critical when the TTL runs out and stays listed without ?passing', async () => {
    const reg = await call('PUT', '/v1/agent/service/register', {
      name: 'ttl.Svc',
      id: 't-1',
      port: 1,
      check: { ttl: '400ms' },
    });
    assert.equal(reg.status, 200, reg.text);
    assert.deepEqual((await json(call, '/v1/health/service/ttl.Svc?passing')).body, []);
    const all = await json(call, '/v1/health/service/ttl.Svc');
    assert.equal(all.body[0].Checks[1].CheckID, 'service:t-1');
    assert.equal(all.body[0].Checks[1].Status, 'critical');
    // python-consul 0.7 passes a check with GET.
    assert.equal((await call('GET', '/v1/agent/check/pass/service:t-1?note=ok')).status, 200);
    const passing = await json(call, '/v1/health/service/ttl.Svc?passing=1');
    assert.equal(passing.body.length, 1);
    assert.equal(passing.body[0].Checks[1].Output, 'ok');
    await waitFor(
      async () => (await json(call, '/v1/health/service/ttl.Svc?passing')).body.length === 0,
      2000,
    );
    const expired = await json(call, '/v1/health/service/ttl.Svc');
    assert.equal(expired.body[0].Checks[1].Status, 'critical');
    assert.equal(expired.body[0].Checks[1].Output, 'TTL expired');
    assert.ok('ttl.Svc' in (await json(call, '/v1/catalog/services')).body);
  });

  it('deregisters a service critical for DeregisterCriticalServiceAfter', async () => {
    await call('PUT', '/v1/agent/service/register', {
      Name: 'dereg.Svc',
      Port: 1,
      Check: { TTL: '200ms', Status: 'passing', DeregisterCriticalServiceAfter: '300ms' },
    });
    assert.equal((await json(call, '/v1/health/service/dereg.Svc?passing')).body.length, 1);
    await waitFor(async () => !('dereg.Svc' in (await json(call, '/v1/catalog/services')).body), 3000);
    await refused(call, 'PUT', '/v1/agent/check/pass/service:dereg.Svc', undefined, 404, /Unknown check ID/);
  });

  it('honours a CheckID given at registration, warn and update', async () => {
    await call('PUT', '/v1/agent/service/register', {
      ID: 'c-9',
      Name: 'checked.Svc',
      Port: 1,
      Checks: [{ CheckID: 'my-check', Name: 'mine', Notes: 'n', TTL: '10s', Status: 'passing' }],
    });
    await refused(call, 'PUT', '/v1/agent/check/pass/service:c-9', undefined, 404, /Unknown check ID/);
    assert.equal((await call('PUT', '/v1/agent/check/warn/my-check?note=slow')).status, 200);
    assert.deepEqual((await json(call, '/v1/health/service/checked.Svc?passing')).body, []);
    const checks = await json(call, '/v1/agent/checks');
    assert.equal(checks.body['my-check'].Status, 'warning');
    assert.equal(checks.body['my-check'].Name, 'mine');
    assert.equal(checks.body['my-check'].Notes, 'n');
    const update = await call('PUT', '/v1/agent/check/update/my-check', {
      Status: 'passing',
      Output: 'x'.repeat(5000),
    });
    assert.equal(update.status, 200, update.text);
    const [entry] = (await json(call, '/v1/health/service/checked.Svc?passing')).body;
    assert.match(entry.Checks[1].Output, /\(captured 4096 of 5000 bytes\)$/);
    assert.equal((await call('GET', '/v1/agent/service/deregister/c-9')).status, 200);
    await refused(call, 'PUT', '/v1/agent/check/pass/my-check', undefined, 404, /Unknown check ID/);
  });

  it('wakes a blocking query when a TTL runs out', async () => {
    await call('PUT', '/v1/agent/service/register', {
      Name: 'wake.Svc',
      Port: 1,
      Check: { TTL: '300ms', Status: 'passing' },
    });
    const { index, body } = await json(call, '/v1/health/service/wake.Svc?passing');
    assert.equal(body.length, 1);
    const started = Date.now();
    const answer = await json(call, `/v1/health/service/wake.Svc?passing&index=${index}&wait=10s`);
    assert.ok(Date.now() - started < 2000);
    assert.deepEqual(answer.body, []);
  });
});
