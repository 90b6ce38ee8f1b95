import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelay } from './backoff.ts';
import { seededRandom } from './fake-clock.ts';

describe('backoffDelay', () => {
  it('stays within [0, min(max, base × 2^attempt)]', () => {
    const random = seededRandom(11);
    for (let attempt = 0; attempt < 12; attempt++) {
      const cap = Math.min(1000, 25 * 2 ** attempt);
      for (let i = 0; i < 500; i++) {
        const delay = backoffDelay(attempt, {}, random);
        assert.ok(delay >= 0 && delay <= cap, `attempt ${attempt}: ${delay} > ${cap}`);
      }
    }
  });

  it('uses the whole range (full jitter) at its ends', () => {
    assert.equal(
      backoffDelay(3, { baseMs: 10, maxMs: 1000 }, () => 0),
      0,
    );
    assert.equal(
      backoffDelay(3, { baseMs: 10, maxMs: 1000 }, () => 0.5),
      40,
    );
    assert.equal(
      backoffDelay(3, { baseMs: 10, maxMs: 50 }, () => 0.5),
      25,
    );
    assert.equal(
      backoffDelay(3, { baseMs: 10, maxMs: 1000 }, () => 1),
      80,
    );
  });

  it('grows its mean with the attempt until the cap', () => {
    const random = seededRandom(12);
    const mean = (attempt: number) => {
      let sum = 0;
      for (let i = 0; i < 4000; i++) sum += backoffDelay(attempt, {}, random);
      return sum / 4000;
    };
    const means = [0, 1, 2, 3, 4, 5].map(mean);
    for (let i = 1; i < means.length; i++) assert.ok(means[i]! > means[i - 1]!, `means ${means}`);
    assert.ok(Math.abs(means[0]! - 12.5) < 1, `attempt 0 mean ${means[0]}`);
    assert.ok(Math.abs(mean(20) - 500) < 30, 'capped at maxMs / 2 on average');
  });

  it('treats odd attempts as the first and huge ones as capped', () => {
    const half = () => 0.5;
    assert.equal(backoffDelay(-3, {}, half), 12.5);
    assert.equal(backoffDelay(Number.NaN, {}, half), 12.5);
    assert.equal(backoffDelay(1e9, {}, half), 500);
    assert.equal(backoffDelay(Infinity, {}, half), 500);
    assert.equal(backoffDelay(Infinity, { baseMs: 0 }, half), 0);
  });

  it('refuses bad options', () => {
    assert.throws(() => backoffDelay(0, { baseMs: -1 }), RangeError);
    assert.throws(() => backoffDelay(0, { maxMs: Infinity }), RangeError);
    assert.throws(() => backoffDelay(0, { baseMs: Number.NaN }), RangeError);
  });
});
