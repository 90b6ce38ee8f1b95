import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom } from './fake-clock.ts';
import { LeastOutstandingBalancer } from './least-outstanding-balancer.ts';

const pool = (n: number) => Array.from({ length: n }, (_, i) => ({ key: `k${i}` }));
const ok = { latencyMs: 1, ok: true };

describe('LeastOutstandingBalancer', () => {
  it('prefers the idle candidate', () => {
    const balancer = new LeastOutstandingBalancer({ random: seededRandom(1) });
    balancer.begin('k0');
    balancer.begin('k0');
    balancer.begin('k2');
    for (let i = 0; i < 20; i++) assert.equal(balancer.pick(pool(3))?.key, 'k1');
    balancer.begin('k1');
    balancer.begin('k1');
    assert.equal(balancer.pick(pool(3))?.key, 'k2');
    balancer.end('k1', ok);
    assert.equal(balancer.outstanding('k1'), 1);
  });

  it('breaks ties at random, fairly', () => {
    const balancer = new LeastOutstandingBalancer({ random: seededRandom(2) });
    balancer.begin('k3');
    const counts = new Map<string, number>();
    for (let i = 0; i < 3000; i++) {
      const key = balancer.pick(pool(4))!.key;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    assert.equal(counts.get('k3'), undefined);
    for (const key of ['k0', 'k1', 'k2']) assert.ok(Math.abs(counts.get(key)! - 1000) < 120, `${key}`);
  });

  it('never counts below zero calls in flight', () => {
    const balancer = new LeastOutstandingBalancer();
    balancer.begin('k0');
    balancer.end('k0', ok);
    balancer.end('k0', ok);
    assert.equal(balancer.outstanding('k0'), 0);
    balancer.begin('k0');
    assert.equal(balancer.outstanding('k0'), 1);
  });

  it('forgets keys that left; a call ending after that changes nothing', () => {
    const balancer = new LeastOutstandingBalancer();
    balancer.begin('k0');
    balancer.begin('k1');
    balancer.retain(new Set(['k1']));
    assert.equal(balancer.outstanding('k0'), 0);
    assert.equal(balancer.outstanding('k1'), 1);
    balancer.end('k0', ok);
    assert.equal(balancer.outstanding('k0'), 0);
    assert.equal(balancer.pick([]), undefined);
  });
});
