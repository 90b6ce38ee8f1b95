import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock, seededRandom } from './fake-clock.ts';

describe('FakeClock', () => {
  it('starts where told and moves only when told', () => {
    const clock = new FakeClock(100);
    assert.equal(clock.now(), 100);
    assert.equal(clock.now(), 100);
    clock.advance(50);
    assert.equal(clock.now(), 150);
    clock.set(10);
    assert.equal(clock.now(), 10);
    assert.equal(new FakeClock().now(), 0);
  });

  it('refuses to advance backwards or by NaN', () => {
    const clock = new FakeClock();
    assert.throws(() => clock.advance(-1), RangeError);
    assert.throws(() => clock.advance(Number.NaN), RangeError);
    assert.throws(() => clock.set(Number.POSITIVE_INFINITY), RangeError);
    assert.equal(clock.now(), 0);
  });
});

describe('seededRandom', () => {
  it('repeats its sequence for a seed and differs between seeds', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const c = seededRandom(43);
    const seqA = Array.from({ length: 20 }, a);
    assert.deepEqual(Array.from({ length: 20 }, b), seqA);
    assert.notDeepEqual(Array.from({ length: 20 }, c), seqA);
  });

  it('stays in [0, 1) and is roughly uniform', () => {
    const random = seededRandom(7);
    const buckets = new Array<number>(10).fill(0);
    const n = 100_000;
    for (let i = 0; i < n; i++) {
      const x = random();
      assert.ok(x >= 0 && x < 1, String(x));
      buckets[Math.floor(x * 10)]!++;
    }
    for (const count of buckets) assert.ok(Math.abs(count - n / 10) < n / 100, `bucket ${count}`);
  });
});
