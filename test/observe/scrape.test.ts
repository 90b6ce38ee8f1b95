/**
 * What Prometheus scrapes, read by Prometheus's own Python client parser: a service's
 * /metrics on its HTTP port, the standalone listener, and the hub's /metrics with a registered
 * service and a consumer group behind.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HubBroker } from '../../src/app/brokers/index.ts';
import { connect } from '../../src/app/connect.ts';
import { Server } from '../../src/app/server.ts';
import { HubRegistry } from '../../src/discovery/index.ts';
import { HubServer } from '../../src/hub/server.ts';
import {
  Metrics,
  type MetricsListener,
  metricsEndpoint,
  metricsInterceptors,
  serveMetrics,
} from '../../src/observe/metrics/index.ts';
import { type EchoService, echoContract, echoImplementation } from '../fixtures/echo-service.ts';
import { family, parseWithPython, scrape } from '../support/prometheus-text.ts';
import { waitFor } from '../support/wait.ts';

const echo = echoContract().service('sb.test.Echo');

describe('scraped metrics parse as Prometheus text', { timeout: 60_000 }, () => {
  const metrics = new Metrics({ processMetrics: true, defaultLabels: { instance_name: 'echo-1' } });
  let server: Server;
  let standalone: MetricsListener;
  let hub: HubServer;

  before(async () => {
    hub = new HubServer({ port: 0 });
    await hub.listen();
    server = new Server({
      grpc: { port: 0 },
      http: { port: 0, endpoints: { '/metrics': metricsEndpoint(metrics) } },
      interceptors: [metricsInterceptors(metrics).server],
    });
    server.add<EchoService>(echo, echoImplementation);
    await server.listen();
    standalone = await serveMetrics(metrics, { port: 0 });
  });
  after(async () => {
    await standalone?.close();
    await server?.close(100);
    await hub?.close();
  });

  it("a service's /metrics on its HTTP port, and the standalone listener", async () => {
    const client = connect<EchoService>(echo, { target: `grpc://127.0.0.1:${server.addresses.grpc!.port}` });
    await client.unary({ text: 'a' });
    await client.unary({ text: 'b', failWith: 5 }).catch(() => {});
    await client.close();

    const http = await scrape(`http://127.0.0.1:${server.addresses.http!.port}/metrics`);
    assert.match(http.contentType ?? '', /^text\/plain; version=0\.0\.4/);
    const families = await parseWithPython(http.text);
    const requests = family(families, 'switchboard_server_requests');
    assert.equal(requests.type, 'counter');
    const ok = requests.samples.find(
      (s) => s.name === 'switchboard_server_requests_total' && s.labels.code === 'OK',
    );
    assert.deepEqual(ok?.labels, {
      service: 'sb.test.Echo',
      method: 'Unary',
      transport: 'grpc',
      code: 'OK',
      instance_name: 'echo-1',
    });
    assert.equal(ok?.value, 1);
    assert.ok(requests.samples.some((s) => s.labels.code === 'NOT_FOUND' && s.value === 1));
    assert.equal(family(families, 'switchboard_server_request_duration_seconds').type, 'histogram');
    assert.equal(family(families, 'switchboard_server_in_flight').type, 'gauge');
    family(families, 'process_cpu_user_seconds');
    family(families, 'nodejs_eventloop_lag_seconds');

    const alone = await scrape(standalone.url);
    const again = await parseWithPython(alone.text);
    assert.ok(again.some((f) => f.name === 'switchboard_server_requests'));
    const missing = await fetch(standalone.url.replace('/metrics', '/other'));
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
  });

  it("the hub's /metrics: instances, watchers, connections, broker lag, process", async () => {
    const registry = new HubRegistry({ url: hub.url });
    await server.register({ registry });
    const broker = await HubBroker.fromHub(hub.url);
    const held: (() => void)[] = [];
    const subscription = await broker.subscribe('hello', () => new Promise<void>((r) => held.push(r)), {
      group: 'printer',
    });
    await broker.publish('hello', { payload: Buffer.from('Hello, world!') });
    await broker.publish('hello', { payload: Buffer.from('Hello, again!') });
    await waitFor(() => held.length === 2, 5000);

    const { contentType, text } = await scrape(`${hub.url}/metrics`);
    assert.match(contentType ?? '', /^text\/plain; version=0\.0\.4/);
    const families = await parseWithPython(text);
    const instances = family(families, 'switchboard_hub_instances').samples;
    assert.deepEqual(
      instances.find((s) => s.labels.service === 'sb.test.Echo'),
      { name: 'switchboard_hub_instances', labels: { service: 'sb.test.Echo', health: 'passing' }, value: 1 },
    );
    assert.ok(Number(family(families, 'switchboard_hub_connections').samples[0]?.value) >= 1);
    family(families, 'switchboard_hub_watchers');
    const lag = family(families, 'switchboard_consumer_lag').samples;
    assert.deepEqual(lag, [
      { name: 'switchboard_consumer_lag', labels: { topic: 'hello', group: 'printer' }, value: 2 },
    ]);
    const published = family(families, 'switchboard_topic_messages').samples;
    assert.equal(published.find((s) => s.labels.topic === 'hello')?.value, 2);
    family(families, 'process_resident_memory_bytes');

    for (const done of held) done();
    await subscription.close();
    await broker.close();
    await registry.close();
  });
});
