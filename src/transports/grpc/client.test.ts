/**
 * GrpcClientTransport: cancellation, deadlines, backpressure and connection handling against
 * GrpcServer, and the status mapping against raw node:http2 servers that misbehave on purpose.
 */
import assert from 'node:assert/strict';
import http2, { type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import zlib from 'node:zlib';
import { type EchoService, echoContract, echoImplementation } from '../../../test/fixtures/echo-service.ts';
import { rejection } from '../../../test/support/status.ts';
import { sleep, waitFor } from '../../../test/support/wait.ts';
import { StatusError } from '../../contract/errors.ts';
import { Status } from '../../contract/status.ts';
import { type CallContext, createClient, type Message, ServiceHost } from '../../core/index.ts';
import { GrpcClientTransport } from './client.ts';
import { encodeFrame } from './framing.ts';
import { GrpcServer } from './server.ts';

const contract = echoContract();
const echo = contract.service('sb.test.Echo');
const EchoResponse = contract.message('sb.test.EchoResponse');

async function drain(stream: AsyncIterable<unknown>): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const m of stream) out.push(m);
  return out;
}

/** A raw HTTP/2 server answering every stream with `handler`. */
async function rawServer(
  handler: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void,
): Promise<{ target: string; close(): Promise<void> }> {
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    stream.on('error', () => {});
    handler(stream, headers);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    target: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Sessions would keep it open: the clients under test close theirs, but be sure.
        setTimeout(resolve, 200).unref();
      }),
  };
}

