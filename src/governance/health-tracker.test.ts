import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HealthTracker } from './health-tracker.ts';

describe('HealthTracker', () => {
  it('starts unknown, becomes healthy after one success and unhealthy after two failures', () => {
    const tracker = new HealthTracker();
    assert.equal(tracker.status('a'), 'unknown');
    assert.equal(tracker.onProbe('a', false), 'unknown');
    assert.equal(tracker.onProbe('a', true), 'healthy');
    assert.equal(tracker.onProbe('a', false), 'healthy', 'one lost probe is not enough');
    assert.equal(tracker.onProbe('a', true), 'healthy');
    assert.equal(tracker.onProbe('a', false), 'healthy');
    assert.equal(tracker.onProbe('a', false), 'unhealthy');
    assert.equal(tracker.status('a'), 'unhealthy');
    assert.equal(tracker.onProbe('a', true), 'healthy');
  });

  it('needs the configured streaks', () => {
    const tracker = new HealthTracker({ healthyThreshold: 3, unhealthyThreshold: 1 });
    assert.equal(tracker.onProbe('a', false), 'unhealthy');
    assert.equal(tracker.onProbe('a', true), 'unhealthy');
    assert.equal(tracker.onProbe('a', true), 'unhealthy');
    assert.equal(tracker.onProbe('a', false), 'unhealthy');
    for (let i = 0; i < 2; i++) tracker.onProbe('a', true);
    assert.equal(tracker.status('a'), 'unhealthy');
    assert.equal(tracker.onProbe('a', true), 'healthy');
    assert.equal(tracker.onProbe('a', false), 'unhealthy');
    assert.equal(tracker.status('b'), 'unknown', 'keys are independent');
  });

  it('forgets keys that left', () => {
    const tracker = new HealthTracker();
    tracker.onProbe('a', true);
    tracker.onProbe('b', true);
    tracker.retain(new Set(['b']));
    assert.equal(tracker.status('a'), 'unknown');
    assert.equal(tracker.status('b'), 'healthy');
  });

  it('refuses thresholds below 1 or fractional', () => {
    assert.throws(() => new HealthTracker({ healthyThreshold: 0 }), RangeError);
    assert.throws(() => new HealthTracker({ unhealthyThreshold: 1.5 }), RangeError);
  });
});
