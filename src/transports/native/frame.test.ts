import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Metadata } from '../../contract/metadata.ts';
import {
  FrameType,
  framePayloadLimit,
  GoawayCode,
  HEADER_BYTES,
  MAGIC,
  RequestFlag,
  StatusFlag,
} from './frame.ts';
import { FrameDecoder } from './frame-decoder.ts';
import { readCancel, readGoaway, readHello, readStatus, readWindow } from './frame-payloads.ts';
import { FrameWriter } from './frame-writer.ts';
import { metadataBlockBytes, readMetadataBlock } from './metadata-block.ts';
import { PayloadReader } from './payload-reader.ts';
import { ProtocolError } from './protocol-error.ts';
import { StreamTable } from './stream-table.ts';

interface Decoded {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

function decodeAll(bytes: Buffer, cuts: number[] = [], max = 1 << 24): Decoded[] {
  const frames: Decoded[] = [];
  const decoder = new FrameDecoder(
    {
      onFrame(type, flags, streamId, buf, start, end) {
        frames.push({ type, flags, streamId, payload: Buffer.from(buf.subarray(start, end)) });
      },
    },
    max,
  );
  let at = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    decoder.push(bytes.subarray(at, cut));
    at = cut;
  }
  decoder.push(bytes.subarray(at));
  assert.equal(decoder.partial, false, 'no bytes left over');
  return frames;
}

function one(build: (w: FrameWriter) => void): Decoded {
  const writer = new FrameWriter();
  build(writer);
  const frames = decodeAll(writer.take());
  assert.equal(frames.length, 1);
  return frames[0]!;
}

const metadataKey = fc.stringMatching(/^[a-z0-9_.-]{1,12}$/).filter((k) => !k.endsWith('-bin'));
const metadataArb = fc.array(
  fc.oneof(
    fc.tuple(metadataKey, fc.string({ maxLength: 20 })),
    fc.tuple(
      metadataKey.map((k) => `${k}-bin`),
      fc.uint8Array({ maxLength: 20 }),
    ),
  ),
  { maxLength: 6 },
);

function toMetadata(pairs: [string, string | Uint8Array][]): Metadata {
  const md = new Metadata();
  for (const [k, v] of pairs) md.add(k, v);
  return md;
}

function plain(md: Metadata | undefined): [string, string][] {
  if (!md) return [];
  return [...md].map(([k, v]) => [k, typeof v === 'string' ? v : `bin:${Buffer.from(v).toString('hex')}`]);
}

