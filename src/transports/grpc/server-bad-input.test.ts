/**
 * GrpcServer against a raw node:http2 client that breaks the protocol on purpose: every bad
 * input gets a clear gRPC status, and the server goes on serving.
 */
import assert from 'node:assert/strict';
import http2, {
  type ClientHttp2Session,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from 'node:http2';
import net from 'node:net';
import { after, afterEach, before, describe, it } from 'node:test';
import zlib from 'node:zlib';
import {
  type EchoService,
  echoContract,
  echoImplementation,
  echoObservations,
} from '../../../test/fixtures/echo-service.ts';
import { selfSignedCert } from '../../../test/support/certs.ts';
import { Status } from '../../contract/status.ts';
import { createClient, ServiceHost } from '../../core/index.ts';
import { GrpcClientTransport } from './client.ts';
import { encodeFrame } from './framing.ts';
import { GrpcServer } from './server.ts';

const echo = echoContract().service('sb.test.Echo');
const EchoRequest = echoContract().message('sb.test.EchoRequest');

interface RawResult {
  status: number;
  headers: IncomingHttpHeaders;
  trailers: IncomingHttpHeaders | undefined;
  data: Buffer;
  rstCode: number;
}

/** The grpc-status of a response, from its trailers or (trailers-only) its headers. */
function grpcStatus(r: RawResult): number {
  return Number(r.trailers?.['grpc-status'] ?? r.headers['grpc-status']);
}

function grpcMessage(r: RawResult): string {
  return decodeURIComponent(String(r.trailers?.['grpc-message'] ?? r.headers['grpc-message'] ?? ''));
}

function requestHeaders(path = '/sb.test.Echo/Unary', extra: OutgoingHttpHeaders = {}): OutgoingHttpHeaders {
  return { ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...extra };
}

function frameOf(text: string, extra: Record<string, unknown> = {}): Buffer {
  return encodeFrame(EchoRequest.encode({ text, ...extra }));
}

/** Sends `headers` and `body` (written in order, then the stream ends unless `keepOpen`). */
function rawCall(
  session: ClientHttp2Session,
  headers: OutgoingHttpHeaders,
  body: Buffer[],
  keepOpen = false,
): Promise<RawResult> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers);
    const chunks: Buffer[] = [];
    let responseHeaders: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders | undefined;
    stream.on('response', (h) => {
      responseHeaders = h;
    });
    stream.on('trailers', (t) => {
      trailers = t;
    });
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', () => {});
    session.once('error', reject);
    stream.on('close', () => {
      session.off('error', reject);
      resolve({
        status: Number(responseHeaders[':status'] ?? 0),
        headers: responseHeaders,
        trailers,
        data: Buffer.concat(chunks),
        rstCode: stream.rstCode ?? 0,
      });
    });
    for (const chunk of body) stream.write(chunk);
    if (!keepOpen) stream.end();
  });
}

