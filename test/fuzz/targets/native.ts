/** The native transport's decoders: frame splitting, every frame payload, metadata blocks, a live server. */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { StatusError } from '../../../src/contract/errors.ts';
import { Metadata } from '../../../src/contract/metadata.ts';
import { FrameType, HEADER_BYTES, RequestFlag } from '../../../src/transports/native/frame.ts';
import { FrameDecoder } from '../../../src/transports/native/frame-decoder.ts';
import {
  readCancel,
  readGoaway,
  readHello,
  readStatus,
  readWindow,
} from '../../../src/transports/native/frame-payloads.ts';
import { FrameWriter } from '../../../src/transports/native/frame-writer.ts';
import { readMetadataBlock } from '../../../src/transports/native/metadata-block.ts';
import { PayloadReader } from '../../../src/transports/native/payload-reader.ts';
import { ProtocolError } from '../../../src/transports/native/protocol-error.ts';
import { connectClient, method, RawPeer, startServer } from '../../support/native-peer.ts';
import {
  chunked,
  type FuzzTarget,
  largestAllocation,
  mutated,
  oneOf,
  outcome,
  pureTarget,
  timedAsync,
} from '../fuzz-kit.ts';

/** The frame limit of the pure targets: small, so a length above it is easy to reach. */
const MAX_PAYLOAD = 2048;
const clear = oneOf(ProtocolError, StatusError);

const metadataArb = fc
  .array(
    fc.oneof(
      fc.tuple(fc.stringMatching(/^[a-z0-9_.-]{1,12}$/), fc.string({ maxLength: 16 })),
      fc.tuple(fc.stringMatching(/^[a-z0-9_.-]{1,8}-bin$/), fc.uint8Array({ maxLength: 16 })),
    ),
    { maxLength: 4 },
  )
  .map((pairs) => {
    const metadata = new Metadata();
    for (const [key, value] of pairs) {
      try {
        metadata.add(key, value);
      } catch {
        // a key the generator got wrong: leave it out
      }
    }
    return metadata;
  });

/** One valid frame of any type, as FrameWriter writes it. */
const frameArb: fc.Arbitrary<(w: FrameWriter) => void> = fc.oneof(
  fc.tuple(fc.nat(), fc.nat(), fc.nat(), fc.nat()).map(
    ([a, b, c, d]) =>
      (w: FrameWriter) =>
        w.hello({ maxMessageBytes: a, maxConcurrentStreams: b, initialWindowBytes: c, maxMetadataBytes: d }),
  ),
  fc
    .tuple(
      fc.integer({ min: 1, max: 100 }),
      fc.nat({ max: 0xffff }),
      fc.option(fc.string({ maxLength: 40 })),
      fc.nat(),
      metadataArb,
      fc.option(fc.uint8Array({ maxLength: 64 })),
    )
    .map(
      ([id, methodId, path, timeout, metadata, message]) =>
        (w: FrameWriter) =>
          w.request(
            id,
            methodId,
            path === null ? undefined : Buffer.from(path),
            timeout,
            metadata,
            message ?? undefined,
          ),
    ),
  fc.tuple(fc.nat(), fc.uint8Array({ maxLength: 64 })).map(
    ([id, m]) =>
      (w: FrameWriter) =>
        w.message(id, m),
  ),
  fc.nat().map((id) => (w: FrameWriter) => w.end(id)),
  fc.tuple(fc.nat(), metadataArb).map(
    ([id, m]) =>
      (w: FrameWriter) =>
        w.headers(id, m),
  ),
  fc
    .tuple(
      fc.nat(),
      fc.nat({ max: 16 }),
      fc.string({ maxLength: 40 }),
      metadataArb,
      metadataArb,
      fc.option(fc.uint8Array({ maxLength: 32 })),
    )
    .map(
      ([id, code, message, headers, trailers, response]) =>
        (w: FrameWriter) =>
          w.status(
            id,
            code,
            message,
            headers,
            trailers,
            [{ typeUrl: 'type.googleapis.com/x', value: new Uint8Array([1, 2]) }],
            response ?? undefined,
          ),
    ),
  fc.tuple(fc.nat(), fc.nat({ max: 16 })).map(
    ([id, code]) =>
      (w: FrameWriter) =>
        w.cancel(id, code),
  ),
  fc.tuple(fc.nat(), fc.nat()).map(
    ([id, n]) =>
      (w: FrameWriter) =>
        w.window(id, n),
  ),
  fc.uint8Array({ minLength: 8, maxLength: 8 }).map((d) => (w: FrameWriter) => w.ping(FrameType.PING, d)),
  fc.tuple(fc.nat(), fc.nat({ max: 9 }), fc.string({ maxLength: 40 })).map(
    ([id, code, reason]) =>
      (w: FrameWriter) =>
        w.goaway(id, code, reason),
  ),
);

function framesBytes(builders: readonly ((w: FrameWriter) => void)[]): Uint8Array {
  const writer = new FrameWriter();
  for (const build of builders) build(writer);
  return writer.take();
}

