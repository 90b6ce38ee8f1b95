import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConcurrencyLimiter } from './concurrency-limiter.ts';

describe('ConcurrencyLimiter', () => {
  it('admits up to the limit and again after a release', () => {
    const limiter = new ConcurrencyLimiter(2);
    assert.equal(limiter.limit, 2);
    assert.equal(limiter.tryAcquire(), true);
    assert.equal(limiter.tryAcquire(), true);
    assert.equal(limiter.tryAcquire(), false);
    assert.equal(limiter.inFlight, 2);
    limiter.release();
    assert.equal(limiter.inFlight, 1);
    assert.equal(limiter.tryAcquire(), true);
    assert.equal(limiter.tryAcquire(), false);
  });

  it('refuses everything at limit 0 and nothing at Infinity', () => {
    assert.equal(new ConcurrencyLimiter(0).tryAcquire(), false);
    const unlimited = new ConcurrencyLimiter(Infinity);
    for (let i = 0; i < 1000; i++) assert.equal(unlimited.tryAcquire(), true);
    assert.equal(unlimited.inFlight, 1000);
  });

  it('throws on a release without an acquire, leaving the count alone', () => {
    const limiter = new ConcurrencyLimiter(1);
    assert.throws(() => limiter.release(), /without a matching tryAcquire/);
    assert.equal(limiter.inFlight, 0);
  });

  it('hands out a release that is harmless to call twice', () => {
    const limiter = new ConcurrencyLimiter(2);
    const release = limiter.acquire();
    assert.ok(release);
    limiter.acquire();
    assert.equal(limiter.acquire(), undefined);
    release();
    release();
    assert.equal(limiter.inFlight, 1);
  });

  it('refuses a limit that is not a count', () => {
    for (const bad of [-1, 1.5, Number.NaN]) assert.throws(() => new ConcurrencyLimiter(bad), RangeError);
  });
});
