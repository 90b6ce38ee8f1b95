import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom } from './fake-clock.ts';
import { RandomBalancer } from './random-balancer.ts';

describe('RandomBalancer', () => {
  it('spreads picks evenly', () => {
    const balancer = new RandomBalancer({ random: seededRandom(3) });
    const candidates = Array.from({ length: 5 }, (_, i) => ({ key: `k${i}` }));
    const counts = new Map<string, number>();
    for (let i = 0; i < 10_000; i++) {
      const key = balancer.pick(candidates)!.key;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    assert.equal(counts.size, 5);
    for (const [key, count] of counts) assert.ok(Math.abs(count - 2000) < 200, `${key}: ${count}`);
  });

  it('answers undefined for no candidates and the only one for one', () => {
    const balancer = new RandomBalancer({ random: seededRandom(3) });
    assert.equal(balancer.pick([]), undefined);
    const only = { key: 'only' };
    assert.equal(balancer.pick([only]), only);
  });
});
