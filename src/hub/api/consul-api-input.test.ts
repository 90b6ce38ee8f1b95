/**
 * Bad input to the hub's Consul API: malformed, mistyped, oversized and truncated requests get
 * Consul's plain-text refusals and the hub keeps serving.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type Caller, refused, startConsulHub } from '../../../test/support/consul-hub.ts';
import type { HubServer } from '../server.ts';

describe('Consul API: bad input', () => {
  let hub: HubServer;
  let call: Caller;
  before(async () => ({ hub, call } = await startConsulHub()));
  after(() => hub.close());
  const register = '/v1/agent/service/register';

  it('refuses malformed and mistyped registrations with plain-text 400s', async () => {
    await refused(call, 'PUT', register, '{"Name": ', 400, /^Request decode failed/);
    await refused(call, 'PUT', register, '', 400, /Request decode failed: EOF/);
    await refused(call, 'PUT', register, '[1,2]', 400, /expected a JSON object/);
    await refused(call, 'PUT', register, { Port: 80 }, 400, /^Missing service name$/);
    await refused(call, 'PUT', register, { Name: 'a', Port: 'eighty' }, 400, /Port: expected an integer/);
    await refused(call, 'PUT', register, { Name: 'a', Port: 1.5 }, 400, /Port: expected an integer/);
    await refused(call, 'PUT', register, { Name: 'a', Port: 70000 }, 400, /Invalid Port/);
    await refused(call, 'PUT', register, { Name: 'a' }, 400, /Invalid Port: the hub needs a Port/);
    await refused(
      call,
      'PUT',
      register,
      { Name: 'a', Port: 1, Address: '0.0.0.0' },
      400,
      /Invalid service address/,
    );
    await refused(call, 'PUT', register, { Name: 'has space', Port: 1 }, 400, /Invalid service: service/);
    await refused(call, 'PUT', register, { Name: 'a', Port: 1, Tags: 'x' }, 400, /Tags: expected an array/);
    await refused(
      call,
      'PUT',
      register,
      { Name: 'a', Port: 1, Meta: { k: 1 } },
      400,
      /Meta.k: expected a string/,
    );
  });

  it('refuses bad checks', async () => {
    const svc = { Name: 'a', Port: 1 };
    await refused(call, 'PUT', register, { ...svc, Check: { TTL: 'ten seconds' } }, 400, /invalid duration/);
    await refused(call, 'PUT', register, { ...svc, Check: { TTL: '-1s' } }, 400, /invalid duration/);
    await refused(call, 'PUT', register, { ...svc, Check: { TTL: '0s' } }, 400, /greater than zero/);
    await refused(
      call,
      'PUT',
      register,
      { ...svc, Check: { TTL: '5s', DeregisterCriticalServiceAfter: 'x' } },
      400,
      /invalid duration/,
    );
    await refused(
      call,
      'PUT',
      register,
      { ...svc, Check: { HTTP: 'http://x/', Interval: '5s' } },
      400,
      /TTL check/,
    );
    await refused(call, 'PUT', register, { ...svc, Check: {} }, 400, /Must provide TTL/);
    await refused(
      call,
      'PUT',
      register,
      { ...svc, Check: { TTL: '5s', Status: 'fine' } },
      400,
      /Status for checks/,
    );
    await refused(
      call,
      'PUT',
      register,
      { ...svc, Checks: [{ TTL: '5s' }, { TTL: '6s' }] },
      400,
      /one TTL check/,
    );
    await refused(call, 'PUT', register, { ...svc, Checks: { TTL: '5s' } }, 400, /Checks: expected an array/);
  });

  it('refuses Meta Consul would refuse', async () => {
    const svc = { Name: 'a', Port: 1 };
    const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v']));
    await refused(call, 'PUT', register, { ...svc, Meta: many }, 400, /more than 64 key\/value pairs/);
    await refused(call, 'PUT', register, { ...svc, Meta: { k: 'v'.repeat(513) } }, 400, /Value is too long/);
    await refused(
      call,
      'PUT',
      register,
      { ...svc, Meta: { ['k'.repeat(129)]: 'v' } },
      400,
      /Key is too long/,
    );
    await refused(
      call,
      'PUT',
      register,
      { ...svc, Meta: { 'a.b': 'v' } },
      400,
      /Key contains invalid characters/,
    );
    await refused(
      call,
      'PUT',
      register,
      { ...svc, Meta: { 'consul-x': 'v' } },
      400,
      /reserved for internal use/,
    );
    await refused(
      call,
      'PUT',
      register,
      { ...svc, Meta: { 'switchboard-endpoints': 'smtp://h:25' } },
      400,
      /Invalid service/,
    );
    const big = JSON.stringify({ ...svc, Meta: { k: 'v'.repeat(300 * 1024) } });
    await refused(call, 'PUT', register, big, 413, /too large/);
  });

  it('answers 404 for unknown checks and services, 405 for wrong methods, 400 for bad queries', async () => {
    await refused(
      call,
      'PUT',
      '/v1/agent/check/pass/service:nobody',
      undefined,
      404,
      /Unknown check ID "service:nobody"/,
    );
    await refused(call, 'PUT', '/v1/agent/check/update/nope', { Status: 'passing' }, 404, /Unknown check ID/);
    await refused(call, 'PUT', '/v1/agent/service/deregister/nobody', undefined, 404, /Unknown service ID/);
    await refused(call, 'GET', register, undefined, 405, /method GET not allowed/);
    await refused(call, 'POST', '/v1/health/service/a', undefined, 405, /not allowed/);
    await refused(
      call,
      'PUT',
      '/v1/agent/check/update/x',
      { Status: 'great' },
      400,
      /Invalid check status: 'great'/,
    );
    await refused(call, 'PUT', '/v1/agent/check/update/x', '{', 400, /Request decode failed/);
    await refused(call, 'GET', '/v1/health/service/a?index=abc', undefined, 400, /Invalid index/);
    await refused(
      call,
      'GET',
      '/v1/health/service/a?index=1&wait=forever',
      undefined,
      400,
      /Invalid wait time/,
    );
    await refused(
      call,
      'GET',
      '/v1/health/service/a?passing=maybe',
      undefined,
      400,
      /Invalid value for \?passing/,
    );
    await refused(call, 'GET', '/v1/health/service/a?filter=Service.Port%3D%3D1', undefined, 400, /filter/);
    await refused(call, 'GET', '/v1/health/service/a?dc=mars', undefined, 500, /No path to datacenter/);
    await refused(call, 'GET', '/v1/health/service/%E0%A4%A', undefined, 400, /Invalid path/);
  });

  it('survives a truncated body and keeps serving', async () => {
    const { port } = new URL(hub.url);
    await new Promise<void>((resolve) => {
      const socket = net.connect(Number(port), '127.0.0.1', () => {
        socket.end(`PUT ${register} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"Name": "trunc`);
      });
      socket.on('close', () => resolve());
      socket.on('error', () => resolve());
      socket.resume();
    });
    assert.deepEqual(hub.registry.entries('trunc'), []);
    assert.equal((await call('GET', '/healthz')).status, 200);
  });
});
