import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as governance from './index.ts';

describe('governance index', () => {
  it('exports every policy', () => {
    for (const name of [
      'systemClock',
      'FakeClock',
      'seededRandom',
      'createBalancer',
      'RoundRobinBalancer',
      'RandomBalancer',
      'LeastOutstandingBalancer',
      'PeakEwmaBalancer',
      'preferZone',
      'RetryBudget',
      'backoffDelay',
      'OutlierDetector',
      'ConcurrencyLimiter',
      'RateLimiter',
      'HealthTracker',
      'normalizeHedgingPolicy',
    ]) {
      assert.ok(name in governance, name);
    }
    const balancer = governance.createBalancer('round_robin');
    assert.equal(balancer.pick([{ key: 'a' }])?.key, 'a');
  });
});
