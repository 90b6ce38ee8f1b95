import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OffsetIndex } from './offset-index.ts';

describe('OffsetIndex', () => {
  const sample = () => {
    const index = new OffsetIndex();
    index.add(10, 4100);
    index.add(25, 8300);
    index.add(40, 12_400);
    return index;
  };
  const summary = { nextOffset: 1050, logBytes: 16_000, maxTimestamp: 1_700_000_000_000 };

  it('finds the last entry at or before an offset', () => {
    const index = sample();
    assert.deepEqual(index.lookup(0), { relOffset: 0, position: 0 });
    assert.deepEqual(index.lookup(9), { relOffset: 0, position: 0 });
    assert.deepEqual(index.lookup(10), { relOffset: 10, position: 4100 });
    assert.deepEqual(index.lookup(39), { relOffset: 25, position: 8300 });
    assert.deepEqual(index.lookup(1000), { relOffset: 40, position: 12_400 });
    assert.deepEqual(new OffsetIndex().lookup(5), { relOffset: 0, position: 0 });
  });

  it('round-trips through its file format', () => {
    const buf = sample().serialize(1000, summary);
    const parsed = OffsetIndex.parse(buf, 1000, 16_000);
    assert.ok('index' in parsed, JSON.stringify(parsed));
    assert.deepEqual(parsed.summary, summary);
    assert.equal(parsed.index.length, 3);
    assert.deepEqual(parsed.index.lookup(30), { relOffset: 25, position: 8300 });
  });

  it('refuses a file that does not match, is damaged or is out of order', () => {
    const buf = sample().serialize(1000, summary);
    assert.deepEqual(OffsetIndex.parse(buf, 999, 16_000), {
      error: 'base offset does not match the segment',
    });
    assert.match((OffsetIndex.parse(buf, 1000, 15_999) as { error: string }).error, /segment has fewer/);
    assert.deepEqual(OffsetIndex.parse(buf.subarray(0, 30), 1000, 16_000), { error: 'too short' });
    for (let i = 0; i < buf.length; i += 7) {
      const bad = Buffer.from(buf);
      bad[i]! ^= 0x01;
      assert.ok('error' in OffsetIndex.parse(bad, 1000, 16_000), `flip at ${i} accepted`);
    }
    const unordered = new OffsetIndex();
    unordered.add(25, 8300);
    unordered.add(10, 9000);
    assert.match(
      (OffsetIndex.parse(unordered.serialize(1000, summary), 1000, 16_000) as { error: string }).error,
      /out of order/,
    );
  });
});
