import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import type { AppendRecord, LogRecord } from './record.ts';
import { checkRecord, decodeRecord, encodeBatch, RECORD_OVERHEAD } from './record-codec.ts';

const MAX = 8 << 20;

function decodeAll(buf: Buffer): LogRecord[] {
  const out: LogRecord[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const r = decodeRecord(buf, pos, buf.length);
    assert.equal(r.kind, 'record', JSON.stringify(r));
    if (r.kind !== 'record') break;
    out.push(r.record);
    pos += r.size;
  }
  return out;
}

/** Plain copies, so records compare by content whatever buffer they view. */
function plain(r: LogRecord | (AppendRecord & { offset: number; timestamp: number })) {
  return {
    offset: r.offset,
    timestamp: r.timestamp,
    key: r.key == null ? null : [...r.key],
    headers: { ...r.headers },
    value: [...r.value],
  };
}

const headerString = fc.string({ unit: 'binary', maxLength: 40 });
const appendRecord = fc.record(
  {
    value: fc.uint8Array({ maxLength: 300 }),
    key: fc.option(fc.uint8Array({ maxLength: 40 }), { nil: null }),
    headers: fc.dictionary(headerString, headerString, { maxKeys: 5 }),
    timestamp: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  },
  { requiredKeys: ['value'] },
);

describe('record codec', () => {
  it('round-trips empty values, empty and absent keys, headers and the largest offsets', () => {
    const records: AppendRecord[] = [
      { value: new Uint8Array(0), timestamp: 0 },
      { value: Buffer.from('v'), key: new Uint8Array(0), timestamp: 1 },
      {
        value: Buffer.from('v'),
        key: Buffer.from('k'),
        headers: { 'trace-id': 'abc', '': '', ü: '☃😀' },
        timestamp: 2,
      },
      {
        value: Buffer.from('x'),
        headers: { ['__proto__']: 'still a header', constructor: 'c' },
        timestamp: 3,
      },
    ];
    const first = Number.MAX_SAFE_INTEGER - records.length + 1;
    const batch = encodeBatch(records, first, 99, MAX);
    assert.deepEqual(
      batch.sizes.reduce((a, b) => a + b, 0),
      batch.buffer.length,
    );
    const decoded = decodeAll(batch.buffer);
    assert.deepEqual(
      decoded.map(plain),
      records.map((r, i) => plain({ ...r, offset: first + i, timestamp: r.timestamp ?? 99 })),
    );
    assert.equal(decoded[0]!.key, null);
    assert.equal(decoded[1]!.key?.length, 0);
    assert.equal(Object.getOwnPropertyDescriptor(decoded[3]!.headers, '__proto__')?.value, 'still a header');
    assert.equal(batch.sizes[0], RECORD_OVERHEAD);
  });

  it('round-trips a 1 MiB value', () => {
    const value = Buffer.alloc(1 << 20, 0xab);
    const batch = encodeBatch([{ value, timestamp: 5 }], 7, 0, MAX);
    const [r] = decodeAll(batch.buffer);
    assert.equal(r!.offset, 7);
    assert.ok(Buffer.from(r!.value).equals(value));
  });

  it('stamps records without a timestamp with the clock reading it is given', () => {
    const batch = encodeBatch(
      [{ value: Buffer.from('a') }, { value: Buffer.from('b'), timestamp: 4 }],
      0,
      1234,
      MAX,
    );
    assert.deepEqual(
      decodeAll(batch.buffer).map((r) => r.timestamp),
      [1234, 4],
    );
    assert.equal(batch.maxTimestamp, 1234);
  });

  it('refuses bad input, naming the record', () => {
    const cases: [unknown, RegExp][] = [
      [{ value: 'text' }, /record 1: value must be a Uint8Array/],
      [{ value: Buffer.alloc(1), key: 'k' }, /key must be a Uint8Array/],
      [{ value: Buffer.alloc(1), timestamp: -1 }, /timestamp must be an integer >= 0/],
      [{ value: Buffer.alloc(1), timestamp: 1.5 }, /timestamp/],
      [{ value: Buffer.alloc(1), headers: { a: 1 } }, /header a must be a string/],
      [{ value: Buffer.alloc(1), headers: { a: '\ud800' } }, /lone surrogate/],
      [{ value: Buffer.alloc(1), headers: 'a=b' }, /headers must be an object/],
      [{ value: Buffer.alloc(1), headers: { ['x'.repeat(70_000)]: '' } }, /header name longer than 65535/],
      [{ value: Buffer.alloc(2000) }, /above maxRecordBytes 1000/],
    ];
    for (const [record, error] of cases) {
      assert.throws(
        () => encodeBatch([{ value: Buffer.alloc(0) }, record as AppendRecord], 0, 0, 1000),
        error,
      );
    }
  });

  it('property: decode(encode(r)) = r for any records', () => {
    fc.assert(
      fc.property(fc.array(appendRecord, { maxLength: 8 }), fc.nat(1e12), (records, first) => {
        const batch = encodeBatch(records, first, 42, MAX);
        const decoded = decodeAll(batch.buffer);
        assert.deepEqual(
          decoded.map(plain),
          records.map((r, i) => plain({ ...r, offset: first + i, timestamp: r.timestamp ?? 42 })),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('property: arbitrary bytes never throw; they give a record, incomplete or a reason', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(200), (bytes, at) => {
        const buf = Buffer.from(bytes);
        const pos = Math.min(at, buf.length);
        const r = decodeRecord(buf, pos, buf.length);
        assert.ok(['record', 'incomplete', 'corrupt'].includes(r.kind));
        if (r.kind === 'corrupt') assert.ok(r.reason.length > 0);
      }),
      { numRuns: 2000 },
    );
  });

  it('property: bytes with a valid length and checksum but any content never throw either', () => {
    // Past the checksum: the structure checks are what stand between garbage and a crash.
    fc.assert(
      fc.property(fc.uint8Array({ minLength: RECORD_OVERHEAD - 8, maxLength: 200 }), (body) => {
        const buf = Buffer.alloc(8 + body.length);
        buf.writeUInt32BE(4 + body.length, 0);
        buf.set(body, 8);
        buf[8] = 1;
        buf[9] = 0;
        buf.writeUInt32BE(crc32(buf.subarray(8)), 4);
        const r = decodeRecord(buf, 0, buf.length);
        assert.ok(r.kind === 'record' || r.kind === 'corrupt', r.kind);
        if (r.kind === 'record') assert.equal(r.size, buf.length);
      }),
      { numRuns: 2000 },
    );
  });

  it('property: any single flipped bit of a record is caught', () => {
    fc.assert(
      fc.property(appendRecord, fc.nat(), fc.integer({ min: 0, max: 7 }), (record, at, bit) => {
        const { buffer } = encodeBatch([record], 3, 0, MAX);
        const i = at % buffer.length;
        buffer[i]! ^= 1 << bit;
        const r = checkRecord(buffer, 0, buffer.length);
        assert.notEqual(r.kind, 'record', `flip at byte ${i} went unnoticed`);
      }),
      { numRuns: 1000 },
    );
  });

  it('says how many bytes it needs when a record is cut short', () => {
    const { buffer } = encodeBatch([{ value: Buffer.alloc(100) }], 0, 0, MAX);
    assert.deepEqual(checkRecord(buffer, 0, 3), { kind: 'incomplete', size: 4 });
    assert.deepEqual(checkRecord(buffer, 0, 50), { kind: 'incomplete', size: buffer.length });
    const zeros = Buffer.alloc(64);
    assert.equal(checkRecord(zeros, 0, zeros.length).kind, 'corrupt');
  });
});
