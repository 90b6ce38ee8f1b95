import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  connectClient,
  type EchoClient,
  type EchoServer,
  eventually,
  type Frame,
  method,
  RawPeer,
  sleep,
  startServer,
} from '../../../test/support/native-peer.ts';
import { Metadata } from '../../contract/metadata.ts';
import { Status } from '../../contract/status.ts';
import type { CallContext } from '../../core/context.ts';
import { FrameType, GoawayCode, HEADER_BYTES } from './frame.ts';
import { readGoaway, readStatus } from './frame-payloads.ts';
import { FrameWriter } from './frame-writer.ts';

const UNARY = method('Unary');
const CLIENT_STREAM = method('ClientStream');

/** A unary REQUEST for `path` with raw message bytes. */
function request(w: FrameWriter, id: number, path: string, message: Uint8Array): void {
  w.request(id, 0, Buffer.from(path), 10_000, undefined, message);
}

function status(frame: Frame) {
  assert.equal(frame.type, FrameType.STATUS, `expected STATUS, got frame type ${frame.type}`);
  return readStatus(frame.payload, frame.flags);
}

async function expectGoaway(peer: RawPeer, code: number): Promise<string> {
  const frame = await peer.next((f) => f.type === FrameType.GOAWAY);
  const goaway = readGoaway(frame.payload);
  assert.equal(goaway.code, code, `GOAWAY ${goaway.code}: ${goaway.reason}`);
  await peer.closed;
  return goaway.reason;
}

