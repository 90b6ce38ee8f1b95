import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultRandom, randomIndex, systemClock } from './clock.ts';

describe('clock', () => {
  it('systemClock never goes backwards', () => {
    let last = systemClock.now();
    for (let i = 0; i < 1000; i++) {
      const now = systemClock.now();
      assert.ok(now >= last, `${now} < ${last}`);
      last = now;
    }
  });

  it('defaultRandom is Math.random', () => {
    assert.equal(defaultRandom, Math.random);
  });

  it('randomIndex stays in [0, n) even for a Random that returns 1', () => {
    assert.equal(
      randomIndex(4, () => 0),
      0,
    );
    assert.equal(
      randomIndex(4, () => 0.999),
      3,
    );
    assert.equal(
      randomIndex(4, () => 1),
      3,
    );
    assert.equal(
      randomIndex(1, () => 0.5),
      0,
    );
  });
});
