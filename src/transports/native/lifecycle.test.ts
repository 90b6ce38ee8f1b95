import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { selfSignedCert } from '../../../test/support/certs.ts';
import { connectClient, method, RawPeer, sleep, startServer } from '../../../test/support/native-peer.ts';
import { rejection } from '../../../test/support/status.ts';
import { StatusError } from '../../contract/errors.ts';
import { Status } from '../../contract/status.ts';
import type { CallContext } from '../../core/context.ts';
import { FrameType, GoawayCode } from './frame.ts';
import { FrameDecoder } from './frame-decoder.ts';
import { readGoaway, readStatus } from './frame-payloads.ts';
import { FrameWriter } from './frame-writer.ts';

/** A TCP server that completes the handshake, then never answers anything (a hung peer). */
async function silentServer(): Promise<{ port: number; close(): Promise<void>; sockets: net.Socket[] }> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => {});
    const decoder = new FrameDecoder(
      {
        onFrame(type) {
          if (type !== FrameType.HELLO) return;
          const w = new FrameWriter();
          w.hello({
            maxMessageBytes: 1 << 20,
            maxConcurrentStreams: 100,
            initialWindowBytes: 65536,
            maxMetadataBytes: 8192,
          });
          socket.write(w.take());
        },
      },
      1 << 24,
    );
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    sockets,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('native transport: connection lifecycle', () => {
  it('graceful close: GOAWAY, the call in flight completes, new calls are refused', async () => {
    const server = await startServer();
    const echo = connectClient(server.target);
    const peer = await RawPeer.connect(server.port);
    try {
      await peer.handshake();
      const unary = '/sb.test.Echo/Unary';
      const slow = method('Unary').input.encode({ text: 'raw slow', delayMs: 300 });
      peer.send((w) => w.request(1, 0, Buffer.from(unary), 5000, undefined, slow));
      await echo.client.unary({ text: 'warm-up' });
      const inFlight = echo.client.unary({ text: 'in flight', delayMs: 300 });
      inFlight.catch(() => {}); // asserted below; keeps a failure above from hiding behind it
      await sleep(50);
      const closing = server.server.close(5000);
      const goaway = readGoaway((await peer.next((f) => f.type === FrameType.GOAWAY)).payload);
      assert.equal(goaway.code, GoawayCode.NO_ERROR);
      assert.equal(goaway.lastStreamId, 1);
      // A call sent after the GOAWAY on the old connection is refused UNAVAILABLE...
      peer.send((w) => w.request(3, 0, Buffer.from(unary), 5000, undefined, slow));
      const refused = await peer.next((f) => f.type === FrameType.STATUS && f.streamId === 3);
      assert.equal(readStatus(refused.payload, refused.flags).code, Status.UNAVAILABLE);
      // ...while the calls in flight complete.
      const done = await peer.next((f) => f.type === FrameType.STATUS && f.streamId === 1);
      assert.equal(readStatus(done.payload, done.flags).code, Status.OK);
      assert.equal((await inFlight).text, 'in flight');
      // New calls open a new connection, which the closed listener refuses.
      const err = await rejection(echo.client.unary({ text: 'after' }));
      assert.equal(err.code, Status.UNAVAILABLE);
      await closing;
      assert.equal(server.server.connectionCount, 0);
    } finally {
      peer.destroy();
      await echo.close();
      await server.close();
    }
  });

  it('GOAWAY moves new calls to a new connection (a server restarted on the same port)', async () => {
    const first = await startServer(
      {},
      {
        async default() {
          return { text: 'first' };
        },
      },
    );
    const echo = connectClient(first.target);
    let second: Awaited<ReturnType<typeof startServer>> | undefined;
    try {
      assert.equal((await echo.client.default({})).text, 'first');
      const slow = echo.client.unary({ text: 'slow', delayMs: 300 });
      await sleep(30);
      const closing = first.server.close(5000);
      second = await startServer(
        { port: first.port },
        {
          async default() {
            return { text: 'second' };
          },
        },
      );
      await sleep(30);
      assert.equal((await echo.client.default({})).text, 'second');
      assert.equal((await slow).text, 'slow', 'the call in flight finished on the old connection');
      await closing;
    } finally {
      await echo.close();
      await first.close();
      await second?.close();
    }
  });

  it('after the grace period, calls still running are cancelled with UNAVAILABLE', async () => {
    let handlerReason: unknown;
    const server = await startServer(
      {},
      {
        async default(_req: unknown, ctx: CallContext) {
          await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
          handlerReason = ctx.signal.reason;
          return {};
        },
      },
    );
    const echo = connectClient(server.target);
    try {
      await echo.client.unary({ text: 'connect' });
      const stuck = rejection(echo.client.default({}));
      await sleep(30);
      const started = Date.now();
      await server.server.close(200);
      const err = await stuck;
      assert.equal(err.code, Status.UNAVAILABLE);
      assert.ok(Date.now() - started < 5000);
      assert.ok(handlerReason instanceof StatusError && handlerReason.code === Status.UNAVAILABLE);
    } finally {
      await echo.close();
      await server.close();
    }
  });

  it('client keepalive detects a peer that stopped answering', async () => {
    const silent = await silentServer();
    const echo = connectClient(`127.0.0.1:${silent.port}`, { keepaliveMs: 100, keepaliveTimeoutMs: 150 });
    try {
      const started = Date.now();
      const err = await rejection(echo.client.unary({ text: 'never answered' }, { timeoutMs: 10_000 }));
      const took = Date.now() - started;
      assert.equal(err.code, Status.UNAVAILABLE);
      assert.match(err.message, /PING/);
      assert.ok(took >= 200 && took < 6000, `detected after ${took} ms`);
    } finally {
      await echo.close();
      await silent.close();
    }
  });

  it('server keepalive closes a client that stopped answering PING', async () => {
    const server = await startServer({ keepaliveMs: 100, keepaliveTimeoutMs: 150, idleTimeoutMs: 0 });
    const peer = await RawPeer.connect(server.port);
    try {
      await peer.handshake();
      // The raw peer never answers the PING.
      await peer.next((f) => f.type === FrameType.PING);
      const goaway = readGoaway((await peer.next((f) => f.type === FrameType.GOAWAY)).payload);
      assert.equal(goaway.code, GoawayCode.KEEPALIVE_TIMEOUT);
      await peer.closed;
    } finally {
      peer.destroy();
      await server.close();
    }
  });

  it('a healthy idle connection answers PINGs and stays open', async () => {
    const server = await startServer({ keepaliveMs: 50, keepaliveTimeoutMs: 100 });
    const echo = connectClient(server.target, { keepaliveMs: 50, keepaliveTimeoutMs: 100 });
    try {
      await echo.client.unary({ text: 'a' });
      await sleep(400);
      assert.equal(server.server.connectionCount, 1);
      assert.equal((await echo.client.unary({ text: 'b' })).text, 'b');
      assert.equal(server.server.connectionCount, 1);
    } finally {
      await echo.close();
      await server.close();
    }
  });

  it('fails calls on a lost connection with UNAVAILABLE and reconnects for the next call', async () => {
    const server = await startServer();
    const echo = connectClient(server.target);
    let restarted: Awaited<ReturnType<typeof startServer>> | undefined;
    try {
      await echo.client.unary({ text: 'a' });
      const pending = rejection(echo.client.unary({ text: 'lost', delayMs: 2000 }));
      await sleep(30);
      await server.server.close(0);
      const err = await pending;
      assert.equal(err.code, Status.UNAVAILABLE);
      restarted = await startServer({ port: server.port });
      assert.equal((await echo.client.unary({ text: 'again' })).text, 'again');
    } finally {
      await echo.close();
      await restarted?.close();
    }
  });

  it('sends a call refused by GOAWAY (never processed) again on a new connection', async () => {
    // First connection: GOAWAY(last stream 0) in answer to the REQUEST. Second: a real answer.
    let connections = 0;
    const sockets: net.Socket[] = [];
    const fake = net.createServer((socket) => {
      sockets.push(socket);
      const index = ++connections;
      socket.on('error', () => {});
      const decoder = new FrameDecoder(
        {
          onFrame(type, _flags, streamId) {
            const w = new FrameWriter();
            if (type === FrameType.HELLO) {
              w.hello({
                maxMessageBytes: 1 << 20,
                maxConcurrentStreams: 10,
                initialWindowBytes: 65536,
                maxMetadataBytes: 8192,
              });
            } else if (type === FrameType.REQUEST && index === 1) {
              w.goaway(0, GoawayCode.NO_ERROR, 'restarting');
            } else if (type === FrameType.REQUEST) {
              const response = method('Unary').output.encode({ text: `answered on connection ${index}` });
              w.status(streamId, Status.OK, '', undefined, undefined, undefined, response);
            }
            socket.write(w.take());
            if (type === FrameType.REQUEST && index === 1) socket.end();
          },
        },
        1 << 24,
      );
      socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    const echo = connectClient(`127.0.0.1:${(fake.address() as net.AddressInfo).port}`);
    try {
      const response = await echo.client.unary({ text: 'retry me' });
      assert.equal(response.text, 'answered on connection 2');
      assert.equal(connections, 2);
    } finally {
      await echo.close();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => fake.close(() => resolve()));
    }
  });

  it('fails calls with UNAVAILABLE when nothing listens', async () => {
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const echo = connectClient(`127.0.0.1:${port}`);
    try {
      const err = await rejection(echo.client.unary({ text: 'x' }));
      assert.equal(err.code, Status.UNAVAILABLE);
      const stream = await rejection(
        (async () => {
          for await (const _ of echo.client.serverStream({ text: 'x' })) assert.fail('no message expected');
        })(),
      );
      assert.equal(stream.code, Status.UNAVAILABLE);
    } finally {
      await echo.close();
    }
  });

  it('close() on the client cancels its calls and refuses new ones', async () => {
    const server = await startServer();
    const echo = connectClient(server.target);
    try {
      const pending = rejection(echo.client.unary({ text: 'pending', delayMs: 2000 }));
      await sleep(50);
      await echo.close();
      assert.equal((await pending).code, Status.CANCELLED);
      assert.equal((await rejection(echo.client.unary({ text: 'late' }))).code, Status.UNAVAILABLE);
    } finally {
      await server.close();
    }
  });

  it('serves calls over TLS', async (t) => {
    // openssl comes from scripts/services.sh: a missing one is a failure, never a skip.
    const certs = selfSignedCert({ prefix: 'sb-native-tls-', keyType: 'rsa' });
    t.after(() => certs.cleanup());
    const { cert, key } = certs;
    const server = await startServer({ tls: { cert, key } });
    const echo = connectClient(`localhost:${server.port}`, { tls: { ca: cert } });
    const untrusting = connectClient(`localhost:${server.port}`, { tls: {} });
    try {
      assert.equal((await echo.client.unary({ text: 'secure' })).text, 'secure');
      const replies: unknown[] = [];
      for await (const m of echo.client.serverStream({ text: 's', count: 3 })) replies.push(m.index);
      assert.equal(replies.length, 3);
      const err = await rejection(untrusting.client.unary({ text: 'x' }));
      assert.equal(err.code, Status.UNAVAILABLE);
    } finally {
      await echo.close();
      await untrusting.close();
      await server.close();
    }
  });
});