const streamArb = mutated(fc.array(frameArb, { minLength: 1, maxLength: 5 }).map(framesBytes));

/** Decodes one frame's payload the way the server and client connections do. */
function readPayload(type: number, flags: number, buf: Buffer, start: number, end: number): void {
  switch (type) {
    case FrameType.HELLO:
      readHello(buf, start, end);
      return;
    case FrameType.REQUEST: {
      const reader = new PayloadReader(buf, 'REQUEST', start, end);
      reader.u16();
      if (flags & RequestFlag.METHOD_PATH) reader.utf8(reader.u16());
      reader.u32();
      readMetadataBlock(reader);
      reader.rest();
      return;
    }
    case FrameType.HEADERS:
      readMetadataBlock(new PayloadReader(buf, 'HEADERS', start, end));
      return;
    case FrameType.STATUS:
      readStatus(buf, flags, start, end);
      return;
    case FrameType.GOAWAY:
      readGoaway(buf, start, end);
      return;
    case FrameType.WINDOW:
      readWindow(buf, start, end);
      return;
    case FrameType.CANCEL:
      readCancel(buf, start, end);
      return;
  }
}

const frames = pureTarget('native-frames', 300, () =>
  fc.property(streamArb, fc.array(fc.nat(), { maxLength: 6 }), (bytes, cuts) => {
    const seen: number[] = [];
    const decoder = new FrameDecoder(
      {
        onFrame(type, flags, _streamId, buf, start, end) {
          assert.ok(end - start <= MAX_PAYLOAD, 'a frame above the limit was handed out');
          seen.push(type);
          // A payload error is the connection's to handle; each payload is checked on its own.
          outcome(() => readPayload(type, flags, buf, start, end), clear);
        },
      },
      MAX_PAYLOAD,
    );
    const { largest } = largestAllocation(() =>
      outcome(() => {
        for (const chunk of chunked(bytes, cuts)) decoder.push(chunk);
      }, oneOf(ProtocolError)),
    );
    // Gathering a split frame may join what arrived so far, never what a length claims.
    assert.ok(largest <= MAX_PAYLOAD + HEADER_BYTES + bytes.length, `allocated ${largest} bytes`);
  }),
);

const payloads = pureTarget('native-payloads', 300, () =>
  fc.property(
    fc.constantFrom(
      FrameType.HELLO,
      FrameType.REQUEST,
      FrameType.HEADERS,
      FrameType.STATUS,
      FrameType.GOAWAY,
      FrameType.WINDOW,
      FrameType.CANCEL,
    ),
    fc.nat({ max: 7 }),
    mutated(
      fc.array(frameArb, { minLength: 1, maxLength: 1 }).map((b) => framesBytes(b).subarray(HEADER_BYTES)),
    ),
    (type, flags, payload) => {
      const buf = Buffer.from(payload);
      const { largest } = largestAllocation(() =>
        outcome(() => readPayload(type, flags, buf, 0, buf.length), clear),
      );
      assert.ok(largest <= buf.length + 64, `allocated ${largest} bytes for a ${buf.length}-byte payload`);
    },
  ),
);

/**
 * A live NativeServer: a raw connection sends HELLO (most of the time) and mutated frames; the
 * server answers or closes, and a well-behaved client's call still succeeds afterwards.
 */
const server: FuzzTarget = {
  name: 'native-server',
  ciRuns: 25,
  async open() {
    const echo = await startServer({
      maxMessageBytes: 1024,
      maxMetadataBytes: 256,
      maxConcurrentStreams: 4,
      handshakeTimeoutMs: 200,
      idleTimeoutMs: 300,
    });
    const client = connectClient(echo.target);
    const hello = framesBytes([
      (w) =>
        w.hello({
          maxMessageBytes: 1 << 20,
          maxConcurrentStreams: 0,
          initialWindowBytes: 1 << 20,
          maxMetadataBytes: 1 << 16,
        }),
    ]);
    const good = method('Unary').input.encode({ text: 'x' });
    const callArb = fc.constant((w: FrameWriter) =>
      w.request(1, 0, Buffer.from('/sb.test.Echo/Unary'), 1000, undefined, good),
    );
    const property = fc.asyncProperty(
      fc.boolean(),
      mutated(fc.array(fc.oneof(frameArb, callArb), { minLength: 1, maxLength: 4 }).map(framesBytes)),
      async (sendHello, bytes) => {
        const peer = await RawPeer.connect(echo.port);
        try {
          if (sendHello) peer.write(hello);
          peer.write(bytes);
          // The server answers, waits for more, or says GOAWAY and closes: give it a moment.
          await Promise.race([peer.closed, new Promise((resolve) => setTimeout(resolve, 20))]);
        } finally {
          peer.destroy();
        }
        const reply = await timedAsync(() => client.client.unary({ text: 'still here' }));
        assert.equal(reply.text, 'still here');
      },
    );
    return {
      check: async (params) => (await fc.check(property, params)) as fc.RunDetails<unknown>,
      async close() {
        await client.close();
        await echo.close();
      },
    };
  },
};

export const nativeTargets: readonly FuzzTarget[] = [frames, payloads, server];