describe('native frames', () => {
  it('lays out the header as [u32 length][u8 type][u8 flags][u32 stream id]', () => {
    const writer = new FrameWriter();
    writer.message(0x01020304, Uint8Array.of(7, 8, 9));
    const bytes = writer.take();
    assert.deepEqual([...bytes], [0, 0, 0, 3, FrameType.MESSAGE, 0, 1, 2, 3, 4, 7, 8, 9]);
  });

  it('round-trips HELLO settings, and rejects a HELLO without the magic', () => {
    const settings = {
      maxMessageBytes: 123,
      maxConcurrentStreams: 7,
      initialWindowBytes: 65536,
      maxMetadataBytes: 999,
    };
    const frame = one((w) => w.hello(settings));
    assert.equal(frame.type, FrameType.HELLO);
    assert.equal(frame.streamId, 0);
    assert.deepEqual(frame.payload.subarray(0, 4), MAGIC);
    assert.deepEqual(readHello(frame.payload), { version: 1, settings });
    assert.throws(() => readHello(Buffer.from('GET / HTTP/1.1')), ProtocolError);
  });

  it('round-trips REQUEST with a path, a timeout, metadata and the message inline', () => {
    fc.assert(
      fc.property(metadataArb, fc.uint8Array({ maxLength: 40_000 }), fc.nat(), (pairs, message, timeout) => {
        const md = toMetadata(pairs);
        const frame = one((w) => w.request(9, 3, Buffer.from('/a.B/C'), timeout, md, message));
        assert.equal(frame.type, FrameType.REQUEST);
        assert.equal(frame.flags, RequestFlag.METHOD_PATH | RequestFlag.HAS_MESSAGE);
        const reader = new PayloadReader(frame.payload, 'REQUEST');
        assert.equal(reader.u16(), 3);
        assert.equal(reader.utf8(reader.u16()), '/a.B/C');
        assert.equal(reader.u32(), timeout >>> 0);
        assert.deepEqual(plain(readMetadataBlock(reader)), plain(md));
        assert.deepEqual(new Uint8Array(reader.rest()), message);
      }),
      { numRuns: 60 },
    );
  });

  it('round-trips STATUS: code, message, headers, trailers, details and the response', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 16 }),
        fc.string({ maxLength: 50 }),
        metadataArb,
        metadataArb,
        fc.array(
          fc.record({ typeUrl: fc.string({ maxLength: 30 }), value: fc.uint8Array({ maxLength: 30 }) }),
          {
            maxLength: 3,
          },
        ),
        fc.option(fc.uint8Array({ maxLength: 30_000 }), { nil: undefined }),
        (code, message, headerPairs, trailerPairs, details, response) => {
          const headers = toMetadata(headerPairs);
          const trailers = toMetadata(trailerPairs);
          const frame = one((w) => w.status(5, code, message, headers, trailers, details, response));
          assert.equal(frame.type, FrameType.STATUS);
          const status = readStatus(frame.payload, frame.flags);
          assert.equal(status.code, code);
          assert.equal(status.message, message);
          assert.deepEqual(plain(status.headers), plain(headers));
          assert.equal((frame.flags & StatusFlag.HAS_HEADERS) !== 0, headers.size > 0);
          assert.deepEqual(plain(status.trailers), plain(trailers));
          assert.deepEqual(
            status.details.map((d) => [d.typeUrl, [...d.value]]),
            details.map((d) => [d.typeUrl, [...d.value]]),
          );
          assert.deepEqual(status.response ? new Uint8Array(status.response) : undefined, response);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('round-trips CANCEL, WINDOW, PING, PONG, END, HEADERS and GOAWAY', () => {
    assert.equal(readCancel(one((w) => w.cancel(3, 4)).payload), 4);
    assert.equal(readWindow(one((w) => w.window(3, 70_000)).payload), 70_000);
    const ping = one((w) => w.ping(FrameType.PING, Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8)));
    assert.deepEqual([...ping.payload], [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.equal(one((w) => w.ping(FrameType.PONG, Uint8Array.of(1))).type, FrameType.PONG);
    const end = one((w) => w.end(11));
    assert.deepEqual([end.type, end.streamId, end.payload.length], [FrameType.END, 11, 0]);
    const headers = one((w) => w.headers(2, new Metadata({ a: '1', 'b-bin': Uint8Array.of(9) })));
    assert.deepEqual(plain(readMetadataBlock(new PayloadReader(headers.payload, 'HEADERS'))), [
      ['a', '1'],
      ['b-bin', 'bin:09'],
    ]);
    const goaway = readGoaway(one((w) => w.goaway(41, GoawayCode.FRAME_SIZE_ERROR, 'too big')).payload);
    assert.deepEqual(goaway, { lastStreamId: 41, code: GoawayCode.FRAME_SIZE_ERROR, reason: 'too big' });
  });

  it('decodes the same frames whatever the chunk boundaries', () => {
    const frameArb = fc.record({
      type: fc.integer({ min: 1, max: 11 }),
      flags: fc.integer({ min: 0, max: 255 }),
      streamId: fc.nat(),
      payload: fc.uint8Array({ maxLength: 300 }),
    });
    fc.assert(
      fc.property(
        fc.array(frameArb, { maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        (frames, rawCuts) => {
          const writer = new FrameWriter();
          for (const f of frames) writer.raw(f.type, f.flags, f.streamId, f.payload);
          const bytes = writer.take();
          const cuts = rawCuts.map((c) => (bytes.length === 0 ? 0 : c % (bytes.length + 1)));
          const decoded = decodeAll(bytes, cuts);
          assert.deepEqual(
            decoded.map((f) => ({ ...f, payload: new Uint8Array(f.payload) })),
            frames.map((f) => ({ ...f, payload: new Uint8Array(f.payload) })),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it('reassembles a large frame split in many chunks with one copy', () => {
    const big = Buffer.alloc(3 << 20, 7);
    const writer = new FrameWriter();
    writer.message(1, big);
    writer.end(1);
    const bytes = writer.take();
    const cuts: number[] = [];
    for (let at = 1000; at < bytes.length; at += 65536) cuts.push(at);
    const frames = decodeAll(bytes, cuts);
    assert.equal(frames.length, 2);
    assert.equal(frames[0]!.payload.length, big.length);
    assert.equal(frames[1]!.type, FrameType.END);
  });

  it('refuses a length over the limit before buffering it', () => {
    const decoder = new FrameDecoder({ onFrame: () => assert.fail('no frame expected') }, 1000);
    const header = Buffer.alloc(HEADER_BYTES);
    header.writeUInt32BE(0xffffffff, 0);
    header[4] = FrameType.MESSAGE;
    assert.throws(
      () => decoder.push(header),
      (err: unknown) => err instanceof ProtocolError && err.code === GoawayCode.FRAME_SIZE_ERROR,
    );
  });

  it('reports truncated payload fields as protocol errors, never reads past the end', () => {
    const frame = one((w) =>
      w.status(1, 3, 'hello', undefined, new Metadata({ k: 'v' }), undefined, undefined),
    );
    for (let cut = 0; cut < frame.payload.length; cut++) {
      assert.throws(
        () => readStatus(frame.payload.subarray(0, cut), frame.flags),
        ProtocolError,
        `cut at ${cut}`,
      );
    }
  });

  it('sizes metadata blocks exactly', () => {
    fc.assert(
      fc.property(metadataArb, (pairs) => {
        const md = toMetadata(pairs);
        const frame = one((w) => w.headers(1, md));
        assert.equal(frame.payload.length, metadataBlockBytes(md));
      }),
    );
  });

  it('derives the frame limit from the message and metadata limits', () => {
    assert.equal(framePayloadLimit(100, 10), 100 + 20 + 64 * 1024);
  });
});

describe('StreamTable', () => {
  it('keeps entries by id, including ids that collide in the slot array', () => {
    const table = new StreamTable<string>(16);
    table.set(1, 'a');
    table.set(17, 'b'); // same slot as 1
    table.set(33, 'c');
    assert.equal(table.size, 3);
    assert.deepEqual([table.get(1), table.get(17), table.get(33), table.get(49)], ['a', 'b', 'c', undefined]);
    assert.equal(table.delete(17), true);
    assert.equal(table.delete(17), false);
    assert.equal(table.get(17), undefined);
    assert.deepEqual(table.entries().sort(), [
      [1, 'a'],
      [33, 'c'],
    ]);
    table.clear();
    assert.equal(table.size, 0);
    assert.equal(table.get(1), undefined);
  });

  it('keeps a stream that outlives thousands of later ones (overflow past the largest table)', () => {
    const table = new StreamTable<string>();
    table.set(1, 'long-lived');
    for (let id = 2; id < 20_000; id++) {
      table.set(id, 'short');
      assert.equal(table.get(id), 'short');
      assert.equal(table.delete(id), true);
    }
    table.set(20_481, 'collides at the largest size');
    assert.equal(table.get(1), 'long-lived');
    assert.equal(table.get(20_481), 'collides at the largest size');
    assert.equal(table.size, 2);
    assert.equal(table.delete(1), true);
    assert.deepEqual(table.entries(), [[20_481, 'collides at the largest size']]);
  });

  it('behaves like a Map under random use', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 20_000 }))), (ops) => {
        const table = new StreamTable<number>(16);
        const map = new Map<number, number>();
        for (const [add, id] of ops) {
          if (add && !map.has(id)) {
            table.set(id, id * 2);
            map.set(id, id * 2);
          } else if (!add) {
            assert.equal(table.delete(id), map.delete(id));
          }
          assert.equal(table.size, map.size);
        }
        for (const [id, value] of map) assert.equal(table.get(id), value);
      }),
    );
  });
});
