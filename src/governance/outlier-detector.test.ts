import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from './fake-clock.ts';
import { OutlierDetector, type OutlierOptions } from './outlier-detector.ts';

const pool = (...keys: string[]) => keys.map((key) => ({ key }));
const keysOf = (candidates: readonly { key: string }[]) => candidates.map((c) => c.key);

function setup(options: OutlierOptions = {}, keys = ['a', 'b', 'c', 'd']) {
  const clock = new FakeClock();
  const detector = new OutlierDetector({ clock, ...options });
  const candidates = pool(...keys);
  detector.retain(new Set(keys));
  const fail = (key: string, times = 1) => {
    for (let i = 0; i < times; i++) detector.onResult(key, false);
  };
  return { clock, detector, candidates, fail };
}

describe('OutlierDetector', () => {
  it('ejects after 5 consecutive failures', () => {
    const { detector, candidates, fail } = setup();
    fail('a', 4);
    assert.equal(detector.isEjected('a'), false);
    fail('a');
    assert.equal(detector.isEjected('a'), true);
    assert.deepEqual(keysOf(detector.available(candidates)), ['b', 'c', 'd']);
    assert.deepEqual(detector.ejected(), ['a']);
  });

  it('resets the count on a success in between', () => {
    const { detector, fail } = setup();
    fail('a', 4);
    detector.onResult('a', true);
    fail('a', 4);
    assert.equal(detector.isEjected('a'), false);
    fail('a');
    assert.equal(detector.isEjected('a'), true);
  });

  it('lets exactly one probe through when the ejection runs out; a success restores', () => {
    const { clock, detector, candidates, fail } = setup();
    fail('a', 5);
    clock.advance(29_999);
    assert.deepEqual(keysOf(detector.available(candidates)), ['b', 'c', 'd']);
    clock.advance(1);
    assert.deepEqual(keysOf(detector.available(candidates)), ['a'], 'the next call is the probe');
    for (let i = 0; i < 3; i++) assert.deepEqual(keysOf(detector.available(candidates)), ['b', 'c', 'd']);
    assert.equal(detector.isEjected('a'), true);
    detector.onResult('a', true);
    assert.equal(detector.isEjected('a'), false);
    assert.deepEqual(keysOf(detector.available(candidates)), ['a', 'b', 'c', 'd']);
  });

  it('doubles the ejection on a failed probe, up to the cap', () => {
    const { clock, detector, candidates, fail } = setup({ baseEjectionMs: 1000, maxEjectionMs: 5000 });
    fail('a', 5);
    for (const expected of [2000, 4000, 5000, 5000]) {
      clock.advance(expected === 2000 ? 1000 : 0);
      assert.deepEqual(keysOf(detector.available(candidates)), ['a']);
      fail('a');
      clock.advance(expected - 1);
      assert.ok(!keysOf(detector.available(candidates)).includes('a'), `still out before ${expected} ms`);
      clock.advance(1);
    }
  });

  it('doubles on a repeat ejection soon after, and forgives after staying healthy', () => {
    const { clock, detector, candidates, fail } = setup({ baseEjectionMs: 1000, maxEjectionMs: 60_000 });
    const ejectionLength = () => {
      fail('a', 5);
      let ms = 0;
      while (!keysOf(detector.available(candidates)).includes('a')) {
        clock.advance(100);
        ms += 100;
      }
      detector.onResult('a', true);
      return ms;
    };
    assert.equal(ejectionLength(), 1000);
    assert.equal(ejectionLength(), 2000);
    assert.equal(ejectionLength(), 4000);
    clock.advance(2000); // healthy for two base periods: n drops from 3 to 1
    assert.equal(ejectionLength(), 2000);
    clock.advance(60_000);
    assert.equal(ejectionLength(), 1000);
  });

  it('releases a probe slot the caller never reported, after probeTimeoutMs', () => {
    const { clock, detector, candidates, fail } = setup({ probeTimeoutMs: 5000 });
    fail('a', 5);
    clock.advance(30_000);
    assert.deepEqual(keysOf(detector.available(candidates)), ['a']);
    clock.advance(4999);
    assert.deepEqual(keysOf(detector.available(candidates)), ['b', 'c', 'd']);
    clock.advance(1);
    assert.deepEqual(keysOf(detector.available(candidates)), ['a']);
  });

  it('ignores results inside an ejection: a late success does not cut it short', () => {
    const { clock, detector, candidates, fail } = setup();
    fail('a', 5);
    detector.onResult('a', true);
    detector.onResult('a', false);
    assert.equal(detector.isEjected('a'), true);
    clock.advance(30_000);
    assert.deepEqual(keysOf(detector.available(candidates)), ['a'], 'the ejection was not extended either');
  });

  it('never ejects more than the allowed share of known instances', () => {
    const { detector, candidates, fail } = setup({ maxEjectedPercent: 50 });
    for (const key of ['a', 'b', 'c']) fail(key, 5);
    assert.deepEqual(detector.ejected(), ['a', 'b']);
    assert.equal(detector.maxEjected, 2);
    assert.deepEqual(keysOf(detector.available(candidates)), ['c', 'd']);
  });

  it('ejects a waiting instance at its next failure once a place is free', () => {
    const { clock, detector, candidates, fail } = setup({ maxEjectedPercent: 25 });
    fail('a', 5);
    fail('b', 5);
    assert.deepEqual(detector.ejected(), ['a']);
    clock.advance(30_000);
    detector.available(candidates);
    detector.onResult('a', true);
    fail('b');
    assert.deepEqual(detector.ejected(), ['b']);
  });

  it('always allows one ejection, even of a single instance or at 0%', () => {
    const single = setup({}, ['only']);
    single.fail('only', 5);
    assert.deepEqual(single.detector.ejected(), ['only']);
    const zero = setup({ maxEjectedPercent: 0 });
    zero.fail('a', 5);
    zero.fail('b', 5);
    assert.deepEqual(zero.detector.ejected(), ['a']);
  });

  it('returns every candidate when all are ejected (panic mode)', () => {
    const { detector, fail } = setup({ maxEjectedPercent: 100 }, ['a', 'b']);
    const candidates = pool('a', 'b');
    fail('a', 5);
    fail('b', 5);
    assert.deepEqual(detector.ejected().sort(), ['a', 'b']);
    const available = detector.available(candidates);
    assert.deepEqual(keysOf(available), ['a', 'b']);
    assert.notEqual(available, candidates, 'a copy, not the caller array');
    assert.deepEqual(detector.available([]), []);
  });

  it('ejects at once on a connect failure, within the share', () => {
    const { clock, detector, candidates } = setup();
    detector.onConnectFailure('a');
    assert.equal(detector.isEjected('a'), true);
    detector.onConnectFailure('b');
    detector.onConnectFailure('c');
    assert.deepEqual(detector.ejected(), ['a', 'b']);
    clock.advance(30_000);
    assert.deepEqual(keysOf(detector.available(candidates)), ['a']);
    detector.onConnectFailure('a');
    clock.advance(30_000);
    assert.ok(!keysOf(detector.available(candidates)).includes('a'), 'a failed probe connection doubles');
  });

  it('forgets keys that left, and counts the share over the keys it knows', () => {
    const { detector, fail } = setup({}, ['a', 'b']);
    fail('a', 5);
    detector.retain(new Set(['b', 'c', 'd', 'e']));
    assert.deepEqual(detector.ejected(), []);
    assert.equal(detector.isEjected('a'), false);
    assert.equal(detector.maxEjected, 2);
    fail('a', 4);
    assert.equal(detector.isEjected('a'), false, 'a came back with a clean slate');
    assert.equal(detector.maxEjected, 2, 'a is known again: 5 keys, 50%');
  });

  it('refuses bad options', () => {
    assert.throws(() => new OutlierDetector({ consecutiveFailures: 0 }), RangeError);
    assert.throws(() => new OutlierDetector({ consecutiveFailures: 1.5 }), RangeError);
    assert.throws(() => new OutlierDetector({ baseEjectionMs: 0 }), RangeError);
    assert.throws(() => new OutlierDetector({ baseEjectionMs: 1000, maxEjectionMs: 999 }), RangeError);
    assert.throws(() => new OutlierDetector({ maxEjectedPercent: 101 }), RangeError);
    assert.throws(() => new OutlierDetector({ probeTimeoutMs: 0 }), RangeError);
  });
});
