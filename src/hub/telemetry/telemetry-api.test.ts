/**
 * The hub's telemetry end to end: spans from the real OpenTelemetry SDK, exported by its
 * OTLP/HTTP JSON exporter to a real hub, become traces, topology edges and snapshots; the
 * dashboard stream pushes snapshots; contracts come by reflection from a real registered Server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type Context,
  context,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { type EchoService, echoContract, echoImplementation } from '../../../test/fixtures/echo-service.ts';
import { rawRequest } from '../../../test/support/raw-http.ts';
import { Server } from '../../app/server.ts';
import { HubRegistry } from '../../discovery/hub/registry.ts';
import { HubServer } from '../server.ts';
import type { DashboardSnapshot } from './snapshot.ts';
import type { SpanRecord } from './span-record.ts';
import type { TraceSummary } from './trace-store.ts';

function provider(hub: HubServer, service: string): BasicTracerProvider {
  return new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: `${hub.url}/v1/traces` }))],
  });
}

async function getJson<T>(hub: HubServer, path: string, status = 200): Promise<T> {
  const answer = await rawRequest(hub.url, 'GET', path);
  assert.equal(answer.status, status, `${path}: ${answer.text}`);
  return answer.json as T;
}

/** Reads `count` `event: snapshot` events from the dashboard stream. */
async function readSnapshots(hub: HubServer, count: number): Promise<DashboardSnapshot[]> {
  const res = await fetch(`${hub.url}/api/v1/dashboard/stream`, { signal: AbortSignal.timeout(5000) });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const events: DashboardSnapshot[] = [];
  let text = '';
  try {
    while (events.length < count) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      let cut = text.indexOf('\n\n');
      while (cut >= 0) {
        const block = text.slice(0, cut);
        text = text.slice(cut + 2);
        const lines = block.split('\n');
        if (lines[0] === 'event: snapshot') {
          events.push(JSON.parse((lines[1] ?? '').replace(/^data: /, '')) as DashboardSnapshot);
        }
        cut = text.indexOf('\n\n');
      }
    }
  } finally {
    await reader.cancel();
  }
  return events;
}

