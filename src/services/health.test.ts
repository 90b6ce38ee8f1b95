import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { echoContract, echoImplementation } from '../../test/fixtures/echo-service.ts';
import { codeOf } from '../../test/support/status.ts';
import { Status } from '../contract/index.ts';
import { createClient, type Message, ServiceHost } from '../core/index.ts';
import { InprocTransport } from '../transports/inproc/index.ts';
import { HEALTH_SERVICE_NAME, type HealthMethods, HealthService, healthContract } from './health.ts';

const SERVING = 1;
const NOT_SERVING = 2;
const SERVICE_UNKNOWN = 3;

function setup() {
  const ended: string[] = [];
  const host = new ServiceHost({
    // Records when a handler has really finished, not just when the caller stopped waiting.
    interceptors: [(ctx, next) => next().finally(() => ended.push(ctx.method.name))],
  });
  host.add(echoContract().service('sb.test.Echo'), echoImplementation as never);
  const health = new HealthService().addTo(host);
  const client = createClient<HealthMethods>(
    healthContract().service(HEALTH_SERVICE_NAME),
    new InprocTransport(host),
  );
  return { host, health, client, ended };
}

describe('HealthService', () => {
  it('answers Check for the server, for served services, and NOT_FOUND for unknown ones', async () => {
    const { health, client } = setup();
    assert.deepEqual({ ...(await client.check({ service: '' })) }, { status: SERVING });
    assert.equal((await client.check({ service: 'sb.test.Echo' })).status, SERVING);
    assert.equal(await codeOf(client.check({ service: 'no.such.Service' })), Status.NOT_FOUND);

    health.setStatus('sb.test.Echo', 'NOT_SERVING');
    assert.equal((await client.check({ service: 'sb.test.Echo' })).status, NOT_SERVING);
    health.clearStatus('sb.test.Echo');
    health.setStatus('', 'NOT_SERVING');
    assert.equal((await client.check({ service: 'sb.test.Echo' })).status, NOT_SERVING, 'follows the server');
  });

  it('lists every known status', async () => {
    const { health, client } = setup();
    health.setStatus('custom', 'NOT_SERVING');
    const res = await client.list({});
    const statuses = Object.fromEntries(
      Object.entries(res.statuses as Record<string, Message>).map(([k, v]) => [k, v.status]),
    );
    assert.deepEqual(statuses, {
      '': SERVING,
      custom: NOT_SERVING,
      'sb.test.Echo': SERVING,
      'grpc.health.v1.Health': SERVING,
    });
  });

  it('streams the current status and then each change until the caller leaves', async () => {
    const { health, client, ended } = setup();
    const seen: number[] = [];
    const watching = (async () => {
      for await (const res of client.watch({ service: 'later' })) {
        seen.push(res.status as number);
        if (seen.length === 1) health.setStatus('later', 'SERVING');
        if (seen.length === 2) {
          health.setStatus('later', 'SERVING'); // no change: nothing sent
          health.setStatus('later', 'NOT_SERVING');
        }
        if (seen.length === 3) break;
      }
    })();
    await watching;
    assert.deepEqual(seen, [SERVICE_UNKNOWN, SERVING, NOT_SERVING]);
    for (let i = 0; i < 50 && !ended.includes('Watch'); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(ended.includes('Watch'), 'the Watch handler ended when the caller left');
  });

  it('ends a Watch on the deadline', async () => {
    const { client } = setup();
    const seen: number[] = [];
    const code = await codeOf(
      (async () => {
        for await (const res of client.watch({ service: '' }, { timeoutMs: 100 }))
          seen.push(res.status as number);
      })(),
    );
    assert.equal(code, Status.DEADLINE_EXCEEDED);
    assert.deepEqual(seen, [SERVING]);
  });

  it('reports NOT_SERVING for everything after shutdown, until resumed', async () => {
    const { health, client } = setup();
    health.shutdown();
    health.setStatus('', 'SERVING'); // ignored while shut down
    assert.equal((await client.check({ service: '' })).status, NOT_SERVING);
    assert.equal((await client.check({ service: 'sb.test.Echo' })).status, NOT_SERVING);
    health.resume();
    assert.equal((await client.check({ service: '' })).status, SERVING);
  });
});