describe('GrpcClientTransport against GrpcServer', () => {
  const events = { aborted: [] as string[], produced: 0, consumed: 0 };
  let server: GrpcServer;
  let transport: GrpcClientTransport;
  let target: string;

  before(async () => {
    const host = new ServiceHost().add(echo, {
      ...echoImplementation,
      // Records how its call ends, and reads requests only when told to.
      async clientStream(reqs: AsyncIterable<Message>, ctx: CallContext): Promise<Message> {
        ctx.signal.addEventListener('abort', () => events.aborted.push(ctx.metadata.getString('x-id') ?? ''));
        const wait = Number(ctx.metadata.getString('x-wait-ms') ?? 0);
        if (wait) await sleep(wait);
        let n = 0;
        for await (const _ of reqs) {
          n++;
          events.consumed++;
        }
        return { index: n };
      },
      async *serverStream(req: Message, ctx: CallContext): AsyncIterable<Message> {
        ctx.signal.addEventListener('abort', () => events.aborted.push(String(req.text)));
        for (let i = 0; i < Number(req.count); i++) {
          events.produced++;
          yield { index: i, payload: req.payload };
        }
      },
      async default(req: Message): Promise<Message> {
        throw new StatusError(Status.FAILED_PRECONDITION, String(req.text), {
          details: [
            { typeUrl: 'type.googleapis.com/google.rpc.ErrorInfo', value: new Uint8Array([10, 2, 104, 105]) },
          ],
        });
      },
    } as never);
    server = new GrpcServer(host);
    const address = await server.listen();
    target = `${address.host}:${address.port}`;
    transport = new GrpcClientTransport({ target });
  });

  after(async () => {
    await transport.close();
    await server.close(100);
  });

  it('carries google.rpc.Status details in grpc-status-details-bin', async () => {
    const err = await rejection(createClient<EchoService>(echo, transport).default({ text: 'with details' }));
    assert.equal(err.code, Status.FAILED_PRECONDITION);
    assert.equal(err.message, 'with details');
    assert.deepEqual(err.details, [
      { typeUrl: 'type.googleapis.com/google.rpc.ErrorInfo', value: new Uint8Array([10, 2, 104, 105]) },
    ]);
  });

  it('fails an already-aborted call and an expired deadline without sending anything', async () => {
    const client = createClient<EchoService>(echo, transport);
    const aborted = await rejection(client.unary({ text: 'x' }, { signal: AbortSignal.abort() }));
    assert.equal(aborted.code, Status.CANCELLED);
    const expired = await rejection(client.unary({ text: 'x' }, { deadline: Date.now() - 1 }));
    assert.equal(expired.code, Status.DEADLINE_EXCEEDED);
  });

  it('refuses a request over the message limit before sending it', async () => {
    const small = new GrpcClientTransport({ target, maxMessageBytes: 1000 });
    try {
      const err = await rejection(
        createClient<EchoService>(echo, small).unary({ payload: new Uint8Array(2000) }),
      );
      assert.equal(err.code, Status.RESOURCE_EXHAUSTED);
      const big = await rejection(
        createClient<EchoService>(echo, small).unary({ text: 'x'.repeat(500), payload: new Uint8Array(600) }),
      );
      assert.equal(big.code, Status.RESOURCE_EXHAUSTED);
    } finally {
      await small.close();
    }
  });

  it('refuses a response over its message limit: RESOURCE_EXHAUSTED', async () => {
    const small = new GrpcClientTransport({ target, maxMessageBytes: 1000 });
    try {
      const err = await rejection(
        createClient<EchoService>(echo, small).unary({ text: 'x'.repeat(900), tags: ['y'.repeat(200)] }),
      );
      assert.equal(err.code, Status.RESOURCE_EXHAUSTED);
    } finally {
      await small.close();
    }
  });

  it('leaving a response stream early cancels the server handler', async () => {
    const client = createClient<EchoService>(echo, transport);
    let n = 0;
    for await (const _ of client.serverStream({
      text: 'left early',
      count: 100_000,
      payload: new Uint8Array(16 * 1024),
    })) {
      if (++n === 2) break;
    }
    await waitFor(() => events.aborted.includes('left early'));
  });

  it('a request source that throws cancels the call, and the server handler sees it', async () => {
    const client = createClient<EchoService>(echo, transport);
    async function* failing(): AsyncIterable<Message> {
      yield { text: 'a' };
      await sleep(50);
      throw new Error('the source broke');
    }
    const err = await rejection(client.clientStream(failing(), { metadata: { 'x-id': 'thrower' } }));
    assert.equal(err.code, Status.CANCELLED);
    assert.match(err.message, /the source broke/);
    await waitFor(() => events.aborted.includes('thrower'));
  });

  it('writes requests with backpressure: a handler that does not read holds the producer back', async () => {
    const client = createClient<EchoService>(echo, transport);
    let yielded = 0;
    const total = 400;
    async function* requests(): AsyncIterable<Message> {
      for (let i = 0; i < total; i++) {
        yielded++;
        yield { payload: new Uint8Array(64 * 1024) };
      }
    }
    events.consumed = 0;
    const call = client.clientStream(requests(), { metadata: { 'x-wait-ms': '400' } });
    await sleep(300);
    assert.ok(yielded < total / 2, `the producer ran ahead: ${yielded} of ${total} before the handler read`);
    const res = await call;
    assert.equal(res.index, total);
    assert.equal(yielded, total);
  });

  it('reads responses with backpressure: a slow reader holds the server handler back', async () => {
    const client = createClient<EchoService>(echo, transport);
    events.produced = 0;
    const iterator = client
      .serverStream({ text: 'slow reader', count: 400, payload: new Uint8Array(64 * 1024) })
      [Symbol.asyncIterator]();
    await iterator.next();
    await sleep(300);
    assert.ok(events.produced < 200, `the handler ran ahead: ${events.produced} of 400`);
    let n = 1;
    while (!(await iterator.next()).done) n++;
    assert.equal(n, 400);
  });

  it('reconnects after the server restarts on the same port', async () => {
    const host = new ServiceHost().add(echo, echoImplementation as never);
    const first = new GrpcServer(host);
    const { port } = await first.listen();
    const t = new GrpcClientTransport({ target: `127.0.0.1:${port}` });
    const client = createClient<EchoService>(echo, t);
    try {
      assert.equal((await client.unary({ text: 'one' })).text, 'one');
      await first.close(0);
      const down = await rejection(client.unary({ text: 'down' }, { timeoutMs: 2000 }));
      assert.equal(down.code, Status.UNAVAILABLE);
      const second = new GrpcServer(host, { port });
      await second.listen();
      try {
        assert.equal((await client.unary({ text: 'two' })).text, 'two');
      } finally {
        await second.close(0);
      }
    } finally {
      await t.close();
    }
  });

  it('fails a call whose metadata HTTP/2 cannot carry: INTERNAL, and the connection lives on', async () => {
    const client = createClient<EchoService>(echo, transport);
    const err = await rejection(client.unary({ text: 'x' }, { metadata: { 'x-bad': 'line\nbreak' } }));
    assert.equal(err.code, Status.INTERNAL);
    assert.equal((await client.unary({ text: 'fine' })).text, 'fine');
  });

  it('fails calls after close() with UNAVAILABLE', async () => {
    const t = new GrpcClientTransport({ target });
    const client = createClient<EchoService>(echo, t);
    assert.equal((await client.unary({ text: 'before' })).text, 'before');
    await t.close();
    assert.equal((await rejection(client.unary({ text: 'after' }))).code, Status.UNAVAILABLE);
  });

  it('keeps working with keepalive pings on', async () => {
    const t = new GrpcClientTransport({ target, keepalive: { intervalMs: 20, timeoutMs: 1000 } });
    try {
      const client = createClient<EchoService>(echo, t);
      assert.equal((await client.unary({ text: 'ping' })).text, 'ping');
      await sleep(100);
      assert.equal((await client.unary({ text: 'pong' })).text, 'pong');
    } finally {
      await t.close();
    }
  });
});

