import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from './fake-clock.ts';
import { RateLimiter } from './rate-limiter.ts';

const takeAll = (limiter: RateLimiter) => {
  let n = 0;
  while (limiter.tryTake()) n++;
  return n;
};

describe('RateLimiter', () => {
  it('starts full, refuses when empty, refills at the rate', () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ perSecond: 10, burst: 5, clock });
    assert.equal(takeAll(limiter), 5);
    clock.advance(100);
    assert.equal(takeAll(limiter), 1);
    clock.advance(250);
    assert.equal(takeAll(limiter), 2);
    assert.ok(Math.abs(limiter.available - 0.5) < 1e-9);
  });

  it('never holds more than the burst', () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ perSecond: 100, burst: 3, clock });
    clock.advance(60_000);
    assert.equal(takeAll(limiter), 3);
  });

  it('defaults the burst to one second worth, at least 1', () => {
    assert.equal(new RateLimiter({ perSecond: 50 }).burst, 50);
    assert.equal(new RateLimiter({ perSecond: 0.2 }).burst, 1);
  });

  it('takes several tokens at once, never more than the burst', () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ perSecond: 10, burst: 10, clock });
    assert.equal(limiter.tryTake(11), false);
    assert.equal(limiter.tryTake(7), true);
    assert.equal(limiter.tryTake(4), false, 'a refused take takes nothing');
    assert.equal(limiter.tryTake(3), true);
    assert.equal(limiter.tryTake(0), true);
    assert.throws(() => limiter.tryTake(-1), RangeError);
    assert.throws(() => limiter.tryTake(Number.NaN), RangeError);
  });

  it('allows the burst once at rate 0; a clock going back adds nothing', () => {
    const clock = new FakeClock(1000);
    const limiter = new RateLimiter({ perSecond: 0, burst: 2, clock });
    assert.equal(takeAll(limiter), 2);
    clock.advance(1e9);
    assert.equal(limiter.tryTake(), false);
    const other = new RateLimiter({ perSecond: 10, burst: 1, clock });
    other.tryTake();
    clock.set(0);
    assert.equal(other.tryTake(), false);
    clock.set(1e9 + 1000 + 100);
    assert.equal(other.tryTake(), true);
  });

  it('refuses bad options', () => {
    assert.throws(() => new RateLimiter({ perSecond: -1 }), RangeError);
    assert.throws(() => new RateLimiter({ perSecond: Infinity }), RangeError);
    assert.throws(() => new RateLimiter({ perSecond: 1, burst: -1 }), RangeError);
  });
});
