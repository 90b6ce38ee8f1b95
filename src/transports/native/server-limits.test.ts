import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { selfSignedCert } from '../../../test/support/certs.ts';
import {
  connectClient,
  eventually,
  method,
  RawPeer,
  sleep,
  startServer,
  stillServes,
  withServer,
} from '../../../test/support/native-peer.ts';
import { Status } from '../../contract/status.ts';
import type { CallContext } from '../../core/context.ts';
import { ServiceHost } from '../../core/host.ts';
import { FrameType, GoawayCode, HEADER_BYTES } from './frame.ts';
import { readGoaway, readStatus } from './frame-payloads.ts';
import { FrameWriter } from './frame-writer.ts';
import { NativeServer } from './server.ts';

const UNARY = method('Unary');
const DEFAULT = method('Default');
const SERVER_STREAM = method('ServerStream');
const QUICK = UNARY.input.encode({ text: 'quick' });
const SLOW = DEFAULT.input.encode({ text: 'slow' });

/** Handlers that record what the server did with the calls it was made to start. */
function recorder() {
  const seen = { started: 0, aborted: [] as string[], sent: 0, big: 0 };
  const waitForAbort = async (ctx: CallContext) => {
    await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
    seen.aborted.push(String((ctx.signal.reason as Error).message));
  };
  const implementation = {
    /** Echoes, counting the requests whose text is "big". */
    async unary(req: { text: string; payload: Uint8Array }) {
      if (req.text === 'big') seen.big++;
      return { text: req.text, payload: req.payload };
    },
    /** Runs until cancelled. */
    async default(_req: unknown, ctx: CallContext) {
      seen.started++;
      await waitForAbort(ctx);
      return {};
    },
    /** Streams 64 KiB messages until cancelled. */
    async *serverStream(_req: unknown, ctx: CallContext) {
      void waitForAbort(ctx);
      const payload = Buffer.alloc(64 * 1024);
      for (;;) {
        seen.sent++;
        yield { text: 'chunk', payload };
      }
    },
  };
  return { seen, implementation };
}

/** The GOAWAY the peer received (waiting for it), checked for `code`; returns its reason. */
async function goaway(peer: RawPeer, code: number, timeoutMs = 5000): Promise<string> {
  const frame = await peer.next((f) => f.type === FrameType.GOAWAY, timeoutMs);
  const { code: got, reason } = readGoaway(frame.payload);
  assert.equal(got, code, `GOAWAY ${got}: ${reason}`);
  return reason;
}

