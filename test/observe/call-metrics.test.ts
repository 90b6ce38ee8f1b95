/**
 * Call metrics over real servers: one Server on gRPC, HTTP and native with the server
 * interceptor, a client of each transport with the client interceptor; counts, codes,
 * durations and in-flight gauges per method and transport.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect } from '../../src/app/connect.ts';
import { Server } from '../../src/app/server.ts';
import { Status } from '../../src/contract/index.ts';
import { Metrics, metricsInterceptors } from '../../src/observe/metrics/index.ts';
import { type EchoService, echoContract, echoImplementation } from '../fixtures/echo-service.ts';
import { rejectsWith } from '../support/status.ts';
import { waitFor } from '../support/wait.ts';
import { histogramCount, sample } from './samples.ts';

const echo = echoContract().service('sb.test.Echo');
const TRANSPORTS = ['grpc', 'http', 'native'] as const;

describe('call metrics on every transport', { timeout: 30_000 }, () => {
  const serverMetrics = new Metrics();
  const clientMetrics = new Metrics();
  const server = new Server({
    grpc: { port: 0 },
    http: { port: 0 },
    native: { port: 0 },
    interceptors: [metricsInterceptors(serverMetrics).server],
  });
  server.add<EchoService>(echo, echoImplementation);
  const clients = new Map<(typeof TRANSPORTS)[number], ReturnType<typeof connect<EchoService>>>();

  before(async () => {
    const addresses = await server.listen();
    for (const transport of TRANSPORTS) {
      const { port } = addresses[transport]!;
      clients.set(
        transport,
        connect<EchoService>(echo, {
          target: `${transport}://127.0.0.1:${port}`,
          interceptors: [metricsInterceptors(clientMetrics, { clientTransport: transport }).client],
        }),
      );
    }
  });
  after(async () => {
    await Promise.all([...clients.values()].map((c) => c.close()));
    await server.close(100);
  });

  for (const transport of TRANSPORTS) {
    it(`${transport}: unary OK and errors by code, on both sides`, async () => {
      const client = clients.get(transport)!;
      for (let i = 0; i < 3; i++) await client.unary({ text: 'hi' });
      await rejectsWith(client.unary({ text: 'missing', failWith: Status.NOT_FOUND }), Status.NOT_FOUND);
      const labels = { service: 'sb.test.Echo', method: 'Unary', transport };
      for (const [side, metrics] of [
        ['server', serverMetrics],
        ['client', clientMetrics],
      ] as const) {
        assert.equal(
          await sample(metrics, `switchboard_${side}_requests_total`, { ...labels, code: 'OK' }),
          3,
        );
        assert.equal(
          await sample(metrics, `switchboard_${side}_requests_total`, { ...labels, code: 'NOT_FOUND' }),
          1,
        );
        assert.equal(
          await histogramCount(metrics, `switchboard_${side}_request_duration_seconds`, labels),
          4,
        );
        assert.equal(await sample(metrics, `switchboard_${side}_in_flight`, labels), 0);
      }
    });

    it(`${transport}: a server stream counts once, when it ends`, async () => {
      const client = clients.get(transport)!;
      const labels = { service: 'sb.test.Echo', method: 'ServerStream', transport };
      const seen: number[] = [];
      for await (const reply of client.serverStream({ text: 's', count: 3, delayMs: 20 })) {
        seen.push(reply.index);
        if (seen.length === 1) {
          // Mid-stream: in flight on both sides, not yet counted.
          assert.equal(await sample(serverMetrics, 'switchboard_server_in_flight', labels), 1);
          assert.equal(await sample(clientMetrics, 'switchboard_client_in_flight', labels), 1);
          assert.equal(await sample(serverMetrics, 'switchboard_server_requests_total', labels), 0);
        }
      }
      assert.deepEqual(seen, [0, 1, 2]);
      await waitFor(async () => (await sample(serverMetrics, 'switchboard_server_in_flight', labels)) === 0);
      for (const [side, metrics] of [
        ['server', serverMetrics],
        ['client', clientMetrics],
      ] as const) {
        assert.equal(
          await sample(metrics, `switchboard_${side}_requests_total`, { ...labels, code: 'OK' }),
          1,
        );
        assert.equal(await sample(metrics, `switchboard_${side}_in_flight`, labels), 0);
      }
      const [duration] = (await serverMetrics.values('switchboard_server_request_duration_seconds'))!.filter(
        (v) =>
          (v as { metricName?: string }).metricName === 'switchboard_server_request_duration_seconds_sum' &&
          v.labels.method === 'ServerStream' &&
          v.labels.transport === transport,
      );
      assert.ok(
        duration && duration.value >= 0.04,
        `the stream took ${duration?.value} s, 3 × 20 ms expected`,
      );
    });
  }

  it('a unary call in flight shows in the gauge, then leaves it', async () => {
    const client = clients.get('native')!;
    const labels = { service: 'sb.test.Echo', method: 'Default', transport: 'native' };
    const slow = client.default({ text: 'slow', delayMs: 300 });
    await waitFor(async () => (await sample(serverMetrics, 'switchboard_server_in_flight', labels)) === 1);
    assert.equal(await sample(clientMetrics, 'switchboard_client_in_flight', labels), 1);
    await slow;
    assert.equal(await sample(serverMetrics, 'switchboard_server_in_flight', labels), 0);
    assert.equal(await sample(clientMetrics, 'switchboard_client_in_flight', labels), 0);
  });

  it('a client that leaves a stream early counts CANCELLED', async () => {
    const client = clients.get('grpc')!;
    const labels = { service: 'sb.test.Echo', method: 'ServerStream', transport: 'grpc', code: 'CANCELLED' };
    for await (const _ of client.serverStream({ text: 'x', count: 5, delayMs: 10 })) break;
    assert.equal(await sample(clientMetrics, 'switchboard_client_requests_total', labels), 1);
    await waitFor(
      async () => (await sample(serverMetrics, 'switchboard_server_requests_total', labels)) === 1,
    );
  });
});
