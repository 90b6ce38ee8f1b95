import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { StatusError } from '../../contract/errors.ts';
import { Status } from '../../contract/status.ts';
import { encodeFrame, FrameDecoder } from './framing.ts';

interface Frame {
  body: Buffer;
  compressed: boolean;
}

function collector(max = 1 << 20): { decoder: FrameDecoder; frames: Frame[] } {
  const frames: Frame[] = [];
  // Copy: a frame may be a view into a chunk the test reuses.
  const decoder = new FrameDecoder(max, {
    onFrame: (body, compressed) => frames.push({ body: Buffer.from(body), compressed }),
  });
  return { decoder, frames };
}

/** Cuts `bytes` at the given offsets. */
function split(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const p of points) {
    chunks.push(bytes.subarray(start, p));
    start = p;
  }
  chunks.push(bytes.subarray(start));
  return chunks;
}

describe('encodeFrame', () => {
  it('writes flag 0, the big-endian length, then the bytes', () => {
    const frame = encodeFrame(new Uint8Array([7, 8, 9]));
    assert.deepEqual([...frame], [0, 0, 0, 0, 3, 7, 8, 9]);
    assert.deepEqual([...encodeFrame(new Uint8Array(0))], [0, 0, 0, 0, 0]);
    assert.equal(encodeFrame(new Uint8Array(300)).readUInt32BE(1), 300);
  });
});

describe('FrameDecoder', () => {
  it('yields every message whatever the chunk boundaries (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }),
        fc.array(fc.nat(4000), { maxLength: 20 }),
        (messages, cuts) => {
          const wire = Buffer.concat(messages.map((m) => encodeFrame(m)));
          const { decoder, frames } = collector();
          for (const chunk of split(wire, cuts)) decoder.push(chunk);
          assert.equal(decoder.midFrame, false);
          assert.deepEqual(
            frames.map((f) => [...f.body]),
            messages.map((m) => [...m]),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it('works byte by byte, and reports a frame cut short', () => {
    const wire = Buffer.concat([encodeFrame(Buffer.from('hello')), encodeFrame(Buffer.from('world'))]);
    const { decoder, frames } = collector();
    for (let i = 0; i < wire.length - 1; i++) {
      decoder.push(wire.subarray(i, i + 1));
    }
    assert.equal(frames.length, 1);
    assert.equal(decoder.midFrame, true, 'the last byte is missing');
    decoder.push(wire.subarray(wire.length - 1));
    assert.equal(decoder.midFrame, false);
    assert.deepEqual(
      frames.map((f) => f.body.toString()),
      ['hello', 'world'],
    );
  });

  it('is mid-frame after a partial header', () => {
    const { decoder } = collector();
    decoder.push(Buffer.from([0, 0]));
    assert.equal(decoder.midFrame, true);
  });

  it('passes the compressed flag on', () => {
    const { decoder, frames } = collector();
    decoder.push(Buffer.from([1, 0, 0, 0, 1, 42]));
    assert.deepEqual(frames, [{ body: Buffer.from([42]), compressed: true }]);
  });

  it('rejects a message over the limit from its header alone: RESOURCE_EXHAUSTED', () => {
    const { decoder, frames } = collector(10);
    assert.throws(
      () => decoder.push(Buffer.from([0, 0, 0, 0, 11])),
      (err: unknown) => err instanceof StatusError && err.code === Status.RESOURCE_EXHAUSTED,
    );
    assert.equal(frames.length, 0);
    const ok = collector(10);
    ok.decoder.push(encodeFrame(new Uint8Array(10)));
    assert.equal(ok.frames.length, 1);
  });

  it('rejects a compressed-flag other than 0 or 1: INTERNAL', () => {
    const { decoder } = collector();
    assert.throws(
      () => decoder.push(Buffer.from([2, 0, 0, 0, 0])),
      (err: unknown) => err instanceof StatusError && err.code === Status.INTERNAL,
    );
  });

  it('hands whole messages on without copying them', () => {
    const wire = encodeFrame(Buffer.from('abc'));
    let seen: Buffer | undefined;
    new FrameDecoder(100, {
      onFrame: (body) => {
        seen = body;
      },
    }).push(wire);
    assert.equal(seen?.buffer, wire.buffer);
  });
});
