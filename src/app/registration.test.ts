import assert from 'node:assert/strict';
import { it } from 'node:test';
import { type EchoService, echoContract, echoImplementation } from '../../test/fixtures/echo-service.ts';
import { StaticRegistry } from '../discovery/index.ts';
import { Server } from './server.ts';

const echo = echoContract().service('sb.test.Echo');

it('registers one instance per served service with an endpoint per transport, and deregisters on close', async () => {
  const registry = new StaticRegistry();
  const server = new Server({ grpc: { port: 0 }, native: { port: 0 } }).add<EchoService>(
    echo,
    echoImplementation,
  );
  await assert.rejects(server.register({ registry }), /call listen\(\) first/);
  await server.listen();
  await server.register({ registry, zone: 'z1', version: '2', deregisterDelayMs: 0 });
  const [instance] = await registry.list('sb.test.Echo');
  assert.deepEqual(
    instance?.endpoints.map((e) => e.transport),
    ['native', 'grpc'],
  );
  assert.equal(instance?.zone, 'z1');
  assert.deepEqual(await registry.services(), ['sb.test.Echo']);
  await server.close(100);
  assert.deepEqual(await registry.list('sb.test.Echo'), []);
  await registry.close();
});

it('refuses to register a server that is not healthy', async () => {
  const registry = new StaticRegistry();
  const server = new Server({ native: { port: 0 } }).add<EchoService>(echo, echoImplementation);
  await server.listen();
  server.health.setStatus('', 'NOT_SERVING');
  try {
    await assert.rejects(server.register({ registry }), /health is NOT_SERVING/);
    assert.deepEqual(await registry.services(), []);
  } finally {
    await server.close(100);
    await registry.close();
  }
});
