/**
 * GrpcServer against clients that try to exhaust it: too many connections, connections that
 * never finish a handshake, HTTP/2 rapid reset, stream floods. The raw clients write HTTP/2
 * frames by hand, since node:http2 will not misbehave in these ways.
 */
import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import http2, { type ClientHttp2Session } from 'node:http2';
import net from 'node:net';
import { describe, it } from 'node:test';
import tls from 'node:tls';
import { type EchoService, echoContract } from '../../../test/fixtures/echo-service.ts';
import { selfSignedCert } from '../../../test/support/certs.ts';
import { sleep, waitFor } from '../../../test/support/wait.ts';
import { Status } from '../../contract/status.ts';
import { type CallContext, type Implementation, ServiceHost } from '../../core/index.ts';
import { encodeFrame } from './framing.ts';
import { GrpcServer, type GrpcServerOptions } from './server.ts';
import { RESET_BURST } from './session-guards.ts';

const contract = echoContract();
const echo = contract.service('sb.test.Echo');
const EchoRequest = contract.message('sb.test.EchoRequest');
const UNARY = '/sb.test.Echo/Unary';
const CLIENT_STREAM = '/sb.test.Echo/ClientStream';
const UNARY_HEADERS = { ':method': 'POST', ':path': UNARY, 'content-type': 'application/grpc' };

/** Handlers running now that wait until their call is cancelled. */
let holding = 0;

async function holdUntilCancelled(ctx: CallContext): Promise<never> {
  holding++;
  try {
    return await new Promise<never>((_, reject) => {
      if (ctx.signal.aborted) return reject(ctx.signal.reason);
      ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true });
      // A bound, so that a handler the server failed to cancel cannot hang the test run.
      setTimeout(() => reject(new Error('never cancelled')), 30_000).unref();
    });
  } finally {
    holding--;
  }
}

/** Unary calls whose text starts with "hold", and every client stream, wait until cancelled. */
const implementation: Implementation<EchoService> = {
  async unary(req, ctx) {
    return req.text.startsWith('hold') ? holdUntilCancelled(ctx) : { text: req.text };
  },
  async clientStream(_requests, ctx) {
    return holdUntilCancelled(ctx);
  },
};

async function startServer(options: GrpcServerOptions = {}): Promise<{ server: GrpcServer; port: number }> {
  const server = new GrpcServer(new ServiceHost().add<EchoService>(echo, implementation), {
    keepaliveIntervalMs: 0,
    ...options,
  });
  return { server, port: (await server.listen()).port };
}

/** The test's client connections: closed before its server, whose close() waits for them. */
const clients = new Set<{ destroy(): unknown }>();

async function stop(server: GrpcServer): Promise<void> {
  for (const client of clients) client.destroy();
  clients.clear();
  await server.close(0);
}

/** An HTTP/2 session the server accepted (its SETTINGS arrived), or undefined if it closed it. */
function connectHttp2(port: number, ca?: Buffer): Promise<ClientHttp2Session | undefined> {
  return new Promise((resolve) => {
    const session = ca
      ? http2.connect(`https://localhost:${port}`, { ca })
      : http2.connect(`http://127.0.0.1:${port}`);
    clients.add(session);
    session.on('error', () => {});
    session.once('remoteSettings', () => resolve(session));
    session.once('close', () => resolve(undefined));
  });
}

/** A unary call on `session`: its grpc-status (-1 if the stream failed without one). */
function unaryOn(session: ClientHttp2Session, text: string): Promise<number> {
  return new Promise((resolve) => {
    const stream = session.request(UNARY_HEADERS);
    let status = -1;
    const take = (headers: http2.IncomingHttpHeaders) => {
      if (headers['grpc-status'] !== undefined) status = Number(headers['grpc-status']);
    };
    stream.on('response', take).on('trailers', take).on('data', ignore).on('error', ignore);
    stream.on('close', () => resolve(status));
    stream.end(encodeFrame(EchoRequest.encode({ text })));
  });
}

/** A well-behaved call on a connection of its own: its grpc-status. */
async function wellBehavedCall(port: number, ca?: Buffer): Promise<number> {
  const session = await connectHttp2(port, ca);
  if (!session) return -1;
  try {
    return await unaryOn(session, 'well behaved');
  } finally {
    session.destroy();
  }
}

/** Whether `closed` settles within `ms`. */
function closesWithin(closed: Promise<unknown>, ms: number): Promise<boolean> {
  return Promise.race([closed.then(() => true), sleep(ms).then(() => false)]);
}

/** A plain TCP connection: resolves once connected; `closed` resolves when it closes. */
async function connectTcp(port: number): Promise<{ socket: net.Socket; closed: Promise<void> }> {
  const socket = net.connect(port, '127.0.0.1');
  clients.add(socket);
  socket.on('error', ignore).on('data', ignore);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise((resolve) => socket.once('connect', resolve));
  return { socket, closed };
}

