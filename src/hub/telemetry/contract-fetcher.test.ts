/**
 * Contracts of HTTP-only services: a real Server with nothing but an HTTP endpoint, registered
 * with a real hub, describes itself by gRPC reflection over HTTP (an NDJSON stream); an HTTP
 * server that does not serve reflection gets a 502 that says so.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type EchoService, echoContract, echoImplementation } from '../../../test/fixtures/echo-service.ts';
import { rawRequest } from '../../../test/support/raw-http.ts';
import { Server } from '../../app/server.ts';
import { HubRegistry } from '../../discovery/hub/registry.ts';
import { HubServer } from '../server.ts';
import type { ServiceContract } from './contract-fetcher.ts';

describe('contract fetcher: services reachable over HTTP only', () => {
  let hub: HubServer;
  let registry: HubRegistry;
  let server: Server;
  let foreign: http.Server;
  const foreignRequests: string[] = [];

  before(async () => {
    hub = new HubServer({ port: 0, broker: false, telemetry: { contract: { timeoutMs: 3000 } } });
    await hub.listen();
    registry = new HubRegistry({ url: hub.url });
    server = new Server({ http: { port: 0 } }).add<EchoService>(
      echoContract().service('sb.test.Echo'),
      echoImplementation,
    );
    await server.listen();
    await server.register({ registry, deregisterDelayMs: 0 });
    // An HTTP service of another kind: it knows nothing of reflection.
    foreign = http.createServer((req, res) => {
      foreignRequests.push(`${req.method} ${req.url}`);
      req.resume();
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    });
    await new Promise<void>((resolve) => foreign.listen(0, '127.0.0.1', resolve));
  });

  after(async () => {
    await server?.close(100);
    await registry?.close();
    await hub?.close();
    await new Promise((resolve) => foreign?.close(resolve));
  });

  it('asks an HTTP-only instance by reflection over HTTP and renders its contract', async () => {
    const [lease] = server.leases;
    assert.deepEqual(
      lease?.instance.endpoints.map((e) => e.transport),
      ['http'],
      'the server registered nothing but HTTP',
    );
    const answer = await rawRequest(hub.url, 'GET', '/api/v1/services/sb.test.Echo/contract');
    assert.equal(answer.status, 200, answer.text);
    const contract = answer.json as ServiceContract;
    assert.equal(contract.service, 'sb.test.Echo');
    assert.equal(contract.instanceId, lease?.instance.id);
    const [main, ...imports] = contract.files;
    assert.equal(main?.name, 'echo.proto');
    assert.match(main?.text ?? '', /service Echo \{/);
    assert.match(main?.text ?? '', /rpc Bidi \(stream EchoRequest\) returns \(stream EchoResponse\);/);
    // The HTTP bindings survive the trip (they travel as unknown fields of the descriptors).
    assert.match(main?.text ?? '', /option \(google\.api\.http\) = \{ post: "\/v1\/echo" body: "\*"/);
    assert.ok(imports.some((f) => f.name === 'google/protobuf/timestamp.proto'));
  });

  it('answers 502 naming the instance when its HTTP endpoint does not serve reflection', async () => {
    const { port } = foreign.address() as AddressInfo;
    hub.registry.upsert(
      {
        service: 'web.Foreign',
        id: 'foreign-1',
        endpoints: [{ transport: 'http', host: '127.0.0.1', port }],
        metadata: {},
      },
      30_000,
    );
    const started = Date.now();
    const answer = await rawRequest(hub.url, 'GET', '/api/v1/services/web.Foreign/contract');
    assert.equal(answer.status, 502, answer.text);
    const error = (answer.json as { error: string }).error;
    assert.match(error, /could not learn the contract of web\.Foreign .*foreign-1/);
    assert.match(error, /does not serve gRPC reflection/);
    assert.ok(Date.now() - started < 3000, 'a refusal is not a timeout');
    // It was asked where a Switchboard server serves reflection over HTTP.
    assert.ok(
      foreignRequests.some((r) =>
        /^POST \/grpc\.reflection\.v1(alpha)?\.ServerReflection\/ServerReflectionInfo$/.test(r),
      ),
      foreignRequests.join(', '),
    );
  });
});