describe('telemetry: traces, topology and dashboard from the OpenTelemetry SDK', () => {
  let hub: HubServer;
  let web: BasicTracerProvider;
  let greeter: BasicTracerProvider;
  let billing: BasicTracerProvider;
  const traceIds: string[] = [];
  let exportStarted = 0;

  before(async () => {
    hub = new HubServer({ port: 0, telemetry: { streamIntervalMs: 150 } });
    await hub.listen();
    web = provider(hub, 'web');
    greeter = provider(hub, 'greeter');
    billing = provider(hub, 'billing');
    const now = Date.now();
    exportStarted = now;
    // 20 gRPC calls web → greeter: client latencies 1..19 ms and one of 100 ms; 5 fail at the server.
    for (let i = 0; i < 20; i++) {
      const latency = i === 7 ? 100 : i + 1;
      const start = now - 200 + i;
      const client = web.getTracer('t').startSpan(
        'greet.Greeter/SayHello',
        {
          kind: SpanKind.CLIENT,
          startTime: start,
          attributes: { 'rpc.system': 'grpc', 'rpc.service': 'greet.Greeter', 'rpc.method': 'SayHello' },
        },
        ROOT_CONTEXT,
      );
      traceIds.push(client.spanContext().traceId);
      const remote: Context = trace.setSpanContext(ROOT_CONTEXT, client.spanContext());
      const server = greeter.getTracer('t').startSpan(
        'greet.Greeter/SayHello',
        {
          kind: SpanKind.SERVER,
          startTime: start + 0.2,
          attributes: { 'rpc.system': 'grpc', 'rpc.service': 'greet.Greeter', 'rpc.method': 'SayHello' },
        },
        remote,
      );
      if (i % 4 === 0) server.setStatus({ code: SpanStatusCode.ERROR, message: 'boom' });
      server.end(start + latency - 0.2);
      client.end(start + latency);
    }
    // One event web → topic orders → billing.
    const producer = web.getTracer('t').startSpan(
      'orders publish',
      {
        kind: SpanKind.PRODUCER,
        attributes: { 'messaging.system': 'switchboard', 'messaging.destination.name': 'orders' },
      },
      ROOT_CONTEXT,
    );
    const consumerParent = trace.setSpanContext(ROOT_CONTEXT, producer.spanContext());
    const consumer: Span = billing
      .getTracer('t')
      .startSpan(
        'orders process',
        { kind: SpanKind.CONSUMER, attributes: { 'messaging.destination.name': 'orders' } },
        consumerParent,
      );
    context.with(consumerParent, () => consumer.end());
    producer.end();
    await Promise.all([web.forceFlush(), greeter.forceFlush(), billing.forceFlush()]);
  });

  after(async () => {
    await Promise.all([web?.shutdown(), greeter?.shutdown(), billing?.shutdown()]);
    await hub?.close();
  });

  it('lists traces newest first, filtered by service, and returns each with its spans', async () => {
    const { traces } = await getJson<{ traces: TraceSummary[] }>(hub, '/api/v1/traces?limit=100');
    const calls = traces.filter((t) => traceIds.includes(t.traceId));
    assert.equal(calls.length, 20);
    for (let i = 1; i < traces.length; i++) {
      assert.ok(
        (traces[i - 1] as TraceSummary).startMs >= (traces[i] as TraceSummary).startMs,
        'newest first',
      );
    }
    const first = calls.find((t) => t.traceId === traceIds[7]) as TraceSummary;
    assert.equal(first.rootName, 'greet.Greeter/SayHello');
    assert.equal(first.rootService, 'web');
    assert.deepEqual(first.services, ['web', 'greeter']);
    assert.equal(first.spanCount, 2);
    assert.ok(Math.abs(first.durationMs - 100) < 0.01, String(first.durationMs));
    assert.equal(first.error, false);
    assert.equal(calls.find((t) => t.traceId === traceIds[4])?.error, true);

    const limited = await getJson<{ traces: TraceSummary[] }>(hub, '/api/v1/traces?limit=3');
    assert.equal(limited.traces.length, 3);
    const billingOnly = await getJson<{ traces: TraceSummary[] }>(hub, '/api/v1/traces?service=billing');
    assert.equal(billingOnly.traces.length, 1);
    assert.deepEqual(billingOnly.traces[0]?.services.sort(), ['billing', 'web']);

    const one = await getJson<{ traceId: string; spans: SpanRecord[] }>(hub, `/api/v1/traces/${traceIds[4]}`);
    assert.equal(one.traceId, traceIds[4]);
    const [client, server] = one.spans;
    assert.equal(client?.kind, 'client');
    assert.equal(client?.service, 'web');
    assert.equal(client?.parentSpanId, undefined);
    assert.equal(client?.attributes['rpc.service'], 'greet.Greeter');
    assert.equal(server?.kind, 'server');
    assert.equal(server?.parentSpanId, client?.spanId);
    assert.deepEqual(server?.status, { code: 'error', message: 'boom' });
    await getJson(hub, `/api/v1/traces/${'e'.repeat(32)}`, 404);
    await getJson(hub, '/api/v1/traces/nothex', 400);
    await getJson(hub, '/api/v1/traces?limit=zero', 400);
  });

  it('computes edges with rate, error share and p99, and topic nodes for messages', async () => {
    const snapshot = await getJson<DashboardSnapshot>(hub, '/api/v1/dashboard/snapshot');
    const call = snapshot.edges.find((e) => e.from === 'web' && e.to === 'greeter');
    assert.ok(call, JSON.stringify(snapshot.edges));
    assert.equal(call.transport, 'grpc');
    assert.equal(call.count, 20);
    assert.equal(call.errorRate, 0.25);
    assert.ok(Math.abs(call.p99Ms - 100) < 0.01, String(call.p99Ms));
    // 20 calls over the time since the edge was first seen (at least 1 s).
    const seconds = Math.max(1, (Date.now() - exportStarted) / 1000);
    assert.ok(call.rate <= 20 && call.rate >= 20 / seconds - 0.01, `rate ${call.rate}`);
    const published = snapshot.edges.find((e) => e.from === 'web' && e.to === 'topic:orders');
    const consumed = snapshot.edges.find((e) => e.from === 'topic:orders' && e.to === 'billing');
    assert.equal(published?.count, 1);
    assert.equal(published?.transport, 'queue');
    assert.equal(consumed?.count, 1);
  });

  it('shows registered instances, services seen only in spans, ejections and broker topics', async () => {
    hub.registry.upsert(
      {
        service: 'greeter',
        id: 'greeter-1',
        endpoints: [{ transport: 'grpc', host: '127.0.0.1', port: 50051 }],
        zone: 'z1',
        metadata: {},
      },
      30_000,
    );
    const put = (body: unknown) =>
      rawRequest(hub.url, 'PUT', '/api/v1/telemetry/instances/greeter-1', {
        body: JSON.stringify(body),
        headers: { 'content-type': 'application/json' },
      });
    const reported = await put({ ejected: true, by: 'web-7' });
    assert.equal(reported.status, 200, reported.text);
    assert.equal((await put({ ejected: 'yes', by: 'web-7' })).status, 400);
    assert.equal((await put({ ejected: true })).status, 400);
    const broker = hub.broker;
    assert.ok(broker);
    for (const id of ['m1', 'm2']) await broker.publish('orders', { id, payload: new Uint8Array([1]) });
    const snapshot = await getJson<DashboardSnapshot>(hub, '/api/v1/dashboard/snapshot');
    assert.ok(Math.abs(snapshot.time - Date.now()) < 5000);
    const names = snapshot.services.map((s) => s.name);
    assert.deepEqual(names, ['billing', 'greeter', 'web']);
    const greeterView = snapshot.services.find((s) => s.name === 'greeter');
    assert.deepEqual(greeterView?.instances, [
      {
        id: 'greeter-1',
        service: 'greeter',
        endpoints: [{ transport: 'grpc', host: '127.0.0.1', port: 50051 }],
        health: 'passing',
        ejected: true,
        zone: 'z1',
      },
    ]);
    assert.deepEqual(snapshot.services.find((s) => s.name === 'web')?.instances, []);
    const orders = snapshot.topics.find((t) => t.name === 'orders');
    assert.deepEqual(orders?.published, 2);
    assert.deepEqual(orders?.groups, []);
    assert.ok((orders?.publishRate ?? -1) >= 0);
    assert.equal((await put({ ejected: false, by: 'web-7' })).status, 200);
    const after = await getJson<DashboardSnapshot>(hub, '/api/v1/dashboard/snapshot');
    assert.equal(after.services.find((s) => s.name === 'greeter')?.instances[0]?.ejected, false);
    hub.registry.remove('greeter', 'greeter-1');
  });

  it('streams a snapshot at once and then every interval', async () => {
    const started = Date.now();
    const [first, second] = await readSnapshots(hub, 2);
    assert.ok(first && second);
    assert.ok(second.time > first.time, 'a later snapshot');
    assert.ok(Date.now() - started < 2000);
    assert.ok(first.edges.some((e) => e.from === 'web' && e.to === 'greeter'));
  });

  it('ends open streams when the hub closes', async () => {
    const other = new HubServer({ port: 0, broker: false });
    await other.listen();
    const res = await fetch(`${other.url}/api/v1/dashboard/stream`, { signal: AbortSignal.timeout(5000) });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    const closing = other.close();
    let done = false;
    while (!done) done = (await reader.read()).done;
    await closing;
    assert.equal(done, true);
  });
});

