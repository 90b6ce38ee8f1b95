/**
 * Tracing across every hop, with real servers: a REST call to service A, whose handler calls B
 * over gRPC; B publishes an event through a TracedBroker; a subscriber D handles it and calls C
 * over native. One trace, every parent link and span kind right. Then: a grpc-js client's own
 * traceparent, errors, streams, and a malformed traceparent.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { request } from 'undici';
import { type ConnectedClient, connect, EventBus, Server } from '../../src/app/index.ts';
import { Status } from '../../src/contract/index.ts';
import { PROTOBUFJS_PROTO_DIR } from '../../src/contract/paths.ts';
import type { Subscription } from '../../src/messaging/broker.ts';
import { MemoryBroker } from '../../src/messaging/memory/broker.ts';
import { MemoryBrokerState } from '../../src/messaging/memory/state.ts';
import {
  startTracing,
  TracedBroker,
  type Tracing,
  tracingInterceptors,
} from '../../src/observe/tracing/index.ts';
import {
  ECHO_PROTO,
  type EchoRequest,
  type EchoResponse,
  type EchoService,
  echoContract,
  echoImplementation,
} from '../fixtures/echo-service.ts';
import { rejectsWith } from '../support/status.ts';
import { waitFor } from '../support/wait.ts';

const contract = echoContract();
const echo = contract.service('sb.test.Echo');
const TOPIC = 'echo-events';
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/;

/** Every span of every service lands here, as a collector would receive them. */
const exporter = new InMemorySpanExporter();
const spans = () => exporter.getFinishedSpans();

function find(predicate: (span: ReadableSpan) => boolean, what: string): ReadableSpan {
  const found = spans().filter(predicate);
  assert.equal(found.length, 1, `expected one ${what}, got ${found.map((s) => s.name).join(', ') || 'none'}`);
  return found[0]!;
}

const byName = (name: string, kind: SpanKind) => (s: ReadableSpan) => s.name === name && s.kind === kind;

function assertChild(child: ReadableSpan, parent: ReadableSpan): void {
  assert.equal(child.spanContext().traceId, parent.spanContext().traceId, `${child.name}: trace id`);
  assert.equal(
    child.parentSpanContext?.spanId,
    parent.spanContext().spanId,
    `${child.name} (${SpanKind[child.kind]}) should be a child of ${parent.name} (${SpanKind[parent.kind]})`,
  );
}

/** The `traceparent` a handler saw, from the metadata Echo answers with. */
function traceparentSeen(res: Pick<EchoResponse, 'metadata'>): string | undefined {
  return res.metadata.find((m) => m.startsWith('traceparent='))?.slice('traceparent='.length);
}

