import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from './fake-clock.ts';
import { RetryBudget } from './retry-budget.ts';

const retriesAllowed = (budget: RetryBudget) => {
  let n = 0;
  while (budget.tryRetry()) n++;
  return n;
};

describe('RetryBudget', () => {
  it('allows 20% of requests plus the reserve within the window, and refuses beyond', () => {
    const budget = new RetryBudget({ clock: new FakeClock() });
    for (let i = 0; i < 100; i++) budget.onRequest();
    assert.equal(budget.available, 120);
    assert.equal(retriesAllowed(budget), 120);
    assert.equal(budget.tryRetry(), false);
    assert.deepEqual(budget.stats, { requests: 100, retries: 120, refused: 2 });
  });

  it('allows exactly the ratio without a reserve', () => {
    const budget = new RetryBudget({ minRetriesPerSecond: 0, clock: new FakeClock() });
    assert.equal(budget.tryRetry(), false);
    for (let i = 0; i < 100; i++) budget.onRequest();
    assert.equal(retriesAllowed(budget), 20);
    for (let i = 0; i < 4; i++) budget.onRequest();
    assert.equal(budget.tryRetry(), false, '4 requests make 0.8 of a retry');
    budget.onRequest();
    assert.equal(budget.tryRetry(), true, 'the fifth makes it whole');
  });

  it('slides its window with the clock', () => {
    const clock = new FakeClock();
    const budget = new RetryBudget({ minRetriesPerSecond: 0, windowMs: 10_000, clock });
    for (let i = 0; i < 100; i++) budget.onRequest();
    clock.advance(5000);
    for (let i = 0; i < 50; i++) budget.onRequest();
    assert.equal(budget.available, 30);
    clock.advance(5000);
    assert.equal(budget.available, 10, 'the first 100 requests left the window');
    clock.advance(5000);
    assert.equal(budget.available, 0);
  });

  it('lets withdrawals expire too, so retries come back after the window', () => {
    const clock = new FakeClock();
    const budget = new RetryBudget({ ratio: 0.5, minRetriesPerSecond: 0, clock });
    for (let i = 0; i < 10; i++) budget.onRequest();
    assert.equal(retriesAllowed(budget), 5);
    clock.advance(5000);
    for (let i = 0; i < 10; i++) budget.onRequest();
    assert.equal(retriesAllowed(budget), 5);
    clock.advance(5000);
    // The first 10 deposits and 5 withdrawals left together; the later 10 and 5 remain.
    assert.equal(budget.available, 0);
    clock.advance(5000);
    for (let i = 0; i < 2; i++) budget.onRequest();
    assert.equal(budget.available, 1);
  });

  it('lets a low-traffic client retry from the 10/s reserve, which refills', () => {
    const clock = new FakeClock();
    const budget = new RetryBudget({ clock });
    budget.onRequest();
    assert.equal(budget.tryRetry(), true);
    assert.equal(retriesAllowed(budget), 99, '10/s over 10 s, less the one already taken');
    clock.advance(10_000);
    assert.equal(budget.available, 100);
    const quiet = new RetryBudget({ minRetriesPerSecond: 1, windowMs: 5000, clock });
    assert.equal(retriesAllowed(quiet), 5);
  });

  it('copes with a clock that jumps back or far forward', () => {
    const clock = new FakeClock(1_000_000);
    const budget = new RetryBudget({ minRetriesPerSecond: 0, clock });
    for (let i = 0; i < 10; i++) budget.onRequest();
    clock.set(0);
    assert.equal(budget.available, 2);
    clock.set(-7_777);
    for (let i = 0; i < 5; i++) budget.onRequest();
    assert.equal(budget.available, 3);
    clock.set(1e12);
    assert.equal(budget.available, 0);
  });

  it('refuses bad options', () => {
    assert.throws(() => new RetryBudget({ ratio: -0.1 }), RangeError);
    assert.throws(() => new RetryBudget({ ratio: Number.NaN }), RangeError);
    assert.throws(() => new RetryBudget({ minRetriesPerSecond: -1 }), RangeError);
    assert.throws(() => new RetryBudget({ windowMs: 0 }), RangeError);
    assert.throws(() => new RetryBudget({ windowMs: Infinity }), RangeError);
  });
});
