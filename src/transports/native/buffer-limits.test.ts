import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type EchoClient,
  type EchoServer,
  eventually,
  method,
  RawPeer,
  sleep,
  stillServes,
  withServer,
} from '../../../test/support/native-peer.ts';
import type { CallContext } from '../../core/context.ts';
import { ServiceHost } from '../../core/host.ts';
import type { Message } from '../../core/types.ts';
import { FrameType, GoawayCode } from './frame.ts';
import { readGoaway } from './frame-payloads.ts';
import { FrameWriter } from './frame-writer.ts';
import {
  connectionBufferBytes,
  DEFAULT_MAX_CONNECTION_BUFFER_BYTES,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_WINDOW_BYTES,
  type NativeServerOptions,
} from './options.ts';
import { NativeServer } from './server.ts';

const MiB = 1024 * 1024;
const CLIENT_STREAM = method('ClientStream');
/** The smallest buffer a server accepts: one stream's window and one largest message. */
const SMALLEST_BUFFER = DEFAULT_MAX_MESSAGE_BYTES + DEFAULT_WINDOW_BYTES;
/**
 * How far over its limit a connection may be: the message that crossed it, and what else had
 * arrived in the same read (64 KiB at most), counted to be generous.
 */
const OVERSHOOT = (messageBytes: number) => messageBytes + 256 * 1024;

/** A client-streaming handler that never reads its requests, and records what happens to it. */
function neverReads() {
  const seen = { started: 0, aborted: [] as string[] };
  const implementation = {
    async clientStream(_requests: AsyncIterable<Message>, ctx: CallContext) {
      seen.started++;
      await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
      seen.aborted.push(String((ctx.signal.reason as Error).message));
      return {};
    },
  };
  return { seen, implementation };
}

/** withServer, once the good client has been served: its connection is up before any flood. */
function withWarmServer(
  options: NativeServerOptions,
  implementation: Record<string, unknown>,
  body: (server: EchoServer, good: EchoClient) => Promise<void>,
): Promise<void> {
  return withServer(options, implementation, async (server, good) => {
    await stillServes(good);
    await body(server, good);
  });
}

/**
 * Opens `streams` client-streaming calls on `peer`, one message of `bytes` each, as fast as the
 * socket takes them (within credit: a stream's first message may overdraw its window).
 */
function flood(peer: RawPeer, streams: number, bytes: number): void {
  const message = CLIENT_STREAM.input.encode({ text: 'flood', payload: Buffer.alloc(bytes) });
  const path = Buffer.from(CLIENT_STREAM.path);
  const socket = peer.socket;
  let next = 0;
  const pump = () => {
    while (next < streams && !socket.destroyed) {
      const id = 2 * next + 1;
      next++;
      const w = new FrameWriter();
      w.request(id, 0, path, 60_000, undefined, undefined);
      w.message(id, message);
      if (!socket.write(w.take())) return;
    }
  };
  socket.on('drain', pump);
  pump();
}

/** The largest value `sample` takes, polled until `done` settles. */
async function peak(sample: () => number, done: Promise<unknown>): Promise<number> {
  let settled = false;
  const settle = () => (settled = true);
  void done.then(settle, settle);
  let most = sample();
  while (!settled) {
    await sleep(5);
    most = Math.max(most, sample());
  }
  return most;
}