describe('tracing across HTTP, gRPC, the queue and native', () => {
  const tracings: Tracing[] = [];
  const trace = (serviceName: string) => {
    const tracing = startTracing({ serviceName, exporter });
    tracings.push(tracing);
    return tracing;
  };
  const servers: Server[] = [];
  const closers: (() => Promise<void>)[] = [];
  let clientOfA: ConnectedClient<EchoService>;
  let clientOfB: ConnectedClient<EchoService>;
  let grpcPortOfB = 0;
  let httpPortOfA = 0;
  let subscription: Subscription;
  const handled: string[] = [];

  before(async () => {
    const [a, b, c, d, caller] = ['a', 'b', 'c', 'd', 'caller'].map(trace) as [
      Tracing,
      Tracing,
      Tracing,
      Tracing,
      Tracing,
    ];

    // C: the Echo service on native.
    const serverC = new Server({ native: { port: 0 }, interceptors: [tracingInterceptors(c).server] });
    serverC.add<EchoService>(echo, echoImplementation);

    // B on gRPC: Default publishes the request as an event and answers once the broker has it;
    // the other methods are the plain Echo ones (for the grpc-js, error and stream tests).
    const state = new MemoryBrokerState();
    const brokerOfB = new TracedBroker(new MemoryBroker({ state }), { tracer: b.tracer });
    const busOfB = new EventBus(brokerOfB, contract, { topics: { 'sb.test.EchoRequest': TOPIC } });
    const serverB = new Server({ grpc: { port: 0 }, interceptors: [tracingInterceptors(b).server] });
    serverB.add<EchoService>(echo, {
      ...echoImplementation,
      async default(req) {
        const receipt = await busOfB.publish<EchoRequest>('sb.test.EchoRequest', { text: req.text });
        return { text: `published ${receipt.id}` };
      },
    });

    servers.push(serverB, serverC);
    await Promise.all(servers.map((s) => s.listen()));
    grpcPortOfB = serverB.addresses.grpc!.port;

    // A on HTTP: Unary calls B's Default over gRPC.
    const bFromA = connect<EchoService>(echo, {
      target: `grpc://127.0.0.1:${grpcPortOfB}`,
      interceptors: [tracingInterceptors({ tracer: a.tracer, transport: 'grpc' }).client],
    });
    const serverA = new Server({ http: { port: 0 }, interceptors: [tracingInterceptors(a).server] });
    serverA.add<EchoService>(echo, {
      ...echoImplementation,
      async unary(req) {
        const res = await bFromA.default({ text: req.text });
        return { text: res.text };
      },
    });
    servers.push(serverA);
    httpPortOfA = (await serverA.listen()).http!.port;

    // D subscribes, on its own broker client, and calls C over native for every event.
    const cFromD = connect<EchoService>(echo, {
      target: `native://127.0.0.1:${serverC.addresses.native!.port}`,
      interceptors: [tracingInterceptors({ tracer: d.tracer, transport: 'native' }).client],
    });
    const brokerOfD = new TracedBroker(new MemoryBroker({ state }), { tracer: d.tracer });
    const busOfD = new EventBus(brokerOfD, contract, { topics: { 'sb.test.EchoRequest': TOPIC } });
    subscription = await busOfD.subscribe<EchoRequest>(
      'sb.test.EchoRequest',
      async (event, ctx) => {
        const res = await cFromD.unary({ text: event.text }, ctx.callOptions());
        handled.push(res.text);
      },
      { group: 'd', startAt: 'earliest' },
    );

    clientOfA = connect<EchoService>(echo, {
      target: `http://127.0.0.1:${httpPortOfA}`,
      interceptors: [tracingInterceptors({ tracer: caller.tracer, transport: 'http' }).client],
    });
    clientOfB = connect<EchoService>(echo, {
      target: `grpc://127.0.0.1:${grpcPortOfB}`,
      interceptors: [tracingInterceptors({ tracer: caller.tracer, transport: 'grpc' }).client],
    });
    closers.push(
      () => subscription.close(),
      () => brokerOfD.close(),
      () => brokerOfB.close(),
      () => bFromA.close(),
      () => cFromD.close(),
      () => clientOfA.close(),
      () => clientOfB.close(),
    );
  });

  after(async () => {
    for (const close of closers) await close();
    await Promise.all(servers.map((s) => s.close(100)));
    await Promise.all(tracings.map((t) => t.shutdown()));
  });

  it('puts every hop of REST → gRPC → queue → native into one trace, each span a child of the one before', async () => {
    exporter.reset();
    const res = await clientOfA.unary({ text: 'trace me' });
    assert.match(res.text, /^published /);
    await waitFor(() => handled.includes('trace me') && spans().length >= 8);

    const overHttp = (s: ReadableSpan) => s.attributes['network.protocol.name'] === 'http';
    const callToA = find(
      (s) => byName('sb.test.Echo/Unary', SpanKind.CLIENT)(s) && overHttp(s),
      'client span of the REST call',
    );
    const serverA = find(
      (s) => byName('sb.test.Echo/Unary', SpanKind.SERVER)(s) && overHttp(s),
      'server span of A',
    );
    const callToB = find(byName('sb.test.Echo/Default', SpanKind.CLIENT), 'client span of A → B');
    const serverB = find(byName('sb.test.Echo/Default', SpanKind.SERVER), 'server span of B');
    const publish = find(byName(`publish ${TOPIC}`, SpanKind.PRODUCER), 'producer span');
    const consume = find(byName(`process ${TOPIC}`, SpanKind.CONSUMER), 'consumer span');
    const callToC = find(
      (s) => s.kind === SpanKind.CLIENT && s.attributes['network.protocol.name'] === 'switchboard-native',
      'client span of D → C',
    );
    const serverC = find(
      (s) => s.kind === SpanKind.SERVER && s.attributes['network.protocol.name'] === 'switchboard-native',
      'server span of C',
    );
    assert.equal(
      spans().length,
      8,
      spans()
        .map((s) => `${SpanKind[s.kind]} ${s.name}`)
        .join('\n'),
    );

    assert.equal(callToA.parentSpanContext, undefined, 'the caller starts the trace');
    assertChild(serverA, callToA);
    assertChild(callToB, serverA);
    assertChild(serverB, callToB);
    assertChild(publish, serverB);
    assertChild(consume, publish);
    assertChild(callToC, consume);
    assertChild(serverC, callToC);
    assert.equal(new Set(spans().map((s) => s.spanContext().traceId)).size, 1);

    // Which service recorded each span.
    const service = (s: ReadableSpan) => s.resource.attributes['service.name'];
    assert.deepEqual([callToA, serverA, callToB, serverB, publish, consume, callToC, serverC].map(service), [
      'caller',
      'a',
      'a',
      'b',
      'b',
      'd',
      'd',
      'c',
    ]);

    // RPC attributes: gRPC is 'grpc', the other transports 'switchboard' with their protocol.
    assert.equal(serverA.attributes['rpc.system'], 'switchboard');
    assert.equal(serverA.attributes['rpc.service'], 'sb.test.Echo');
    assert.equal(serverA.attributes['rpc.method'], 'Unary');
    assert.equal(serverA.attributes['rpc.grpc.status_code'], Status.OK);
    assert.equal(serverA.attributes['network.peer.address'], '127.0.0.1');
    assert.equal(serverB.attributes['rpc.system'], 'grpc');
    assert.equal(callToB.attributes['rpc.system'], 'grpc');
    assert.equal(serverC.attributes['rpc.system'], 'switchboard');
    for (const span of [callToA, serverA, callToB, serverB, callToC, serverC]) {
      assert.equal(span.status.code, SpanStatusCode.UNSET, span.name);
    }

    // Messaging attributes.
    assert.equal(publish.attributes['messaging.system'], 'memory');
    assert.equal(publish.attributes['messaging.destination.name'], TOPIC);
    assert.equal(publish.attributes['messaging.operation.type'], 'send');
    assert.equal(res.text, `published ${publish.attributes['messaging.message.id']}`);
    assert.equal(consume.attributes['messaging.operation.type'], 'process');
    assert.equal(consume.attributes['messaging.consumer.group.name'], 'd');
    assert.equal(consume.attributes['messaging.message.id'], publish.attributes['messaging.message.id']);
    assert.equal(consume.attributes['switchboard.delivery.attempt'], 1);
    assert.equal(consume.attributes['switchboard.delivery.outcome'], 'ack');
  });

  it('makes the span a grpc-js client sends in traceparent the parent of the server span', async () => {
    exporter.reset();
    const definition = protoLoader.loadSync(ECHO_PROTO, { includeDirs: [PROTOBUFJS_PROTO_DIR] });
    const Echo = (
      grpc.loadPackageDefinition(definition) as unknown as {
        sb: { test: { Echo: new (address: string, creds: grpc.ChannelCredentials) => grpc.Client } };
      }
    ).sb.test.Echo;
    const stub = new Echo(`127.0.0.1:${grpcPortOfB}`, grpc.credentials.createInsecure()) as grpc.Client & {
      unary(
        req: { text: string },
        md: grpc.Metadata,
        cb: (err: Error | null, res?: EchoResponse) => void,
      ): void;
    };
    try {
      const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
      const spanId = '00f067aa0ba902b7';
      const md = new grpc.Metadata();
      md.set('traceparent', `00-${traceId}-${spanId}-01`);
      md.set('tracestate', 'vendor=opaque');
      const res = await new Promise<EchoResponse>((resolve, reject) =>
        stub.unary({ text: 'from grpc-js' }, md, (err, r) => (err ? reject(err) : resolve(r!))),
      );
      const server = find(byName('sb.test.Echo/Unary', SpanKind.SERVER), 'server span');
      assert.equal(server.spanContext().traceId, traceId);
      assert.equal(server.parentSpanContext?.spanId, spanId);
      assert.equal(server.parentSpanContext?.isRemote, true);
      assert.equal(server.attributes['rpc.system'], 'grpc');
      // The handler sees its own span as the trace context, and the caller's tracestate kept.
      assert.equal(traceparentSeen(res), `00-${traceId}-${server.spanContext().spanId}-01`);
      assert.ok(res.metadata.includes('tracestate=vendor=opaque'), res.metadata.join(' '));
    } finally {
      stub.close();
    }
  });

  it('marks failed calls ERROR with their gRPC code, on the client and on the server', async () => {
    exporter.reset();
    await rejectsWith(
      clientOfB.unary({ text: 'no such thing', failWith: Status.NOT_FOUND }),
      Status.NOT_FOUND,
    );
    await waitFor(() => spans().length === 2);
    for (const kind of [SpanKind.CLIENT, SpanKind.SERVER]) {
      const span = find(byName('sb.test.Echo/Unary', kind), SpanKind[kind]);
      assert.equal(span.status.code, SpanStatusCode.ERROR);
      assert.equal(span.status.message, 'NOT_FOUND: no such thing');
      assert.equal(span.attributes['rpc.grpc.status_code'], Status.NOT_FOUND);
      assert.equal(span.attributes['error.type'], 'NOT_FOUND');
    }
  });

  it('ends the spans of a response stream when the stream ends, not when it starts', async () => {
    exporter.reset();
    const received: number[] = [];
    for await (const res of clientOfB.serverStream({ text: 's', count: 3, delayMs: 30 })) {
      received.push(res.index);
      if (received.length === 1) {
        // The call is under way: neither span may have ended yet.
        assert.equal(spans().filter((s) => s.name === 'sb.test.Echo/ServerStream').length, 0);
      }
    }
    assert.deepEqual(received, [0, 1, 2]);
    await waitFor(() => spans().length === 2);
    const client = find(byName('sb.test.Echo/ServerStream', SpanKind.CLIENT), 'client span');
    const server = find(byName('sb.test.Echo/ServerStream', SpanKind.SERVER), 'server span');
    assertChild(server, client);
    const ms = (s: ReadableSpan) => s.duration[0] * 1000 + s.duration[1] / 1e6;
    // Three responses 30 ms apart: the spans cover all of them.
    assert.ok(ms(server) >= 80, `server span lasted ${ms(server)} ms`);
    assert.ok(ms(client) >= ms(server), `client ${ms(client)} ms < server ${ms(server)} ms`);
    assert.equal(client.attributes['rpc.grpc.status_code'], Status.OK);

    // A stream failing at its end fails the client span.
    exporter.reset();
    const failing = clientOfB.serverStream({ text: 'broke', count: 2, failWith: Status.INTERNAL });
    await rejectsWith(
      (async () => {
        for await (const _ of failing);
      })(),
      Status.INTERNAL,
    );
    await waitFor(() => spans().length === 2);
    const failed = find(byName('sb.test.Echo/ServerStream', SpanKind.CLIENT), 'failed client span');
    assert.equal(failed.status.code, SpanStatusCode.ERROR);
    assert.equal(failed.attributes['rpc.grpc.status_code'], Status.INTERNAL);
  });

  it('starts a new trace on a malformed traceparent and serves the call', async () => {
    exporter.reset();
    const res = await request(`http://127.0.0.1:${httpPortOfA}/sb.test.Echo/Default`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: '00-not-a-trace-context-01' },
      body: '{"text":"plain"}',
    });
    assert.equal(res.statusCode, 200);
    const body = (await res.body.json()) as EchoResponse;
    const server = find(byName('sb.test.Echo/Default', SpanKind.SERVER), 'server span');
    assert.equal(server.parentSpanContext, undefined, 'a root span');
    const seen = traceparentSeen(body);
    assert.match(seen ?? '', TRACEPARENT);
    assert.equal(seen, `00-${server.spanContext().traceId}-${server.spanContext().spanId}-01`);
  });
});
