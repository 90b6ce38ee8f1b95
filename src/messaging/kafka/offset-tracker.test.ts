import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeAttempts, encodeAttempts, OffsetTracker } from './offset-tracker.ts';

describe('OffsetTracker', () => {
  it('commits the first unsettled offset, and past the last one once all are settled', () => {
    const t = new OffsetTracker(10);
    assert.equal(t.mark, 10);
    for (const o of [10, 11, 12]) t.add(o);
    t.settle(11);
    assert.equal(t.mark, 10, 'an earlier offset is still being handled');
    t.settle(10);
    assert.equal(t.mark, 12);
    t.settle(12);
    assert.equal(t.mark, 13);
    assert.equal(t.unsettled, 0);
  });

  it('moves over gaps and skipped offsets', () => {
    const t = new OffsetTracker();
    assert.equal(t.mark, undefined, 'nothing known before the first record');
    t.add(5);
    t.add(9); // 6..8 were compacted away
    t.skipTo(12); // 10, 11: transaction markers
    t.settle(5);
    assert.equal(t.mark, 9);
    t.settle(9);
    assert.equal(t.mark, 12);
  });

  it('knows what it took, so a fetch after a rebalance does not take it twice', () => {
    const t = new OffsetTracker(3);
    assert.equal(t.known(2), true, 'below the committed start');
    assert.equal(t.known(3), false);
    t.add(3);
    t.settle(3);
    assert.equal(t.known(3), true, 'settled is still known');
    assert.throws(() => t.add(3), RangeError);
  });

  it('counts attempts from what an earlier owner recorded', () => {
    const t = new OffsetTracker(0);
    t.add(0, 2);
    t.add(1);
    assert.equal(t.attempted(0), 3);
    assert.equal(t.attempted(1), 1);
    assert.deepEqual(t.attemptsInFlight(), [
      [0, 3],
      [1, 1],
    ]);
    t.settle(0);
    assert.deepEqual(t.attemptsInFlight(), [[1, 1]]);
  });

  it('stays small over many settled offsets', () => {
    const t = new OffsetTracker(0);
    for (let o = 0; o < 5000; o++) {
      t.add(o);
      t.settle(o);
    }
    assert.equal(t.mark, 5000);
    assert.equal(t.unsettled, 0);
  });
});

describe('attempts in commit metadata', () => {
  it('round-trips, and is empty without attempts', () => {
    assert.equal(encodeAttempts([]), '');
    const text = encodeAttempts([
      [7, 2],
      [9, 1],
    ]);
    assert.deepEqual(
      [...decodeAttempts(text)],
      [
        [7, 2],
        [9, 1],
      ],
    );
  });

  it("ignores another client's metadata and garbage", () => {
    for (const other of [
      null,
      undefined,
      '',
      'consumer-7',
      '{"attempts":[1]}',
      '{bad json',
      '{"attempts":{"x":1,"3":-1}}',
    ]) {
      assert.equal(decodeAttempts(other).size, 0, String(other));
    }
  });
});