describe('telemetry: service contracts by reflection', () => {
  let hub: HubServer;
  let server: Server;
  let registry: HubRegistry;

  before(async () => {
    hub = new HubServer({ port: 0, broker: false });
    await hub.listen();
    registry = new HubRegistry({ url: hub.url });
    server = new Server({ grpc: { port: 0 }, native: { port: 0 } }).add<EchoService>(
      echoContract().service('sb.test.Echo'),
      echoImplementation,
    );
    await server.listen();
    await server.register({ registry, deregisterDelayMs: 0 });
  });

  after(async () => {
    await server?.close(100);
    await registry?.close();
    await hub?.close();
  });

  it('renders the contract of a registered service as .proto text', async () => {
    const contract = await getJson<{ service: string; files: { name: string; text: string }[] }>(
      hub,
      '/api/v1/services/sb.test.Echo/contract',
    );
    assert.equal(contract.service, 'sb.test.Echo');
    const [main, ...imports] = contract.files;
    assert.match(main?.text ?? '', /^syntax = "proto3";/);
    assert.match(main?.text ?? '', /package sb\.test;/);
    assert.match(
      main?.text ?? '',
      /service Echo \{\n {2}rpc Unary \(EchoRequest\) returns \(EchoResponse\) \{/,
    );
    assert.match(main?.text ?? '', /rpc ClientStream \(stream EchoRequest\) returns \(EchoResponse\);/);
    assert.match(main?.text ?? '', /rpc Bidi \(stream EchoRequest\) returns \(stream EchoResponse\);/);
    assert.match(main?.text ?? '', /map<string, string> labels = 8;/);
    assert.match(main?.text ?? '', /repeated string tags = 9;/);
    assert.match(main?.text ?? '', /google\.protobuf\.Timestamp at = 7;/);
    assert.match(main?.text ?? '', /enum Kind \{\n {2}KIND_UNSPECIFIED = 0;/);
    assert.match(
      main?.text ?? '',
      /rpc Unary \(EchoRequest\) returns \(EchoResponse\) \{\n {4}option \(google\.api\.http\) = \{ post: "\/v1\/echo" body: "\*" additional_bindings \{ get: "\/v1\/echo\/\{text\}" \} \};/,
    );
    assert.ok(imports.some((f) => f.name === 'google/protobuf/timestamp.proto'));
    const text = (name: string) => imports.find((f) => f.name === name)?.text ?? '';
    assert.match(
      text('google/api/annotations.proto'),
      /extend google\.protobuf\.MethodOptions \{\n {2}HttpRule http = 72295728;/,
    );
    assert.match(text('google/api/http.proto'), /oneof pattern \{\n {4}string get = 2;/);
    assert.match(
      text('google/protobuf/descriptor.proto'),
      /^syntax = "proto2";[\s\S]*optional string name = 1;/,
    );
  });

  it('answers 404 for a service with no instance and 502 when no instance can describe it', async () => {
    const missing = await rawRequest(hub.url, 'GET', '/api/v1/services/no.Such/contract');
    assert.equal(missing.status, 404);
    assert.match((missing.json as { error: string }).error, /no instance of no\.Such/);
    hub.registry.upsert(
      {
        service: 'web.Only',
        id: 'w1',
        endpoints: [{ transport: 'http', host: '127.0.0.1', port: 1 }],
        metadata: {},
      },
      30_000,
    );
    // HTTP endpoints are asked too (contract-fetcher.test.ts); this one refuses connections.
    const httpOnly = await rawRequest(hub.url, 'GET', '/api/v1/services/web.Only/contract');
    assert.equal(httpOnly.status, 502);
    assert.match((httpOnly.json as { error: string }).error, /could not learn the contract of web\.Only.*w1/);
    hub.registry.upsert(
      {
        service: 'dead.Svc',
        id: 'd1',
        endpoints: [{ transport: 'grpc', host: '127.0.0.1', port: 1 }],
        metadata: {},
      },
      30_000,
    );
    const dead = await rawRequest(hub.url, 'GET', '/api/v1/services/dead.Svc/contract');
    assert.equal(dead.status, 502);
    assert.match((dead.json as { error: string }).error, /could not learn the contract of dead\.Svc.*d1/);
  });
});