describe('GrpcServer with bad input', () => {
  let server: GrpcServer;
  let target: string;
  let session: ClientHttp2Session;
  let transport: GrpcClientTransport;

  before(async () => {
    server = new GrpcServer(new ServiceHost().add(echo, echoImplementation as never), {
      maxMessageBytes: 64 * 1024,
    });
    const address = await server.listen();
    target = `${address.host}:${address.port}`;
    session = http2.connect(`http://${target}`);
    session.on('error', () => {});
    transport = new GrpcClientTransport({ target });
  });

  after(async () => {
    session.destroy();
    await transport.close();
    await server.close(100);
  });

  // After every bad input, a well-formed call on a fresh connection still succeeds.
  afterEach(async () => {
    const res = await createClient<EchoService>(echo, transport).unary({ text: 'still here' });
    assert.equal(res.text, 'still here');
  });

  it('answers a well-formed raw call (the baseline)', async () => {
    const r = await rawCall(session, requestHeaders(), [frameOf('raw')]);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/grpc');
    assert.equal(grpcStatus(r), Status.OK);
    assert.equal(r.data.readUInt32BE(1), r.data.length - 5, 'one length-prefixed message');
  });

  it('malformed protobuf: INVALID_ARGUMENT', async () => {
    // Field 1 (string) claims 100 bytes and carries 1.
    const r = await rawCall(session, requestHeaders(), [encodeFrame(Buffer.from([0x0a, 100, 0x41]))]);
    assert.equal(grpcStatus(r), Status.INVALID_ARGUMENT);
    assert.match(grpcMessage(r), /malformed sb\.test\.EchoRequest/);
    assert.equal(r.trailers, undefined, 'trailers-only response');
  });

  it('wrong content-type: HTTP 415', async () => {
    const r = await rawCall(session, requestHeaders(undefined, { 'content-type': 'application/json' }), [
      Buffer.from('{}'),
    ]);
    assert.equal(r.status, 415);
    assert.notEqual(grpcStatus(r), Status.OK);
  });

  it('a method other than POST: HTTP 405 and UNIMPLEMENTED', async () => {
    const r = await rawCall(session, { ...requestHeaders(), ':method': 'GET' }, []);
    assert.equal(r.status, 405);
    assert.equal(grpcStatus(r), Status.UNIMPLEMENTED);
  });

  it('unknown method: UNIMPLEMENTED', async () => {
    const r = await rawCall(session, requestHeaders('/sb.test.Echo/Nope'), [frameOf('x')]);
    assert.equal(r.status, 200);
    assert.equal(grpcStatus(r), Status.UNIMPLEMENTED);
    assert.match(grpcMessage(r), /\/sb\.test\.Echo\/Nope/);
  });

  it('invalid grpc-timeout: INVALID_ARGUMENT', async () => {
    for (const value of ['abc', '1x', '123456789S', 'S', '-1S']) {
      const r = await rawCall(session, requestHeaders(undefined, { 'grpc-timeout': value }), [frameOf('x')]);
      assert.equal(grpcStatus(r), Status.INVALID_ARGUMENT, value);
    }
  });

  it('a message over the limit: RESOURCE_EXHAUSTED, from the length prefix alone', async () => {
    const header = Buffer.from([0, 0, 0, 0, 0]);
    header.writeUInt32BE(5 * 1024 * 1024, 1);
    const r = await rawCall(session, requestHeaders(), [header], true);
    assert.equal(grpcStatus(r), Status.RESOURCE_EXHAUSTED);
  });

  it('a frame cut short at the end of the stream: INTERNAL', async () => {
    const whole = frameOf('truncated message');
    const r = await rawCall(session, requestHeaders(), [whole.subarray(0, whole.length - 4)]);
    assert.equal(grpcStatus(r), Status.INTERNAL);
  });

  it('a unary call with no message or with two: UNIMPLEMENTED', async () => {
    const none = await rawCall(session, requestHeaders(), []);
    assert.equal(grpcStatus(none), Status.UNIMPLEMENTED);
    const two = await rawCall(session, requestHeaders(), [frameOf('a'), frameOf('b')]);
    assert.equal(grpcStatus(two), Status.UNIMPLEMENTED);
  });

  it('compressed-flag without grpc-encoding: INTERNAL; unknown grpc-encoding: UNIMPLEMENTED; bad flag: INTERNAL', async () => {
    const body = EchoRequest.encode({ text: 'x' });
    const flagged = Buffer.concat([Buffer.from([1, 0, 0, 0, body.length]), body]);
    const noEncoding = await rawCall(session, requestHeaders(), [flagged]);
    assert.equal(grpcStatus(noEncoding), Status.INTERNAL);
    const snappy = await rawCall(session, requestHeaders(undefined, { 'grpc-encoding': 'snappy' }), [
      flagged,
    ]);
    assert.equal(grpcStatus(snappy), Status.UNIMPLEMENTED);
    assert.match(String(snappy.headers['grpc-accept-encoding']), /gzip/);
    const badFlag = await rawCall(session, requestHeaders(), [Buffer.from([7, 0, 0, 0, 0])]);
    assert.equal(grpcStatus(badFlag), Status.INTERNAL);
  });

  it('decompresses a gzip message, and refuses one that inflates past the limit', async () => {
    const gz = zlib.gzipSync(EchoRequest.encode({ text: 'zipped' }));
    const frame = Buffer.concat([Buffer.from([1, 0, 0, 0, 0]), gz]);
    frame.writeUInt32BE(gz.length, 1);
    const r = await rawCall(session, requestHeaders(undefined, { 'grpc-encoding': 'gzip' }), [frame]);
    assert.equal(grpcStatus(r), Status.OK);
    assert.match(r.data.subarray(5).toString('latin1'), /zipped/);

    const bomb = zlib.gzipSync(EchoRequest.encode({ text: 'x'.repeat(200 * 1024) }));
    const bombFrame = Buffer.concat([Buffer.from([1, 0, 0, 0, 0]), bomb]);
    bombFrame.writeUInt32BE(bomb.length, 1);
    const refused = await rawCall(session, requestHeaders(undefined, { 'grpc-encoding': 'gzip' }), [
      bombFrame,
    ]);
    assert.equal(grpcStatus(refused), Status.RESOURCE_EXHAUSTED);
  });

  it('a slow client sending half a frame, then waiting, holds no one else up', async () => {
    const whole = frameOf('slow');
    const stream = session.request(requestHeaders());
    stream.on('error', () => {});
    let trailers: IncomingHttpHeaders | undefined;
    stream.on('trailers', (t) => {
      trailers = t;
    });
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    const closed = new Promise<void>((resolve) => stream.on('close', resolve));
    stream.write(whole.subarray(0, 3));
    // Meanwhile, other calls on the same connection are answered.
    const other = await rawCall(session, requestHeaders(), [frameOf('other')]);
    assert.equal(grpcStatus(other), Status.OK);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(trailers, undefined, 'no answer to half a frame');
    stream.end(whole.subarray(3));
    await closed;
    assert.equal(trailers?.['grpc-status'], '0');
    assert.match(Buffer.concat(chunks).toString('latin1'), /slow/);
  });

  it('a session destroyed mid-call cancels the handler', async () => {
    const text = `destroyed-${Date.now()}`;
    const doomed = http2.connect(`http://${target}`);
    doomed.on('error', () => {});
    const stream = doomed.request(requestHeaders());
    stream.on('error', () => {});
    stream.end(frameOf(text, { delayMs: 5000 }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    doomed.destroy();
    const until = Date.now() + 2000;
    while (!echoObservations.cancelled.includes(text)) {
      assert.ok(Date.now() < until, 'the handler saw the cancellation');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  });

  it('a stream reset by the client (RST_STREAM CANCEL) cancels the handler', async () => {
    const text = `reset-${Date.now()}`;
    const stream = session.request(requestHeaders());
    stream.on('error', () => {});
    stream.end(frameOf(text, { delayMs: 5000 }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    stream.close(http2.constants.NGHTTP2_CANCEL);
    const until = Date.now() + 2000;
    while (!echoObservations.cancelled.includes(text)) {
      assert.ok(Date.now() < until, 'the handler saw the cancellation');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  });

  it('bytes that are not HTTP/2 at all close that connection only', async () => {
    const socket = net.connect(Number(target.split(':')[1]), '127.0.0.1');
    socket.on('error', () => {});
    socket.on('data', () => {});
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((resolve) => socket.once('close', resolve));
  });

  it('a request header block over the limit is refused without harm', async () => {
    const other = http2.connect(`http://${target}`);
    other.on('error', () => {});
    try {
      const r = await rawCall(other, requestHeaders(undefined, { 'x-big': 'v'.repeat(100 * 1024) }), [
        frameOf('x'),
      ]);
      assert.equal(r.status, 0, 'no response');
      assert.equal(r.rstCode, http2.constants.NGHTTP2_REFUSED_STREAM);
    } finally {
      other.destroy();
    }
  });
});

describe('GrpcServer connection limits', () => {
  it('closes an idle connection gracefully (GOAWAY) after idleTimeoutMs', async () => {
    const server = new GrpcServer(new ServiceHost().add(echo, echoImplementation as never), {
      idleTimeoutMs: 150,
      keepaliveIntervalMs: 0,
    });
    const { host, port } = await server.listen();
    const session = http2.connect(`http://${host}:${port}`);
    session.on('error', () => {});
    try {
      const goaway = new Promise<void>((resolve) => session.once('goaway', () => resolve()));
      const r = await rawCall(session, requestHeaders(), [frameOf('then idle')]);
      assert.equal(grpcStatus(r), Status.OK);
      const started = Date.now();
      await goaway;
      assert.ok(Date.now() - started < 2000);
    } finally {
      session.destroy();
      await server.close(0);
    }
  });

  it('answers with keepalive pings on, and caps concurrent streams per connection', async () => {
    const server = new GrpcServer(new ServiceHost().add(echo, echoImplementation as never), {
      keepaliveIntervalMs: 20,
      maxConcurrentStreams: 2,
    });
    const { host, port } = await server.listen();
    const session = http2.connect(`http://${host}:${port}`);
    session.on('error', () => {});
    try {
      const settings = await new Promise<http2.Settings>((resolve) =>
        session.once('remoteSettings', resolve),
      );
      assert.equal(settings.maxConcurrentStreams, 2);
      await new Promise((resolve) => setTimeout(resolve, 100));
      // Five calls on a connection that allows two at a time: the client queues, all succeed.
      const results = await Promise.all(
        [1, 2, 3, 4, 5].map((i) => rawCall(session, requestHeaders(), [frameOf(`c${i}`, { delayMs: 20 })])),
      );
      assert.deepEqual(
        results.map((r) => grpcStatus(r)),
        [0, 0, 0, 0, 0],
      );
    } finally {
      session.destroy();
      await server.close(0);
    }
  });
});

describe('GrpcServer.close', () => {
  it('lets calls in flight finish within the grace period, refuses new ones, then cancels the rest', async () => {
    const server = new GrpcServer(new ServiceHost().add(echo, echoImplementation as never));
    const { host, port } = await server.listen();
    const transport = new GrpcClientTransport({ target: `${host}:${port}` });
    const client = createClient<EchoService>(echo, transport);
    try {
      const quick = client.unary({ text: 'quick', delayMs: 100 });
      const slow = client.unary({ text: `slow-${port}`, delayMs: 10_000 }).catch((err: unknown) => err);
      await new Promise((resolve) => setTimeout(resolve, 50));
      const closing = server.close(400);
      assert.equal((await quick).text, 'quick', 'a call in flight finishes');
      const started = Date.now();
      await closing;
      assert.ok(Date.now() - started < 2000);
      const err = (await slow) as { code?: number };
      assert.ok(err.code === Status.UNAVAILABLE || err.code === Status.CANCELLED, `got ${String(err)}`);
      assert.ok(echoObservations.cancelled.includes(`slow-${port}`), 'the slow handler was cancelled');
      await assert.rejects(
        client.unary({ text: 'late' }, { timeoutMs: 2000 }),
        (e: { code?: number }) => e.code === Status.UNAVAILABLE,
      );
    } finally {
      await transport.close();
      await server.close(0);
    }
  });
  it('ends sockets still in their TLS handshake when the grace period ends', async () => {
    const { cert, key } = selfSignedCert();
    const server = new GrpcServer(new ServiceHost().add(echo, echoImplementation as never), {
      tls: { cert, key },
      tlsHandshakeTimeoutMs: 60_000,
    });
    const { port } = await server.listen();
    const silent = net.connect(port, '127.0.0.1'); // never starts its handshake
    silent.on('error', () => {});
    await new Promise((resolve) => silent.once('connect', resolve));
    const started = Date.now();
    await server.close(100);
    assert.ok(
      Date.now() - started < 5000,
      `closed after ${Date.now() - started} ms, not the handshake timeout`,
    );
    await new Promise((resolve) => (silent.destroyed ? resolve(undefined) : silent.once('close', resolve)));
  });
});