describe('native server: request bytes buffered per connection', () => {
  it('stops reading a client flooding streams no handler reads, serves others, and frees all when it goes', async () => {
    const { seen, implementation } = neverReads();
    const limit = DEFAULT_MAX_CONNECTION_BUFFER_BYTES;
    // Frequent keepalive: it must not close a connection the server stopped reading itself (the
    // PONGs could not be read), and its pings find the client gone once it leaves.
    const options = { keepaliveMs: 100, keepaliveTimeoutMs: 100 };
    await withWarmServer(options, implementation, async (server, good) => {
      const buffered = () => server.server.bufferedRequestBytes;
      const peer = await RawPeer.connect(server.port);
      await peer.handshake();
      flood(peer, 200, MiB);
      assert.ok(await eventually(() => buffered() > limit - MiB, 10_000), `buffered ${buffered()}`);
      // Long enough for keepalive to have given up on the client several times over.
      const most = await peak(buffered, sleep(1000));
      assert.ok(most <= limit + OVERSHOOT(MiB), `${most} bytes buffered, over ${limit}`);
      assert.ok(seen.started < 200, `the server stopped reading after ${seen.started} of 200 calls`);
      assert.equal(seen.aborted.length, 0, 'the connection is left open');
      await stillServes(good, 'during the flood');
      const replies = [];
      for await (const reply of good.client.bidi([{ text: 'a' }, { text: 'b' }])) replies.push(reply.text);
      assert.deepEqual(replies, ['a', 'b']);

      peer.destroy();
      assert.ok(
        await eventually(() => server.server.connectionCount === 1 && buffered() === 0, 10_000),
        `${server.server.connectionCount} connections, ${buffered()} bytes buffered once the client left`,
      );
      assert.equal(seen.aborted.length, seen.started);
      assert.match(seen.aborted[0]!, /disconnected/);
      await stillServes(good, 'after the flood');
    });
  });

  it('closes a connection whose buffered requests no handler takes for idleTimeoutMs', async () => {
    const { seen, implementation } = neverReads();
    const options = {
      maxConnectionBufferBytes: SMALLEST_BUFFER,
      idleTimeoutMs: 500,
      keepaliveMs: 100,
      keepaliveTimeoutMs: 100,
    };
    await withWarmServer(options, implementation, async (server, good) => {
      const peer = await RawPeer.connect(server.port);
      await peer.handshake();
      flood(peer, 16, MiB);
      const frame = await peer.next((f) => f.type === FrameType.GOAWAY, 10_000);
      const { code, reason } = readGoaway(frame.payload);
      assert.equal(code, GoawayCode.IDLE_TIMEOUT, `GOAWAY ${code}: ${reason}`);
      assert.match(reason, /handlers took none of the \d+ request bytes/);
      assert.ok(seen.started < 16, `${seen.started} calls started`);
      assert.ok(await eventually(() => server.server.bufferedRequestBytes === 0, 5000), 'all freed');
      assert.ok(
        seen.aborted.every((why) => /IDLE_TIMEOUT/.test(why)),
        seen.aborted.join('; '),
      );
      peer.destroy();
      await stillServes(good);
    });
  });

  it('takes several uploads of largest messages at once, with the smallest buffer, to handlers reading slowly', async () => {
    let open: () => void = () => {};
    const gate = new Promise<void>((resolve) => (open = resolve));
    const implementation = {
      async clientStream(requests: AsyncIterable<{ payload: Uint8Array }>) {
        let bytes = 0;
        let count = 0;
        await gate;
        for await (const request of requests) {
          bytes += request.payload.length;
          count++;
          await sleep(50);
        }
        return { text: String(bytes), index: count };
      },
    };
    // Handlers start reading once the buffer is full (reading paused); then pauses come and go.
    const options = { maxConnectionBufferBytes: SMALLEST_BUFFER, idleTimeoutMs: 2000 };
    await withWarmServer(options, implementation, async (server, good) => {
      const payload = Buffer.alloc(DEFAULT_MAX_MESSAGE_BYTES - 64, 7);
      const messages = 4;
      const upload = (i: number) =>
        good.client.clientStream(Array.from({ length: messages }, () => ({ text: `u${i}`, payload })));
      const buffered = () => server.server.bufferedRequestBytes;
      const uploads = Promise.all([0, 1, 2, 3].map(upload));
      const most = peak(buffered, uploads);
      assert.ok(await eventually(() => buffered() > SMALLEST_BUFFER, 10_000), `buffered ${buffered()}`);
      open();
      const results = await uploads;
      for (const result of results) {
        assert.equal(result.text, String(messages * payload.length));
        assert.equal(result.index, messages);
      }
      const bound = SMALLEST_BUFFER + OVERSHOOT(DEFAULT_MAX_MESSAGE_BYTES);
      assert.ok((await most) <= bound, `${await most} bytes buffered`);
      assert.equal(server.server.bufferedRequestBytes, 0);
    });
  });

  it('holds unary requests back while handlers keep them, and answers every one', async () => {
    let started = 0;
    let open: () => void = () => {};
    const gate = new Promise<void>((resolve) => (open = resolve));
    const implementation = {
      async default(request: { text: string }) {
        started++;
        await gate;
        return { text: request.text };
      },
    };
    const limit = 8 * MiB;
    await withWarmServer({ maxConnectionBufferBytes: limit }, implementation, async (server, good) => {
      const buffered = () => server.server.bufferedRequestBytes;
      const payload = Buffer.alloc(MiB);
      const calls = Array.from({ length: 40 }, (_, i) => good.client.default({ text: `r${i}`, payload }));
      assert.ok(await eventually(() => buffered() > limit - MiB, 10_000), `buffered ${buffered()}`);
      const most = await peak(buffered, sleep(300));
      assert.ok(most <= limit + OVERSHOOT(MiB), `${most} bytes buffered`);
      assert.ok(started < 40, `the server stopped reading after ${started} of 40 calls`);
      open();
      const responses = await Promise.all(calls);
      assert.deepEqual(
        responses.map((r) => r.text),
        responses.map((_, i) => `r${i}`),
      );
      assert.equal(buffered(), 0);
    });
  });

  it('holds a server-streaming request until its handler answers', async () => {
    let open: () => void = () => {};
    const gate = new Promise<void>((resolve) => (open = resolve));
    const implementation = {
      async *serverStream(_request: unknown, ctx: CallContext) {
        await gate;
        yield { text: 'first' };
        await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
      },
    };
    await withWarmServer({}, implementation, async (server, good) => {
      const buffered = () => server.server.bufferedRequestBytes;
      const stream = good.client.serverStream({ text: 'subscribe', payload: Buffer.alloc(MiB) });
      const iterator = stream[Symbol.asyncIterator]();
      const first = iterator.next();
      assert.ok(await eventually(() => buffered() > MiB, 5000), `buffered ${buffered()}`);
      open();
      assert.equal((await first).value?.text, 'first');
      assert.ok(await eventually(() => buffered() === 0, 5000), `${buffered()} still buffered`);
      await iterator.return?.();
    });
  });

  it('sizes the buffer for two full streams unless set, and checks what is set', () => {
    const window = DEFAULT_WINDOW_BYTES;
    assert.equal(connectionBufferBytes(undefined, DEFAULT_MAX_MESSAGE_BYTES, window), 32 * MiB);
    assert.equal(connectionBufferBytes(undefined, 64 * MiB, window), 2 * (64 * MiB + window));
    assert.equal(connectionBufferBytes(0, DEFAULT_MAX_MESSAGE_BYTES, window), Infinity);
    const host = new ServiceHost();
    assert.throws(
      () => new NativeServer(host, { maxConnectionBufferBytes: SMALLEST_BUFFER - 1 }),
      /maxConnectionBufferBytes must be 0 \(off\) or at least maxMessageBytes \+ windowBytes/,
    );
    assert.throws(() => new NativeServer(host, { maxConnectionBufferBytes: -1 }), TypeError);
    assert.doesNotThrow(() => new NativeServer(host, { maxConnectionBufferBytes: 0 }), '0: off');
    assert.doesNotThrow(
      () =>
        new NativeServer(host, { maxConnectionBufferBytes: 1000, maxMessageBytes: 500, windowBytes: 500 }),
    );
  });
});
