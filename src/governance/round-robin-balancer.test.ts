import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom } from './fake-clock.ts';
import { RoundRobinBalancer } from './round-robin-balancer.ts';

const pool = (n: number) => Array.from({ length: n }, (_, i) => ({ key: `k${i}` }));

describe('RoundRobinBalancer', () => {
  it('cycles through every candidate in turn', () => {
    const balancer = new RoundRobinBalancer({ random: seededRandom(1) });
    const candidates = pool(3);
    const picks = Array.from({ length: 300 }, () => balancer.pick(candidates)!.key);
    for (let i = 0; i + 3 <= picks.length; i++) {
      assert.equal(new Set(picks.slice(i, i + 3)).size, 3, `picks ${i}..${i + 2}`);
    }
    for (const { key } of candidates) assert.equal(picks.filter((k) => k === key).length, 100);
  });

  it('starts at a random place, so clients started together spread', () => {
    const firsts = new Set<string>();
    for (let seed = 0; seed < 20; seed++) {
      firsts.add(new RoundRobinBalancer({ random: seededRandom(seed) }).pick(pool(4))!.key);
    }
    assert.ok(firsts.size >= 3, `first picks ${[...firsts]}`);
  });

  it('keeps going when the list shrinks or grows, and answers undefined for none', () => {
    const balancer = new RoundRobinBalancer({ random: () => 0 });
    assert.equal(balancer.pick(pool(5))?.key, 'k0');
    assert.equal(balancer.pick(pool(5))?.key, 'k1');
    assert.equal(balancer.pick(pool(5))?.key, 'k2');
    assert.equal(balancer.pick(pool(2))?.key, 'k1');
    assert.equal(balancer.pick(pool(2))?.key, 'k0');
    assert.equal(balancer.pick([]), undefined);
    assert.equal(balancer.pick(pool(3))?.key, 'k1');
    balancer.begin('k1');
    balancer.end('k1', { latencyMs: 1, ok: true });
  });
});
