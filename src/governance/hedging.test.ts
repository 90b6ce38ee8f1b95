import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hedgeSchedule, MAX_HEDGED_ATTEMPTS, normalizeHedgingPolicy } from './hedging.ts';

describe('hedging policy', () => {
  it('normalises: maxAttempts defaults to 2 and is capped at 5', () => {
    assert.deepEqual(normalizeHedgingPolicy({ delayMs: 50 }), { delayMs: 50, maxAttempts: 2 });
    assert.deepEqual(normalizeHedgingPolicy({ delayMs: 0, maxAttempts: 1 }), { delayMs: 0, maxAttempts: 1 });
    assert.deepEqual(normalizeHedgingPolicy({ delayMs: 10, maxAttempts: 99 }), {
      delayMs: 10,
      maxAttempts: MAX_HEDGED_ATTEMPTS,
    });
  });

  for (const bad of [
    null,
    'fast',
    {},
    { delayMs: -1 },
    { delayMs: Number.NaN },
    { delayMs: '5' },
    { delayMs: 5, maxAttempts: 0 },
    { delayMs: 5, maxAttempts: 2.5 },
    { delayMs: 5, maxAttempts: '3' },
  ]) {
    it(`refuses ${JSON.stringify(bad)}`, () => {
      assert.throws(() => normalizeHedgingPolicy(bad), TypeError);
    });
  }

  it('schedules attempts delayMs apart', () => {
    assert.deepEqual(hedgeSchedule({ delayMs: 30, maxAttempts: 3 }), [0, 30, 60]);
    assert.deepEqual(hedgeSchedule({ delayMs: 30, maxAttempts: 1 }), [0]);
  });
});
