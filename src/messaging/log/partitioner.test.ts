import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { murmur2, partitionForKey, StickyPartitioner } from './partitioner.ts';

describe('murmur2 partitioner', () => {
  it("matches Kafka's own murmur2 test vectors (UtilsTest.testMurmur2)", () => {
    const vectors: [string, number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [key, hash] of vectors) assert.equal(murmur2(Buffer.from(key)), hash, key);
  });

  it('is stable: pinned partitions for a few keys (a change here moves every key)', () => {
    assert.deepEqual(
      ['user-1', 'user-2', 'order-42', ''].map((k) => partitionForKey(Buffer.from(k), 12)),
      [8, 8, 0, 9],
    );
    assert.deepEqual(
      ['21', 'foobar', 'abc'].map((k) => partitionForKey(Buffer.from(k), 10)),
      // (hash & 0x7fffffff) % 10 of the vectors above
      [(-973932308 & 0x7fffffff) % 10, (-790332482 & 0x7fffffff) % 10, 479470107 % 10],
    );
  });

  it('spreads keys evenly', () => {
    const counts = new Array(8).fill(0);
    for (let i = 0; i < 8000; i++) counts[partitionForKey(Buffer.from(`key-${i}`), 8)]++;
    for (const c of counts) assert.ok(c > 850 && c < 1150, `uneven: ${counts}`);
  });

  it('sticky: keyless records stay on one partition until an append there completes, then move on', () => {
    const sticky = new StickyPartitioner(3);
    assert.equal(sticky.current, 0);
    sticky.completed(1);
    assert.equal(sticky.current, 0, 'another partition completing changes nothing');
    sticky.completed(0);
    assert.equal(sticky.current, 1);
    sticky.completed(1);
    sticky.completed(2);
    assert.equal(sticky.current, 0);
  });
});