function ignore(): void {}

// HTTP/2 frames by hand (RFC 9113 §4, §6): types, then flags.
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
const [DATA, HEADERS, RST_STREAM, SETTINGS, GOAWAY] = [0, 1, 3, 4, 7];
const [END_STREAM, ACK, END_HEADERS] = [1, 1, 4];

function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head.writeUInt8(type, 3);
  head.writeUInt8(flags, 4);
  head.writeUInt32BE(streamId, 5);
  return Buffer.concat([head, payload]);
}

/** A gRPC request's header block: HPACK literals, not indexed, not Huffman-coded (all short). */
function headerBlock(path: string): Buffer {
  const literal = (text: string) => String.fromCharCode(text.length) + text;
  const fields = { ':method': 'POST', ':scheme': 'http', ':authority': 'localhost', ':path': path };
  const block = Object.entries({ ...fields, 'content-type': 'application/grpc' })
    .map(([name, value]) => `\0${literal(name)}${literal(value)}`)
    .join('');
  return Buffer.from(block, 'latin1');
}

/** An HTTP/2 client writing frames by hand, recording the server's RST_STREAMs and GOAWAY. */
class RawHttp2Client {
  readonly socket: net.Socket;
  /** Resolves when the connection closes. */
  readonly closed: Promise<void>;
  goawayCode: number | undefined;
  /** RST_STREAM frames received, by error code. */
  readonly resets = new Map<number, number>();
  #nextStreamId = 1;
  #received: Buffer = Buffer.alloc(0);
  #settingsSeen = false;
  readonly #ackSettings: boolean;

