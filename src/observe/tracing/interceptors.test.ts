import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { type EchoService, echoContract, echoImplementation } from '../../../test/fixtures/echo-service.ts';
import { rejectsWith } from '../../../test/support/status.ts';
import { waitFor } from '../../../test/support/wait.ts';
import { Status } from '../../contract/index.ts';
import { type ClientInterceptor, createClient, ServiceHost } from '../../core/index.ts';
import { InprocServer, InprocTransport } from '../../transports/inproc/index.ts';
import { tracingInterceptors } from './interceptors.ts';
import { startTracing } from './start-tracing.ts';

const echo = echoContract().service('sb.test.Echo');
const exporter = new InMemorySpanExporter();
const tracing = startTracing({ serviceName: 'inproc-test', exporter });
const { server: serverInterceptor, client: clientInterceptor } = tracingInterceptors({
  tracer: tracing.tracer,
  transport: 'inproc',
});
const CALLER = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

const spansOf = (kind: SpanKind): ReadableSpan[] =>
  exporter.getFinishedSpans().filter((s) => s.kind === kind);

describe('tracing interceptors', () => {
  let server: InprocServer;
  let transport: InprocTransport;

  before(async () => {
    const host = new ServiceHost({ interceptors: [serverInterceptor] });
    host.add<EchoService>(echo, {
      ...echoImplementation,
      // Ignores its signal: the host fails the call at the deadline without waiting for it.
      async default() {
        await new Promise((resolve) => setTimeout(resolve, 150));
        return { text: 'too late' };
      },
    });
    server = new InprocServer(host);
    await server.listen();
    transport = new InprocTransport(server.target);
  });
  after(async () => {
    await transport.close();
    await server.close(0);
    await tracing.shutdown();
  });
  beforeEach(() => exporter.reset());

  it('takes the parent from the trace context the call carries, and records inproc calls as such', async () => {
    const client = createClient<EchoService>(echo, transport, { interceptors: [clientInterceptor] });
    const callerMetadata = { traceparent: CALLER };
    await client.unary({ text: 'x' }, { metadata: callerMetadata });
    const [clientSpan] = spansOf(SpanKind.CLIENT);
    const [serverSpan] = spansOf(SpanKind.SERVER);
    assert.equal(clientSpan?.parentSpanContext?.spanId, 'b7ad6b7169203331');
    assert.equal(serverSpan?.parentSpanContext?.spanId, clientSpan?.spanContext().spanId);
    assert.equal(clientSpan?.attributes['network.protocol.name'], 'inproc');
    assert.equal(clientSpan?.attributes['rpc.system'], 'switchboard');
    assert.deepEqual(callerMetadata, { traceparent: CALLER });
  });

  it('gives every attempt of a retrying interceptor outside it the same parent', async () => {
    const twice: ClientInterceptor = async (call, next) => {
      await next(call);
      return next(call);
    };
    const client = createClient<EchoService>(echo, transport, { interceptors: [twice, clientInterceptor] });
    const res = await client.unary({ text: 'x' }, { metadata: { traceparent: CALLER } });
    // The server saw the second attempt's client span, not one nested in the first.
    const clients = spansOf(SpanKind.CLIENT);
    assert.equal(clients.length, 2);
    for (const span of clients) assert.equal(span.parentSpanContext?.spanId, 'b7ad6b7169203331');
    const seen = res.metadata.find((m) => m.startsWith('traceparent='));
    assert.equal(seen?.split('-')[1], '0af7651916cd43dd8448eb211c80319c');
  });

  it('ends a stream the caller leaves early as CANCELLED, not as an error', async () => {
    const client = createClient<EchoService>(echo, transport, { interceptors: [clientInterceptor] });
    for await (const _ of client.serverStream({ text: 's', count: 5, delayMs: 5 })) break;
    const [span] = spansOf(SpanKind.CLIENT);
    assert.equal(span?.attributes['rpc.grpc.status_code'], Status.CANCELLED);
    assert.equal(span?.status.code, SpanStatusCode.UNSET);
  });

  it('reports the deadline the caller saw pass, even when the handler ignored it', async () => {
    const client = createClient<EchoService>(echo, transport, { interceptors: [clientInterceptor] });
    await rejectsWith(client.default({ text: 'slow' }, { timeoutMs: 30 }), Status.DEADLINE_EXCEEDED);
    await waitFor(() => spansOf(SpanKind.SERVER).length === 1);
    const [serverSpan] = spansOf(SpanKind.SERVER);
    assert.equal(serverSpan?.attributes['rpc.grpc.status_code'], Status.DEADLINE_EXCEEDED);
    assert.equal(serverSpan?.status.code, SpanStatusCode.ERROR);
  });
});
