import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { SpanKind, trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { otlpTracesUrl, startTracing } from './start-tracing.ts';

interface Received {
  path: string | undefined;
  headers: IncomingHttpHeaders;
  body: string;
}

/** The OTLP/HTTP JSON shape, as far as these tests read it. */
interface OtlpExport {
  resourceSpans: {
    resource: { attributes: { key: string; value: { stringValue?: string } }[] };
    scopeSpans: { scope: { name: string }; spans: { name: string; kind: number; traceId: string }[] }[];
  }[];
}

describe('startTracing', () => {
  let collector: Server;
  let base = '';
  const received: Received[] = [];

  before(async () => {
    // Stands in for the hub's POST /v1/traces: records what arrives, answers as OTLP does.
    collector = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ path: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => collector.close(() => resolve())));

  it('exports spans as OTLP/HTTP JSON to the hub, batched, flushed by shutdown', async (t) => {
    // The OTLP variables would win over the hub: this test is about the hub.
    for (const key of ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_ENDPOINT']) {
      const saved = process.env[key];
      delete process.env[key];
      t.after(() => {
        if (saved !== undefined) process.env[key] = saved;
      });
    }
    const tracing = startTracing({
      serviceName: 'checkout',
      hubUrl: `${base}/`,
      resourceAttributes: { 'service.version': '1.2.3' },
      token: 'a-token-for-the-hub',
    });
    assert.equal(tracing.url, `${base}/v1/traces`);
    tracing.tracer.startSpan('place order', { kind: SpanKind.SERVER }).end();
    assert.equal(received.length, 0, 'batched, not sent at once');
    await tracing.shutdown();

    assert.equal(received.length, 1);
    const [request] = received;
    assert.equal(request?.path, '/v1/traces');
    assert.match(String(request?.headers['content-type']), /^application\/json/);
    assert.equal(request?.headers.authorization, 'Bearer a-token-for-the-hub', "the hub's token goes along");
    const body = JSON.parse(request!.body) as OtlpExport;
    const [resourceSpans] = body.resourceSpans;
    const attribute = (key: string) => resourceSpans?.resource.attributes.find((a) => a.key === key)?.value;
    assert.equal(attribute('service.name')?.stringValue, 'checkout');
    assert.equal(attribute('service.version')?.stringValue, '1.2.3');
    const [scope] = resourceSpans?.scopeSpans ?? [];
    assert.equal(scope?.scope.name, 'switchboard');
    assert.equal(scope?.spans[0]?.name, 'place order');
    assert.match(scope?.spans[0]?.traceId ?? '', /^[0-9a-f]{32}$/);
  });

  it('takes the URL from the option, then the OTLP environment variables, then the hub', () => {
    const env = {
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces:4318/custom',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel:4318/',
    };
    const hubUrl = 'http://hub:4100';
    assert.equal(otlpTracesUrl({ otlpUrl: 'http://x/v1/traces', hubUrl }, env), 'http://x/v1/traces');
    assert.equal(otlpTracesUrl({ hubUrl }, env), 'http://traces:4318/custom');
    assert.equal(
      otlpTracesUrl({ hubUrl }, { OTEL_EXPORTER_OTLP_ENDPOINT: env.OTEL_EXPORTER_OTLP_ENDPOINT }),
      'http://otel:4318/v1/traces',
    );
    assert.equal(otlpTracesUrl({ hubUrl }, {}), 'http://hub:4100/v1/traces');
    assert.equal(otlpTracesUrl({}, {}), undefined);
  });

  it('exports each span at once to a given exporter, and registers globally only when asked', async () => {
    const exporter = new InMemorySpanExporter();
    const local = startTracing({ serviceName: 'local', exporter });
    local.tracer.startSpan('one').end();
    assert.equal(exporter.getFinishedSpans().length, 1);
    assert.equal(local.url, undefined);
    // Not registered: the global tracer records nothing.
    assert.equal(trace.getTracer('x').startSpan('global').isRecording(), false);
    await local.shutdown();

    const globalExporter = new InMemorySpanExporter();
    const registered = startTracing({ serviceName: 'global', exporter: globalExporter, register: true });
    try {
      trace.getTracer('x').startSpan('global').end();
      assert.deepEqual(
        globalExporter.getFinishedSpans().map((s) => s.name),
        ['global'],
      );
    } finally {
      await registered.shutdown();
    }
    assert.equal(trace.getTracer('x').startSpan('after').isRecording(), false, 'shutdown unregisters');
  });

  it('needs a service name', () => {
    assert.throws(() => startTracing({ serviceName: '' }), /serviceName/);
  });
});