  /** Connects, sends the preface, waits for the server's SETTINGS, acknowledges them if told. */
  static async connect(port: number, ackSettings = true): Promise<RawHttp2Client> {
    const { socket, closed } = await connectTcp(port);
    const client = new RawHttp2Client(socket, closed, ackSettings);
    socket.write(Buffer.concat([PREFACE, frame(SETTINGS, 0, 0)]));
    await waitFor(() => client.#settingsSeen);
    return client;
  }

  private constructor(socket: net.Socket, closed: Promise<void>, ackSettings: boolean) {
    this.socket = socket;
    this.#ackSettings = ackSettings;
    this.closed = closed;
    socket.on('data', (chunk: Buffer) => this.#read(chunk));
  }

  /**
   * The frames of `count` new streams to `path`: HEADERS, then `body` in a DATA frame ending the
   * request (none: the request stays open), then RST_STREAM CANCEL if `reset`.
   */
  streams(count: number, path: string, body?: Buffer, reset = false): Buffer[] {
    const frames: Buffer[] = [];
    for (let i = 0; i < count; i++, this.#nextStreamId += 2) {
      const id = this.#nextStreamId;
      frames.push(frame(HEADERS, END_HEADERS, id, headerBlock(path)));
      if (body) frames.push(frame(DATA, END_STREAM, id, body));
      if (reset)
        frames.push(frame(RST_STREAM, 0, id, Buffer.from([0, 0, 0, http2.constants.NGHTTP2_CANCEL])));
    }
    return frames;
  }

  /** Writes `frames`; resolves once the socket can take more (or is closed). */
  async send(frames: Buffer[]): Promise<void> {
    if (this.socket.closed || this.socket.write(Buffer.concat(frames))) return;
    await Promise.race([new Promise((resolve) => this.socket.once('drain', resolve)), this.closed]);
  }

  #read(chunk: Buffer): void {
    let buffer = Buffer.concat([this.#received, chunk]);
    while (buffer.length >= 9 && buffer.length >= 9 + buffer.readUIntBE(0, 3)) {
      const length = buffer.readUIntBE(0, 3);
      const [type, flags] = [buffer.readUInt8(3), buffer.readUInt8(4)];
      const payload = buffer.subarray(9, 9 + length);
      if (type === SETTINGS && !(flags & ACK)) {
        this.#settingsSeen = true;
        if (this.#ackSettings) this.socket.write(frame(SETTINGS, ACK, 0));
      }
      if (type === RST_STREAM) {
        const code = payload.readUInt32BE(0);
        this.resets.set(code, (this.resets.get(code) ?? 0) + 1);
      }
      if (type === GOAWAY) this.goawayCode = payload.readUInt32BE(4);
      buffer = buffer.subarray(9 + length);
    }
    this.#received = buffer;
  }
}

describe('GrpcServer connection limits', { timeout: 30_000 }, () => {
  it('turns away connections over maxConnections at once, and takes one again when a place frees', async () => {
    const { server, port } = await startServer({ maxConnections: 3 });
    const warnings: string[] = [];
    const onWarning = (w: Error & { code?: string }) => {
      if (w.code === 'SWITCHBOARD_MAX_CONNECTIONS') warnings.push(w.message);
    };
    process.on('warning', onWarning);
    try {
      const sessions: ClientHttp2Session[] = [];
      for (let i = 0; i < 3; i++) {
        const session = await connectHttp2(port);
        assert.ok(session, `connection ${i + 1} accepted`);
        sessions.push(session);
      }
      for (const session of sessions) assert.equal(await unaryOn(session, 'served'), Status.OK);
      assert.equal(await connectHttp2(port), undefined, 'the fourth connection is closed');
      await waitFor(() => warnings.length === 1);
      assert.match(warnings[0] ?? '', /the gRPC server is at its limit of 3 open connections/);

      sessions.shift()?.destroy();
      // The server counts the freed place once it has seen that connection close.
      let fresh: ClientHttp2Session | undefined;
      await waitFor(async () => {
        fresh = await connectHttp2(port);
        return fresh !== undefined;
      });
      assert.ok(fresh);
      for (const session of [...sessions, fresh]) assert.equal(await unaryOn(session, 'served'), Status.OK);
    } finally {
      process.off('warning', onWarning);
      await stop(server);
    }
  });

  it('caps connections at 4096 unless told otherwise', async () => {
    const listening: net.Server[] = [];
    const onListen = (message: unknown) => listening.push((message as { server: net.Server }).server);
    diagnostics.subscribe('tracing:net.server.listen:asyncEnd', onListen);
    const { server, port } = await startServer();
    diagnostics.unsubscribe('tracing:net.server.listen:asyncEnd', onListen);
    try {
      const ours = listening.find((s) => (s.address() as net.AddressInfo | null)?.port === port);
      assert.equal(ours?.maxConnections, 4096);
    } finally {
      await stop(server);
    }
  });

  it('rejects limits that are not numbers in range', () => {
    for (const options of [
      { maxConnections: 0 },
      { maxConcurrentStreams: 1.5 },
      { handshakeTimeoutMs: -1 },
      { tlsHandshakeTimeoutMs: Number.NaN },
      { idleTimeoutMs: 2 ** 31 },
    ] as GrpcServerOptions[]) {
      assert.throws(() => new GrpcServer(new ServiceHost(), options), TypeError, JSON.stringify(options));
    }
  });
});

describe('GrpcServer handshake timeouts', { timeout: 30_000 }, () => {
  it('closes a connection that sends nothing, or half the HTTP/2 preface, after handshakeTimeoutMs', async () => {
    const { server, port } = await startServer({ handshakeTimeoutMs: 300 });
    try {
      const silent = await connectTcp(port);
      const half = await connectTcp(port);
      half.socket.write(PREFACE.subarray(0, 12));
      const started = Date.now();
      assert.ok(await closesWithin(Promise.all([silent.closed, half.closed]), 5000), 'both closed');
      // Not at once (the timer closed them, not a protocol error), and well before the idle timeout.
      assert.ok(Date.now() - started >= 200, `closed after ${Date.now() - started} ms`);

      // Clients that did their handshake (one with an empty SETTINGS frame) are not affected.
      const session = await connectHttp2(port);
      assert.ok(session);
      const raw = await RawHttp2Client.connect(port);
      await sleep(600);
      assert.equal(session.closed, false);
      assert.equal(raw.socket.closed, false);
      assert.equal(await unaryOn(session, 'after the handshake'), Status.OK);
    } finally {
      await stop(server);
    }
  });

  it('handshakeTimeoutMs 0 leaves a silent connection to the idle timeout', async () => {
    const { server, port } = await startServer({ handshakeTimeoutMs: 0, idleTimeoutMs: 1000 });
    try {
      const silent = await connectTcp(port);
      assert.equal(await closesWithin(silent.closed, 500), false, 'still open after 500 ms');
      assert.ok(await closesWithin(silent.closed, 5000), 'closed by the idle timeout');
    } finally {
      await stop(server);
    }
  });

  it('with TLS: closes a connection that never finishes the TLS handshake, or never sends the preface', async () => {
    const certs = selfSignedCert({ prefix: 'sb-grpc-limits-' });
    const { server, port } = await startServer({
      tls: { cert: certs.cert, key: certs.key },
      tlsHandshakeTimeoutMs: 300,
      handshakeTimeoutMs: 300,
    });
    try {
      const silent = await connectTcp(port);
      const secure = tls.connect({
        host: '127.0.0.1',
        port,
        ALPNProtocols: ['h2'],
        rejectUnauthorized: false,
      });
      clients.add(secure);
      // Reading, or the client would not notice the server closing.
      secure.on('error', ignore).resume();
      const secureClosed = new Promise((resolve) => secure.once('close', resolve));
      await new Promise((resolve) => secure.once('secureConnect', resolve));
      assert.equal(secure.alpnProtocol, 'h2');
      assert.ok(await closesWithin(silent.closed, 5000), 'TLS handshake not finished: closed');
      assert.ok(await closesWithin(secureClosed, 5000), 'no HTTP/2 preface after TLS: closed');
      assert.equal(await wellBehavedCall(port, certs.cert), Status.OK);
    } finally {
      await stop(server);
      certs.cleanup();
    }
  });
});

describe('GrpcServer under HTTP/2 floods', { timeout: 60_000 }, () => {
  it('closes a connection that opens and resets streams in a tight loop (rapid reset), cancelling its handlers', async () => {
    const { server, port } = await startServer();
    const flooder = await RawHttp2Client.connect(port);
    try {
      // Calls that reach their handlers first; then the flood: streams opened, their request
      // sent, and reset at once.
      const body = encodeFrame(EchoRequest.encode({ text: 'hold' }));
      await flooder.send(flooder.streams(20, UNARY, body));
      await waitFor(() => holding === 20);
      const during = wellBehavedCall(port);
      let streams = 0;
      const until = Date.now() + 10_000;
      for (; !flooder.socket.closed && streams < 20_000 && Date.now() < until; streams += 100) {
        await flooder.send(flooder.streams(100, UNARY, body, true));
        await new Promise((resolve) => setImmediate(resolve));
      }
      assert.ok(await closesWithin(flooder.closed, 5000), `the server closed it (after ${streams} streams)`);
      assert.equal(flooder.goawayCode, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
      assert.ok(streams < 20 * RESET_BURST, `stopped after ${streams} streams`);
      await waitFor(() => holding === 0);
      assert.equal(await during, Status.OK);
      assert.equal(await wellBehavedCall(port), Status.OK);
    } finally {
      await stop(server);
    }
  });

  it('a client cancelling calls now and then keeps its connection', async () => {
    const { server, port } = await startServer();
    try {
      const session = await connectHttp2(port);
      assert.ok(session);
      for (let i = 0; i < 50; i++) {
        const stream = session.request(UNARY_HEADERS);
        stream.on('error', ignore);
        stream.end(encodeFrame(EchoRequest.encode({ text: 'hold' })));
        await waitFor(() => holding === 1);
        stream.close(http2.constants.NGHTTP2_CANCEL);
        await waitFor(() => holding === 0);
      }
      assert.equal(session.closed, false);
      assert.equal(await unaryOn(session, 'kept'), Status.OK);
    } finally {
      await stop(server);
    }
  });

  it('refuses streams over maxConcurrentStreams (SETTINGS not yet acknowledged), serves the rest, releases them when the client leaves', async () => {
    const { server, port } = await startServer({ maxConcurrentStreams: 10 });
    const flooder = await RawHttp2Client.connect(port, false);
    try {
      // Client streams that never send a message: their handlers start at once, and wait.
      await flooder.send(flooder.streams(50, CLIENT_STREAM));
      await waitFor(() => flooder.resets.get(http2.constants.NGHTTP2_REFUSED_STREAM) === 40);
      await waitFor(() => holding === 10);
      assert.equal(flooder.socket.closed, false);
      assert.equal(await wellBehavedCall(port), Status.OK);
      flooder.socket.destroy();
      await waitFor(() => holding === 0);
    } finally {
      await stop(server);
    }
  });

  it('closes the connection of a client that opens streams over an acknowledged maxConcurrentStreams, or is refused 1000', async () => {
    const { server, port } = await startServer({ maxConcurrentStreams: 10 });
    try {
      // Over the limit it acknowledged: a protocol error. Before: refused, up to node:http2's
      // limit of invalid frames.
      for (const [ackSettings, over] of [
        [true, 40],
        [false, 1200],
      ] as const) {
        const flooder = await RawHttp2Client.connect(port, ackSettings);
        await flooder.send(flooder.streams(10, CLIENT_STREAM));
        await waitFor(() => holding === 10);
        await flooder.send(flooder.streams(over, CLIENT_STREAM));
        assert.ok(await closesWithin(flooder.closed, 5000), `the server closed it (ack: ${ackSettings})`);
        assert.notEqual(flooder.goawayCode, undefined, 'GOAWAY before closing');
        if (!ackSettings)
          assert.ok((flooder.resets.get(http2.constants.NGHTTP2_REFUSED_STREAM) ?? 0) >= 1000);
        await waitFor(() => holding === 0);
        assert.equal(await wellBehavedCall(port), Status.OK);
      }
    } finally {
      await stop(server);
    }
  });
});
