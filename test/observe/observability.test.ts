/**
 * The one-line setup: an Observability given to Server and connect() traces and counts every
 * call, serves /metrics on the HTTP transport (or on a listener of its own without one, named
 * in the registration), and wraps a broker; with tracing off nothing is exported and calls
 * still count.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { connect, Observability, Server } from '../../src/app/index.ts';
import { StaticRegistry } from '../../src/discovery/static/registry.ts';
import { MemoryBroker } from '../../src/messaging/memory/broker.ts';
import { type EchoService, echoContract, echoImplementation } from '../fixtures/echo-service.ts';
import { family, parseWithPython, scrape } from '../support/prometheus-text.ts';
import { waitFor } from '../support/wait.ts';

const echo = echoContract().service('sb.test.Echo');

describe('Observability on Server and connect()', () => {
  const exporter = new InMemorySpanExporter();
  const observe = new Observability({ service: 'echo', exporter, processMetrics: false, logLevel: 'silent' });
  let server: Server;
  let httpBase: string;

  before(async () => {
    server = new Server({
      http: {},
      native: {},
      observe,
      limits: { maxConcurrentCalls: 1 },
    }).add<EchoService>(echo, echoImplementation);
    const addresses = await server.listen();
    httpBase = `http://${addresses.http!.host}:${addresses.http!.port}`;
  });
  after(async () => {
    await server.close(0);
    await observe.shutdown();
  });

  it('traces and counts a call on both sides, and serves /metrics', async () => {
    const address = server.addresses.native!;
    const client = connect<EchoService>(echo, {
      target: `native://${address.host}:${address.port}`,
      observe,
    });
    try {
      assert.equal((await client.unary({ text: 'hi' })).text, 'hi');
    } finally {
      await client.close();
    }
    await waitFor(() => exporter.getFinishedSpans().length >= 2, 2000);
    const [serverSpan] = exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.SERVER);
    const [clientSpan] = exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.CLIENT);
    assert.ok(serverSpan && clientSpan, 'a server and a client span');
    assert.equal(serverSpan.parentSpanContext?.spanId, clientSpan.spanContext().spanId);
    assert.equal(serverSpan.resource.attributes['service.name'], 'echo');

    const res = await fetch(`${httpBase}/metrics`);
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.match(
      text,
      /switchboard_server_requests_total\{[^}]*method="Unary"[^}]*transport="native"[^}]*\} 1/,
      'the server counted the call',
    );
    assert.match(text, /switchboard_client_requests_total\{[^}]*transport="native"[^}]*\} 1/);
  });

  it('counts calls refused by the limits, which run after it', async () => {
    const slow = fetch(`${httpBase}/v1/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'slow', delayMs: 300 }),
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const refused = await fetch(`${httpBase}/v1/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'refused' }),
    });
    assert.equal(refused.status, 429);
    await refused.body?.cancel();
    assert.equal((await slow).status, 200);
    const text = await (await fetch(`${httpBase}/metrics`)).text();
    assert.match(text, /switchboard_server_requests_total\{[^}]*code="RESOURCE_EXHAUSTED"[^}]*\} 1/);
  });

  it('wraps a broker with spans and metrics', async () => {
    const broker = observe.broker(new MemoryBroker());
    try {
      const seen: string[] = [];
      const sub = await broker.subscribe('t', (d) => void seen.push(Buffer.from(d.payload).toString()), {
        group: 'g',
        startAt: 'earliest',
      });
      await broker.publish('t', { payload: Buffer.from('event') });
      await waitFor(() => seen.length === 1, 2000);
      await sub.close();
      const names = exporter.getFinishedSpans().map((s) => s.name);
      assert.ok(names.includes('publish t') && names.includes('process t'), names.join(', '));
      const text = await observe.metrics!.text();
      assert.match(text, /switchboard_messages_published_total\{[^}]*topic="t"[^}]*\} 1/);
      assert.match(text, /switchboard_consumer_lag\{[^}]*topic="t"[^}]*\} 0/);
    } finally {
      await broker.close();
    }
  });

  it('exports nothing without a destination, and still counts', async () => {
    const quiet = new Observability({ service: 'q', hubUrl: '', processMetrics: false, logLevel: 'silent' });
    assert.equal(quiet.tracer, undefined);
    assert.equal(quiet.serverInterceptors().length, 1, 'metrics only');
    await quiet.shutdown();
  });
});

describe('metrics of a server without an HTTP transport', () => {
  it('serves them on a listener of its own, announced in the registration, closed with the server', async () => {
    const observe = new Observability({ service: 'grpc-only', tracing: false, logLevel: 'silent' });
    const server = new Server({ grpc: { host: '127.0.0.1', port: 0 }, observe }).add<EchoService>(
      echo,
      echoImplementation,
    );
    const registry = new StaticRegistry();
    try {
      assert.equal(server.metricsUrl, undefined, 'nothing before listen()');
      await server.listen();
      const url = server.metricsUrl;
      assert.match(url ?? '', /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      assert.notEqual(new URL(url!).port, String(server.addresses.grpc!.port));

      const address = server.addresses.grpc!;
      const client = connect<EchoService>(echo, { target: `grpc://${address.host}:${address.port}` });
      await client.unary({ text: 'counted' });
      await client.close();
      const { contentType, text } = await scrape(url!);
      assert.match(contentType ?? '', /^text\/plain; version=0\.0\.4/);
      const families = await parseWithPython(text);
      const ok = family(families, 'switchboard_server_requests').samples.find(
        (s) => s.labels.transport === 'grpc' && s.labels.method === 'Unary' && s.labels.code === 'OK',
      );
      assert.equal(ok?.value, 1, 'the gRPC call is counted');
      family(families, 'process_cpu_user_seconds');

      await server.register({ registry, deregisterDelayMs: 0, metadata: { team: 'shop' } });
      const [instance] = await registry.list('sb.test.Echo');
      assert.deepEqual(instance?.metadata, { metrics: url, team: 'shop' });

      await server.close(0);
      await assert.rejects(fetch(url!, { signal: AbortSignal.timeout(2000) }), 'the listener is closed');
    } finally {
      await server.close(0);
      await registry.close();
      await observe.shutdown();
    }
  });

  it('starts none with metricsPort false, and names the HTTP port when there is one', async () => {
    const none = new Observability({ tracing: false, metricsPort: false, logLevel: 'silent' });
    const grpcOnly = new Server({ grpc: { host: '127.0.0.1', port: 0 }, observe: none });
    const withHttp = new Server({
      grpc: { host: '127.0.0.1', port: 0 },
      http: { host: '127.0.0.1', port: 0 },
      observe: new Observability({ tracing: false, processMetrics: false, logLevel: 'silent' }),
    });
    try {
      await grpcOnly.listen();
      assert.equal(grpcOnly.metricsUrl, undefined);
      const addresses = await withHttp.listen();
      assert.equal(withHttp.metricsUrl, `http://127.0.0.1:${addresses.http!.port}/metrics`);
      assert.equal((await scrape(withHttp.metricsUrl!)).contentType?.startsWith('text/plain'), true);
    } finally {
      await grpcOnly.close(0);
      await withHttp.close(0);
      await none.shutdown();
    }
  });
});