describe('native server: bad input never crashes it', () => {
  let server: EchoServer;
  let echo: EchoClient;
  const disconnected: string[] = [];
  const goodRequest = UNARY.input.encode({ text: 'ok' });

  before(async () => {
    server = await startServer(
      {
        maxMessageBytes: 1024,
        maxMetadataBytes: 256,
        maxConcurrentStreams: 2,
        handshakeTimeoutMs: 200,
        idleTimeoutMs: 300,
      },
      {
        async default(_req: unknown, ctx: CallContext) {
          await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
          disconnected.push(String((ctx.signal.reason as Error).message));
          return {};
        },
      },
    );
    echo = connectClient(server.target);
  });

  after(async () => {
    await echo.close();
    await server.close();
  });

  /** After each bad peer, a well-behaved client still gets answers. */
  async function stillServes(): Promise<void> {
    const response = await echo.client.unary({ text: 'still here' });
    assert.equal(response.text, 'still here');
  }

  it('answers garbage bytes with GOAWAY and closes', async () => {
    const peer = await RawPeer.connect(server.port);
    peer.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    await expectGoaway(peer, GoawayCode.FRAME_SIZE_ERROR);
    await stillServes();
  });

  it('answers a first frame that is not HELLO with PROTOCOL_ERROR', async () => {
    const peer = await RawPeer.connect(server.port);
    peer.send((w) => request(w, 1, UNARY.path, goodRequest));
    await expectGoaway(peer, GoawayCode.PROTOCOL_ERROR);
    await stillServes();
  });

  it('answers a frame with a huge length with FRAME_SIZE_ERROR, without buffering it', async () => {
    const peer = await RawPeer.connect(server.port);
    await peer.handshake();
    const header = Buffer.alloc(HEADER_BYTES);
    header.writeUInt32BE(0xfffffff0, 0);
    header[4] = FrameType.MESSAGE;
    header.writeUInt32BE(1, 6);
    peer.write(header);
    await expectGoaway(peer, GoawayCode.FRAME_SIZE_ERROR);
    await stillServes();
  });

  it('answers an unknown frame type with PROTOCOL_ERROR', async () => {
    const peer = await RawPeer.connect(server.port);
    await peer.handshake();
    peer.send((w) => w.raw(0x7f, 0, 1, Uint8Array.of(1, 2, 3)));
    const reason = await expectGoaway(peer, GoawayCode.PROTOCOL_ERROR);
    assert.match(reason, /UNKNOWN\(0x7f\)/);
    await stillServes();
  });

  it('answers a reused stream id with PROTOCOL_ERROR', async () => {
    const peer = await RawPeer.connect(server.port);
    await peer.handshake();
    peer.send((w) => request(w, 5, UNARY.path, goodRequest));
    assert.equal(status(await peer.next()).code, Status.OK);
    peer.send((w) => request(w, 5, UNARY.path, goodRequest));
    await expectGoaway(peer, GoawayCode.PROTOCOL_ERROR);
    await stillServes();
  });

  it('answers a REQUEST whose fields run past its end with PROTOCOL_ERROR', async () => {
    const peer = await RawPeer.connect(server.port);
    await peer.handshake();
    peer.send((w) => w.raw(FrameType.REQUEST, 0x01, 1, Uint8Array.of(0, 1, 0, 200, 0x2f)));
    await expectGoaway(peer, GoawayCode.PROTOCOL_ERROR);
    await stillServes();
  });

  it('copes with a truncated frame followed by a close', async () => {
    const peer = await RawPeer.connect(server.port);
    await peer.handshake();
    const w = new FrameWriter();
    request(w, 1, UNARY.path, goodRequest);
    const bytes = w.take();
    peer.write(bytes.subarray(0, bytes.length - 3));
    await sleep(20);
    peer.socket.end();
    await peer.closed;
    await stillServes();
  });

  it('closes a connection that never says HELLO (handshake timeout)', async () => {
    const peer = await RawPeer.connect(server.port);
    const started = Date.now();
    await expectGoaway(peer, GoawayCode.HANDSHAKE_TIMEOUT);
    assert.ok(Date.now() - started < 5000);
    await stillServes();
  });

  it('closes a connection stuck in the middle of a frame (slowloris)', async () => {
    const peer = await RawPeer.connect(server.port);
    await peer.handshake();
    const started = Date.now();
    // One byte of a frame header every 100 ms: progress, but never a whole frame.
    const drip = setInterval(() => {
      if (!peer.socket.destroyed) peer.write(Uint8Array.of(0));
    }, 100);
    try {
      await expectGoaway(peer, GoawayCode.IDLE_TIMEOUT);
    } finally {
      clearInterval(drip);
    }
    const took = Date.now() - started;
    assert.ok(took >= 250 && took < 6000, `closed after ${took} ms`);
    await stillServes();
  });

  it('answers an unknown method with UNIMPLEMENTED on that stream only', async () => {
    const peer = await RawPeer.connect(server.port);
    await peer.handshake();
    peer.send((w) => request(w, 1, '/no.Such/Method', goodRequest));
    const answer = status(await peer.next());
    assert.equal(answer.code, Status.UNIMPLEMENTED);
    assert.match(answer.message, /no\.Such\/Method/);
    peer.send((w) => request(w, 3, UNARY.path, goodRequest));
    assert.equal(status(await peer.next()).code, Status.OK);
    peer.destroy();
    await stillServes();
  });

  it('answers a malformed protobuf message with INVALID_ARGUMENT', async () => {
    const peer = await RawPeer.connect(server.port);
    await peer.handshake();
    peer.send((w) => request(w, 1, UNARY.path, Uint8Array.of(0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f)));
    const answer = status(await peer.next());
    assert.equal(answer.code, Status.INVALID_ARGUMENT);
    peer.destroy();
    await stillServes();
  });

  it('answers a malformed message on a request stream with INVALID_ARGUMENT', async () => {
    const peer = await RawPeer.connect(server.port);
    await peer.handshake();
    peer.send((w) => {
      w.request(1, 0, Buffer.from(CLIENT_STREAM.path), 10_000, undefined, undefined);
      w.message(1, Uint8Array.of(0x0a, 0xff, 0xff));
    });
    assert.equal(status(await peer.next()).code, Status.INVALID_ARGUMENT);
    peer.destroy();
    await stillServes();
  });

  it('answers an oversized message with RESOURCE_EXHAUSTED on the stream, and an oversized frame with GOAWAY', async () => {
    const peer = await RawPeer.connect(server.port);
    await peer.handshake();
    const big = UNARY.input.encode({ text: 'x', payload: Buffer.alloc(2000) });
    peer.send((w) => request(w, 1, UNARY.path, big));
    const answer = status(await peer.next());
    assert.equal(answer.code, Status.RESOURCE_EXHAUSTED);
    peer.send((w) => request(w, 3, UNARY.path, Buffer.alloc(1 << 20)));
    await expectGoaway(peer, GoawayCode.FRAME_SIZE_ERROR);
    await stillServes();
  });

  it('answers metadata over the limit, or with a bad key, on that stream only', async () => {
    const peer = await RawPeer.connect(server.port);
    await peer.handshake();
    peer.send((w) =>
      w.request(1, 0, Buffer.from(UNARY.path), 10_000, new Metadata({ big: 'v'.repeat(500) }), goodRequest),
    );
    assert.equal(status(await peer.next()).code, Status.RESOURCE_EXHAUSTED);
    // A metadata block with the key "Bad Key" (upper case and a space are not allowed).
    const key = Buffer.from('Bad Key');
    const block = Buffer.concat([Buffer.from([0, 1, 0, key.length]), key, Buffer.from([0, 0, 0, 1, 0x61])]);
    const payload = Buffer.concat([
      Buffer.from([0, 0, 0, UNARY.path.length]),
      Buffer.from(UNARY.path),
      Buffer.from([0, 0, 0x27, 0x10]),
      block,
      goodRequest,
    ]);
    peer.send((w) => w.raw(FrameType.REQUEST, 0x03, 3, payload));
    assert.equal(status(await peer.next()).code, Status.INTERNAL);
    peer.destroy();
    await stillServes();
  });

  it('refuses calls beyond the concurrent stream limit with RESOURCE_EXHAUSTED', async () => {
    const peer = await RawPeer.connect(server.port);
    await peer.handshake();
    const slow = UNARY.input.encode({ text: 'slow', delayMs: 300 });
    peer.send((w) => {
      request(w, 1, UNARY.path, slow);
      request(w, 3, UNARY.path, slow);
      request(w, 5, UNARY.path, slow);
    });
    const third = await peer.next((f) => f.streamId === 5);
    assert.equal(status(third).code, Status.RESOURCE_EXHAUSTED);
    assert.equal(status(await peer.next((f) => f.streamId === 1)).code, Status.OK);
    peer.destroy();
    await stillServes();
  });

  it('aborts the handler when a client disconnects in the middle of a call', async () => {
    const peer = await RawPeer.connect(server.port);
    await peer.handshake();
    const before = disconnected.length;
    peer.send((w) => request(w, 1, method('Default').path, goodRequest));
    await sleep(50);
    peer.destroy();
    assert.ok(await eventually(() => disconnected.length > before), 'the handler signal aborted');
    assert.match(disconnected.at(-1)!, /disconnected/);
    await stillServes();
  });
});