/** Whether `promise` settles within `ms`. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let settled = false;
  const done = () => (settled = true);
  void promise.then(done, done);
  return eventually(() => settled, ms);
}

function request(w: FrameWriter, id: number, path: string, message: Uint8Array): void {
  w.request(id, 0, Buffer.from(path), 60_000, undefined, message);
}

describe('native server: connection limits', () => {
  it('closes a connection over maxConnections at once, and serves again once one closes', async () => {
    const server = await startServer({ maxConnections: 3 });
    const warnings: string[] = [];
    const onWarning = (warning: Error & { code?: string }) => {
      if (warning.code === 'SWITCHBOARD_MAX_CONNECTIONS') warnings.push(warning.message);
    };
    process.on('warning', onWarning);
    const clients = [1, 2, 3].map(() => connectClient(server.target));
    try {
      for (const [i, echo] of clients.entries()) await stillServes(echo, `client ${i}`);
      assert.equal(server.server.connectionCount, 3);

      const fourth = await RawPeer.connect(server.port);
      await assert.rejects(fourth.handshake(), /closed before/, 'closed at once, without a HELLO');
      assert.ok(await eventually(() => warnings.length > 0), 'a warning names the limit');
      assert.match(warnings[0]!, /native server.*limit of 3 open connections/);

      await clients[0]!.close();
      assert.ok(await eventually(() => server.server.connectionCount === 2));
      const fifth = connectClient(server.target);
      clients.push(fifth);
      await stillServes(fifth, 'fifth');
      for (const echo of clients.slice(1)) await stillServes(echo);
    } finally {
      process.off('warning', onWarning);
      for (const echo of clients) await echo.close();
      await server.close();
    }
  });

  it('closes a flood of connections that never say HELLO, and serves a good client meanwhile', async () => {
    await withServer({ handshakeTimeoutMs: 500 }, {}, async (server, good) => {
      const peers = await Promise.all(Array.from({ length: 200 }, () => RawPeer.connect(server.port)));
      await stillServes(good, 'during the flood');
      assert.ok(await settlesWithin(Promise.all(peers.map((p) => p.closed)), 15_000), 'all 200 closed');
      for (const peer of peers) await goaway(peer, GoawayCode.HANDSHAKE_TIMEOUT, 0);
      assert.ok(await eventually(() => server.server.connectionCount === 1), 'only the good client is left');
      await stillServes(good, 'after the flood');
    });
  });

  it('rejects bad connection limits when the server is made', () => {
    const host = new ServiceHost();
    assert.throws(() => new NativeServer(host, { maxConnections: 0 }), /maxConnections/);
    assert.throws(() => new NativeServer(host, { tlsHandshakeTimeoutMs: -1 }), /tlsHandshakeTimeoutMs/);
    assert.throws(() => new NativeServer(host, { maxAbandonedCalls: -1 }), /maxAbandonedCalls/);
  });
});

describe('native server: TLS handshake timeout', () => {
  const certs = selfSignedCert({ prefix: 'sb-native-limits-' });
  const tls = { cert: certs.cert, key: certs.key };
  after(() => certs.cleanup());

  /** A plain TCP socket to a TLS port that sends nothing: closed within `ms`? */
  async function silentSocketClosed(port: number, ms: number): Promise<boolean> {
    const socket = net.connect({ host: '127.0.0.1', port }).on('error', () => {});
    try {
      return await settlesWithin(once(socket, 'close'), ms);
    } finally {
      socket.destroy();
    }
  }

  it('closes a socket that starts no TLS handshake within tlsHandshakeTimeoutMs', async () => {
    const server = await startServer({ tls, tlsHandshakeTimeoutMs: 300, handshakeTimeoutMs: 120_000 });
    const echo = connectClient(`localhost:${server.port}`, { tls: { ca: certs.cert } });
    try {
      const started = Date.now();
      assert.ok(await silentSocketClosed(server.port, 10_000), 'closed by the TLS handshake timeout');
      assert.ok(Date.now() - started >= 250, 'not before the timeout');
      await stillServes(echo, 'over TLS');
    } finally {
      await echo.close();
      await server.close();
    }
  });

  it('uses handshakeTimeoutMs for the TLS handshake when tlsHandshakeTimeoutMs is not set', async () => {
    const server = await startServer({ tls, handshakeTimeoutMs: 300 });
    try {
      assert.ok(await silentSocketClosed(server.port, 10_000));
    } finally {
      await server.close();
    }
  });
});