describe('GrpcClientTransport against misbehaving servers', () => {
  const servers: { close(): Promise<void> }[] = [];
  const transports: GrpcClientTransport[] = [];

  after(async () => {
    for (const t of transports) await t.close();
    for (const s of servers) await s.close();
  });

  async function callRaw(handler: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void) {
    const server = await rawServer(handler);
    servers.push(server);
    const t = new GrpcClientTransport({ target: server.target });
    transports.push(t);
    return createClient<EchoService>(echo, t);
  }

  const okHeaders = { ':status': 200, 'content-type': 'application/grpc' };
  const responseFrame = () => encodeFrame(EchoResponse.encode({ text: 'r' }));

  it('sends the gRPC request headers, the deadline as grpc-timeout and -bin metadata in base64', async () => {
    let seen: IncomingHttpHeaders | undefined;
    const client = await callRaw((stream, headers) => {
      seen = headers;
      stream.respond({ ...okHeaders, 'x-h': 'initial' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'x-t': 'final' }));
      stream.end(responseFrame());
    });
    let initial = '';
    let final = '';
    const res = await client.unary(
      { text: 'q' },
      {
        timeoutMs: 5000,
        metadata: { 'x-bin': new Uint8Array([255, 0]) },
        onHeaders: (h) => {
          initial = h.getString('x-h') ?? '';
        },
        onTrailers: (t) => {
          final = t.getString('x-t') ?? '';
        },
      },
    );
    assert.equal(res.text, 'r');
    assert.equal(initial, 'initial');
    assert.equal(final, 'final');
    assert.equal(seen?.[':method'], 'POST');
    assert.equal(seen?.[':path'], '/sb.test.Echo/Unary');
    assert.equal(seen?.['content-type'], 'application/grpc');
    assert.equal(seen?.te, 'trailers');
    assert.match(String(seen?.['user-agent']), /switchboard/);
    assert.match(String(seen?.['grpc-timeout']), /^\d{1,8}m$/);
    assert.ok(Number.parseInt(String(seen?.['grpc-timeout']), 10) <= 5000);
    assert.equal(seen?.['x-bin'], '/wA=');
  });

  it('enforces the deadline itself and resets the stream with CANCEL', async () => {
    let rstCode = -1;
    const client = await callRaw((stream) => {
      stream.on('close', () => {
        rstCode = stream.rstCode ?? -1;
      });
    });
    const started = Date.now();
    const err = await rejection(client.unary({ text: 'never answered' }, { timeoutMs: 150 }));
    assert.equal(err.code, Status.DEADLINE_EXCEEDED);
    assert.ok(Date.now() - started < 1000);
    await waitFor(() => rstCode !== -1);
    assert.equal(rstCode, http2.constants.NGHTTP2_CANCEL);
  });

  it('cancels on the caller signal with RST_STREAM CANCEL', async () => {
    let rstCode = -1;
    const client = await callRaw((stream) => {
      stream.on('close', () => {
        rstCode = stream.rstCode ?? -1;
      });
    });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const err = await rejection(client.unary({ text: 'x' }, { signal: controller.signal }));
    assert.equal(err.code, Status.CANCELLED);
    await waitFor(() => rstCode !== -1);
    assert.equal(rstCode, http2.constants.NGHTTP2_CANCEL);
  });

  it('maps an HTTP status without grpc-status', async () => {
    const unavailable = await callRaw((stream) => stream.respond({ ':status': 503 }, { endStream: true }));
    assert.equal((await rejection(unavailable.unary({}))).code, Status.UNAVAILABLE);
    const notFound = await callRaw((stream) => {
      stream.respond({ ':status': 404, 'content-type': 'text/html' });
      stream.end('<h1>not found</h1>');
    });
    assert.equal((await rejection(notFound.unary({}))).code, Status.UNIMPLEMENTED);
  });

  it('fails a 200 response that is not gRPC: UNKNOWN', async () => {
    const client = await callRaw((stream) => {
      stream.respond({ ':status': 200, 'content-type': 'text/plain' });
      stream.end('hello');
    });
    assert.equal((await rejection(client.unary({}))).code, Status.UNKNOWN);
  });

  it('fails a response that ends without grpc-status: INTERNAL', async () => {
    const client = await callRaw((stream) => {
      stream.respond(okHeaders);
      stream.end(responseFrame());
    });
    assert.equal((await rejection(client.unary({}))).code, Status.INTERNAL);
  });

  it('decodes a percent-encoded grpc-message', async () => {
    const client = await callRaw((stream) =>
      stream.respond(
        { ...okHeaders, 'grpc-status': '5', 'grpc-message': 'caf%C3%A9 100%25 %zz' },
        { endStream: true },
      ),
    );
    const err = await rejection(client.unary({}));
    assert.equal(err.code, Status.NOT_FOUND);
    assert.equal(err.message, 'café 100% %zz');
  });

  it('fails a unary response with two messages or none: UNIMPLEMENTED', async () => {
    for (const frames of [[responseFrame(), responseFrame()], []]) {
      const client = await callRaw((stream) => {
        stream.respond(okHeaders, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(Buffer.concat(frames));
      });
      assert.equal(
        (await rejection(client.unary({}))).code,
        Status.UNIMPLEMENTED,
        `${frames.length} messages`,
      );
    }
  });

  it('fails a truncated or unparsable response: INTERNAL', async () => {
    const whole = responseFrame();
    for (const body of [whole.subarray(0, whole.length - 1), encodeFrame(Buffer.from([0x0a, 50, 1]))]) {
      const client = await callRaw((stream) => {
        stream.respond(okHeaders, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(body);
      });
      assert.equal((await rejection(client.unary({}))).code, Status.INTERNAL);
    }
  });

  it('reads gzip- and deflate-compressed responses; fails one in an encoding it does not know: INTERNAL', async () => {
    const body = EchoResponse.encode({ text: 'squeezed' });
    for (const [encoding, packed] of [
      ['gzip', zlib.gzipSync(body)],
      ['deflate', zlib.deflateSync(body)],
    ] as const) {
      const client = await callRaw((stream) => {
        stream.respond({ ...okHeaders, 'grpc-encoding': encoding }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        const frame = encodeFrame(packed);
        frame[0] = 1;
        stream.end(frame);
      });
      assert.equal((await client.unary({})).text, 'squeezed', encoding);
    }
    const snappy = await callRaw((stream) => {
      stream.respond({ ...okHeaders, 'grpc-encoding': 'snappy' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(responseFrame());
    });
    assert.equal((await rejection(snappy.unary({}))).code, Status.INTERNAL);
  });

  it('maps RST_STREAM REFUSED_STREAM to UNAVAILABLE', async () => {
    const client = await callRaw((stream) => stream.close(http2.constants.NGHTTP2_REFUSED_STREAM));
    assert.equal((await rejection(client.unary({}))).code, Status.UNAVAILABLE);
  });

  it('reports a server that drops the connection mid-call as UNAVAILABLE', async () => {
    const client = await callRaw((stream) => {
      stream.respond(okHeaders);
      stream.write(responseFrame());
      setTimeout(() => stream.session?.destroy(), 20);
    });
    assert.equal((await rejection(drain(client.serverStream({})))).code, Status.UNAVAILABLE);
  });

  it('fails with UNAVAILABLE when the connection is not up within connectTimeoutMs', async () => {
    // Accepts TCP and never answers the TLS handshake.
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => sockets.push(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    const t = new GrpcClientTransport({ target: `127.0.0.1:${port}`, tls: true, connectTimeoutMs: 200 });
    try {
      const started = Date.now();
      const err = await rejection(createClient<EchoService>(echo, t).unary({}, { timeoutMs: 5000 }));
      assert.equal(err.code, Status.UNAVAILABLE);
      assert.ok(Date.now() - started < 2000);
    } finally {
      await t.close();
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