describe('native server: abandoned calls (rapid reset)', () => {
  it('closes a connection that opens and cancels calls in a flood, with ENHANCE_YOUR_CALM', async () => {
    const { seen, implementation } = recorder();
    const options = { maxConcurrentStreams: 100, maxAbandonedCalls: 50 };
    await withServer(options, implementation, async (server, good) => {
      const peer = await RawPeer.connect(server.port);
      await peer.handshake();
      peer.send((w) => {
        for (let id = 1; id <= 400; id += 2) {
          request(w, id, DEFAULT.path, SLOW);
          w.cancel(id, Status.CANCELLED);
        }
      });
      assert.match(await goaway(peer, GoawayCode.ENHANCE_YOUR_CALM), /abandoned calls.*cancelled/);
      await peer.closed;
      // 50 abandoned calls are allowed (plus what time refilled); the next closes the connection.
      assert.ok(seen.started <= 60, `${seen.started} handlers started of 200`);
      assert.ok(await eventually(() => seen.aborted.length === seen.started), 'every handler was aborted');
      await stillServes(good);
    });
  });

  it('lets a client cancel many calls when it lets as many finish', async () => {
    const { seen, implementation } = recorder();
    await withServer({ maxAbandonedCalls: 20 }, implementation, async (server) => {
      const peer = await RawPeer.connect(server.port);
      await peer.handshake();
      for (let i = 0; i < 100; i++) {
        const id = 1 + 4 * i;
        peer.send((w) => {
          request(w, id, DEFAULT.path, SLOW);
          w.cancel(id, Status.CANCELLED);
          request(w, id + 2, UNARY.path, QUICK);
        });
        const answer = await peer.next((f) => f.streamId === id + 2);
        assert.equal(readStatus(answer.payload, answer.flags).code, Status.OK);
      }
      assert.equal(seen.started, 100);
      assert.ok(!peer.frames.some((f) => f.type === FrameType.GOAWAY), 'no GOAWAY');
      peer.destroy();
    });
  });

  it('gives back a tenth of the budget each second', async () => {
    const { implementation } = recorder();
    await withServer({ maxAbandonedCalls: 10 }, implementation, async (server) => {
      const peer = await RawPeer.connect(server.port);
      await peer.handshake();
      let id = 1;
      const abandon = (count: number) =>
        peer.send((w) => {
          for (let i = 0; i < count; i++, id += 2) {
            request(w, id, DEFAULT.path, SLOW);
            w.cancel(id, Status.CANCELLED);
          }
        });
      abandon(10);
      await sleep(1500); // one call's worth comes back each second
      abandon(1);
      const probe = id;
      peer.send((w) => request(w, probe, UNARY.path, QUICK));
      const answer = await peer.next((f) => f.streamId === probe);
      assert.equal(readStatus(answer.payload, answer.flags).code, Status.OK, 'still open');
      id += 2;
      abandon(20);
      await goaway(peer, GoawayCode.ENHANCE_YOUR_CALM);
    });
  });

  it('counts calls opened over maxConcurrentStreams as abandoned', async () => {
    const { implementation } = recorder();
    const options = { maxConcurrentStreams: 2, maxAbandonedCalls: 20 };
    await withServer(options, implementation, async (server, good) => {
      const peer = await RawPeer.connect(server.port);
      await peer.handshake();
      peer.send((w) => {
        request(w, 1, DEFAULT.path, SLOW);
        request(w, 3, DEFAULT.path, SLOW);
        for (let id = 5; id < 5 + 2 * 40; id += 2) request(w, id, UNARY.path, QUICK);
      });
      assert.match(await goaway(peer, GoawayCode.ENHANCE_YOUR_CALM), /over the limit of 2/);
      const refused = peer.frames.filter(
        (f) =>
          f.type === FrameType.STATUS && readStatus(f.payload, f.flags).code === Status.RESOURCE_EXHAUSTED,
      );
      assert.ok(refused.length >= 21 && refused.length < 40, `${refused.length} refused before the GOAWAY`);
      await stillServes(good);
    });
  });
});

describe('native server: frames trickling in', () => {
  it('closes a connection that sends a frame one byte per read, with ENHANCE_YOUR_CALM', async () => {
    await withServer({}, {}, async (server, good) => {
      const peer = await RawPeer.connect(server.port);
      await peer.handshake();
      const header = Buffer.alloc(HEADER_BYTES);
      header.writeUInt32BE(100_000, 0);
      header[4] = FrameType.REQUEST;
      header.writeUInt32BE(1, 6);
      peer.write(header);
      let closed = false;
      void peer.closed.then(() => (closed = true));
      let writes = 0;
      while (!closed && writes < 5000) {
        peer.write(Uint8Array.of(0));
        writes++;
        await sleep(1);
      }
      assert.match(await goaway(peer, GoawayCode.ENHANCE_YOUR_CALM), /trickling/);
      assert.ok(writes < 5000, `closed after ${writes} one-byte writes`);
      await stillServes(good);
    });
  });

  it('takes a large frame sent in ordinary pieces', async () => {
    await withServer({}, {}, async (server) => {
      const peer = await RawPeer.connect(server.port);
      await peer.handshake();
      const w = new FrameWriter();
      request(w, 1, UNARY.path, UNARY.input.encode({ text: 'big', payload: Buffer.alloc(300_000, 7) }));
      const bytes = w.take();
      for (let at = 0; at < bytes.length; at += 1024) {
        peer.write(bytes.subarray(at, at + 1024));
        await sleep(1);
      }
      const answer = await peer.next((f) => f.streamId === 1, 15_000);
      const status = readStatus(answer.payload, answer.flags);
      assert.equal(status.code, Status.OK, status.message);
      peer.destroy();
    });
  });
});

describe('native server: clients that do not read', () => {
  type Seen = ReturnType<typeof recorder>['seen'];

  /**
   * A client with a call in flight (so never idle) that stops reading, then runs `flood`: the
   * server must stop reading it and close it with IDLE_TIMEOUT, serving a good client throughout.
   */
  async function floodUnread(flood: (peer: RawPeer, seen: Seen) => Promise<void>): Promise<Seen> {
    const { seen, implementation } = recorder();
    await withServer({ keepaliveMs: 0, idleTimeoutMs: 1000 }, implementation, async (server, good) => {
      await stillServes(good);
      const peer = await RawPeer.connect(server.port);
      await peer.handshake();
      peer.send((w) => request(w, 1, DEFAULT.path, SLOW));
      assert.ok(await eventually(() => seen.started === 1));
      peer.socket.pause();
      await flood(peer, seen);
      await stillServes(good, 'during the flood');
      assert.ok(await eventually(() => seen.aborted.length > 0, 30_000), 'the server closed the connection');
      assert.match(seen.aborted[0]!, /IDLE_TIMEOUT/);
      peer.destroy();
      assert.ok(await eventually(() => server.server.connectionCount === 1), 'only the good client is left');
      await stillServes(good, 'after the flood');
    });
    return seen;
  }

  it('stops reading a ping flood it cannot answer, and closes the connection', async () => {
    // Pings as fast as the socket takes them: an IDLE_TIMEOUT meanwhile means no frame got in.
    await floodUnread(async (peer, seen) => {
      const flood = new FrameWriter();
      for (let i = 0; i < 16_384; i++) flood.ping(FrameType.PING, Buffer.alloc(8, i));
      const pings = flood.take();
      const socket = peer.socket;
      const pump = () => {
        while (!socket.destroyed && seen.aborted.length === 0 && socket.write(pings)) {}
      };
      socket.on('drain', pump);
      pump();
    });
  });

  it('stops reading calls whose answers are not read, and closes the connection', async () => {
    const sent = 80;
    const seen = await floodUnread(async (peer, seen) => {
      // One whole frame per write, paced, so the server is between frames when it stops reading:
      // only the answers it cannot send hold the connection up.
      const big = UNARY.input.encode({ text: 'big', payload: Buffer.alloc(256 * 1024) });
      for (let i = 0; i < sent && seen.aborted.length === 0; i++) {
        peer.send((w) => request(w, 3 + 2 * i, UNARY.path, big));
        await sleep(10);
      }
    });
    assert.ok(seen.big < sent, `the server stopped reading after ${seen.big} of ${sent} calls`);
  });

  it('sends a stream no further than the client grants, and drops a client that stops answering', async () => {
    const { seen, implementation } = recorder();
    const options = { keepaliveMs: 200, keepaliveTimeoutMs: 300 };
    await withServer(options, implementation, async (server, good) => {
      await stillServes(good);
      const peer = await RawPeer.connect(server.port);
      await peer.handshake({ initialWindowBytes: 256 * 1024 });
      peer.send((w) => request(w, 1, SERVER_STREAM.path, SERVER_STREAM.input.encode({ text: 'x' })));
      // Never grants credit, never answers PING: keepalive ends it.
      assert.ok(await eventually(() => seen.aborted.length > 0, 10_000), 'the handler was aborted');
      assert.match(seen.aborted[0]!, /KEEPALIVE_TIMEOUT/);
      // 256 KiB of credit is four 64 KiB messages (the last may overdraw), plus one waiting to go.
      assert.ok(seen.sent <= 6, `${seen.sent} messages produced`);
      peer.destroy();
      assert.ok(await eventually(() => server.server.connectionCount === 1), 'only the good client is left');
      await stillServes(good);
    });
  });
});
