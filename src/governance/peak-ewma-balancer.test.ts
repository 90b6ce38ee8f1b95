import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Balancer } from './balancer.ts';
import type { Random } from './clock.ts';
import { FakeClock, seededRandom } from './fake-clock.ts';
import { PeakEwmaBalancer } from './peak-ewma-balancer.ts';
import { RoundRobinBalancer } from './round-robin-balancer.ts';

interface Simulation {
  /** The pool at time t. */
  keys: (t: number) => string[];
  /** Mean latency of a call to `key` started at t; each call varies ±20% around it. */
  latencyMs: (key: string, t: number) => number;
  durationMs: number;
  /** One call every intervalMs. Default 5 ms (200 calls/s). */
  intervalMs?: number;
}

/** Runs calls through `balancer` on a fake clock; returns the picks per key. */
function simulate(
  balancer: Balancer,
  clock: FakeClock,
  jitter: Random,
  sim: Simulation,
): Map<string, number> {
  const counts = new Map<string, number>();
  const inFlight: { at: number; latencyMs: number; key: string }[] = [];
  const finishUntil = (t: number) => {
    inFlight.sort((a, b) => a.at - b.at);
    while (inFlight.length > 0 && inFlight[0]!.at <= t) {
      const call = inFlight.shift()!;
      clock.set(call.at);
      balancer.end(call.key, { latencyMs: call.latencyMs, ok: true });
    }
  };
  const stop = clock.now() + sim.durationMs;
  for (let t = clock.now(); t < stop; t += sim.intervalMs ?? 5) {
    finishUntil(t);
    clock.set(t);
    const picked = balancer.pick(sim.keys(t).map((key) => ({ key })));
    assert.ok(picked);
    counts.set(picked.key, (counts.get(picked.key) ?? 0) + 1);
    const latencyMs = sim.latencyMs(picked.key, t) * (0.8 + 0.4 * jitter());
    balancer.begin(picked.key);
    inFlight.push({ at: t + latencyMs, latencyMs, key: picked.key });
  }
  finishUntil(stop);
  clock.set(stop);
  return counts;
}

const share = (counts: Map<string, number>, key: string) => {
  let total = 0;
  for (const count of counts.values()) total += count;
  return (counts.get(key) ?? 0) / total;
};

const five = ['a', 'b', 'c', 'd', 'e'];

describe('PeakEwmaBalancer in a simulated pool', () => {
  it('sends an instance 10× slower than the rest a small share, where round robin sends it 20%', () => {
    const sim: Simulation = {
      keys: () => five,
      latencyMs: (key) => (key === 'e' ? 100 : 10),
      durationMs: 60_000,
    };
    const clock = new FakeClock();
    const p2c = simulate(
      new PeakEwmaBalancer({ clock, random: seededRandom(1) }),
      clock,
      seededRandom(2),
      sim,
    );
    const rrClock = new FakeClock();
    const rr = simulate(new RoundRobinBalancer({ random: seededRandom(1) }), rrClock, seededRandom(2), sim);
    assert.ok(share(p2c, 'e') < 0.05, `p2c sent the slow instance ${share(p2c, 'e')}`);
    assert.ok(Math.abs(share(rr, 'e') - 0.2) < 0.001, `round robin sent it ${share(rr, 'e')}`);
    for (const key of ['a', 'b', 'c', 'd']) assert.ok(share(p2c, key) > 0.2, `${key}: ${share(p2c, key)}`);
  });

  it('gives a new instance traffic at once, and its fair share once it has answered', () => {
    const clock = new FakeClock();
    const balancer = new PeakEwmaBalancer({ clock, random: seededRandom(3) });
    const jitter = seededRandom(4);
    const latencyMs = () => 10;
    simulate(balancer, clock, jitter, { keys: () => five.slice(0, 4), latencyMs, durationMs: 10_000 });
    const firstSecond = simulate(balancer, clock, jitter, { keys: () => five, latencyMs, durationMs: 1000 });
    assert.ok((firstSecond.get('e') ?? 0) > 0, 'the new instance got no call in its first second');
    const after = simulate(balancer, clock, jitter, { keys: () => five, latencyMs, durationMs: 30_000 });
    assert.ok(share(after, 'e') > 0.1 && share(after, 'e') < 0.35, `new instance share ${share(after, 'e')}`);
  });

  it('gives a recovered instance its traffic back as its estimate decays', () => {
    const clock = new FakeClock();
    const balancer = new PeakEwmaBalancer({ clock, random: seededRandom(5) });
    const jitter = seededRandom(6);
    const recoveredAt = 30_000;
    const sim = (durationMs: number): Simulation => ({
      keys: () => five,
      latencyMs: (key, t) => (key === 'e' && t < recoveredAt ? 100 : 10),
      durationMs,
    });
    const slow = simulate(balancer, clock, jitter, sim(recoveredAt));
    assert.ok(share(slow, 'e') < 0.05, `while slow: ${share(slow, 'e')}`);
    simulate(balancer, clock, jitter, sim(20_000));
    assert.ok(balancer.estimate('e')! < 15, `estimate after recovery: ${balancer.estimate('e')}`);
    // Equal instances trade places as their peaks come and go: judge the share over a minute.
    const recovered = simulate(balancer, clock, jitter, sim(60_000));
    assert.ok(share(recovered, 'e') > 0.1, `after recovery: ${share(recovered, 'e')}`);
  });
});

describe('PeakEwmaBalancer estimate', () => {
  const call = (balancer: PeakEwmaBalancer, key: string, latencyMs: number, ok = true) => {
    balancer.begin(key);
    balancer.end(key, { latencyMs, ok });
  };

  it('jumps up to a peak at once and decays with exp(-elapsed/τ)', () => {
    const clock = new FakeClock();
    const balancer = new PeakEwmaBalancer({ clock, decayMs: 10_000 });
    assert.equal(balancer.estimate('a'), undefined);
    for (let i = 0; i < 5; i++) {
      call(balancer, 'a', 10);
      clock.advance(10);
    }
    assert.ok(Math.abs(balancer.estimate('a')! - 10) < 0.1);
    call(balancer, 'a', 200);
    assert.equal(balancer.estimate('a'), 200);
    clock.advance(10_000);
    assert.ok(Math.abs(balancer.estimate('a')! - 200 / Math.E) < 1e-9);
  });

  it('blends a lower sample in by the time since the last one', () => {
    const clock = new FakeClock();
    const balancer = new PeakEwmaBalancer({ clock, decayMs: 10_000 });
    call(balancer, 'a', 100);
    clock.advance(10_000);
    call(balancer, 'a', 10);
    const w = Math.exp(-1);
    assert.ok(Math.abs(balancer.estimate('a')! - (100 * w + 10 * (1 - w))) < 1e-9);
  });

  it('does not let a fast failure lower the estimate, but a slow one raises it', () => {
    const clock = new FakeClock();
    const balancer = new PeakEwmaBalancer({ clock });
    call(balancer, 'a', 50);
    call(balancer, 'a', 0.1, false);
    assert.equal(balancer.estimate('a'), 50);
    call(balancer, 'a', 3000, false);
    assert.equal(balancer.estimate('a'), 3000);
    call(balancer, 'b', 0.1, false);
    assert.equal(balancer.estimate('b'), undefined, 'a fast failure taught nothing about b');
    call(balancer, 'b', 30_000, false);
    assert.equal(balancer.estimate('b'), 30_000, 'a timeout is evidence of slowness');
  });

  it('weighs calls in flight: a busy fast instance loses to an idle slower one', () => {
    const clock = new FakeClock();
    const balancer = new PeakEwmaBalancer({ clock, random: seededRandom(1) });
    call(balancer, 'fast', 10);
    call(balancer, 'slow', 30);
    const pool = [{ key: 'fast' }, { key: 'slow' }];
    assert.equal(balancer.pick(pool)?.key, 'fast');
    for (let i = 0; i < 3; i++) balancer.begin('fast');
    assert.equal(balancer.outstanding('fast'), 3);
    assert.equal(balancer.pick(pool)?.key, 'slow');
  });

  it('risks one call at a time on an unknown instance while known ones are there', () => {
    const clock = new FakeClock();
    const balancer = new PeakEwmaBalancer({ clock, random: seededRandom(1) });
    call(balancer, 'known', 10);
    for (let i = 0; i < 5; i++) balancer.begin('known');
    const pool = [{ key: 'known' }, { key: 'new' }];
    assert.equal(balancer.pick(pool)?.key, 'new', 'idle and unknown: as good as an average peer');
    balancer.begin('new');
    for (let i = 0; i < 20; i++) assert.equal(balancer.pick(pool)?.key, 'known');
    balancer.end('new', { latencyMs: 5, ok: true });
    assert.equal(balancer.estimate('new'), 5);
    assert.equal(balancer.pick(pool)?.key, 'new');
  });

  it('spreads calls over instances nobody has heard from yet, as two choices do', () => {
    for (let seed = 0; seed < 20; seed++) {
      const balancer = new PeakEwmaBalancer({ clock: new FakeClock(), random: seededRandom(seed) });
      const pool = five.map((key) => ({ key }));
      for (let i = 0; i < 50; i++) balancer.begin(balancer.pick(pool)!.key);
      const loads = five.map((key) => balancer.outstanding(key));
      // Random choice would leave some instance with 15 or more in many of these runs.
      assert.ok(Math.min(...loads) >= 8 && Math.max(...loads) <= 12, `seed ${seed}: ${loads}`);
    }
  });

  it('answers the only candidate, undefined for none, and forgets keys that left', () => {
    const clock = new FakeClock();
    const balancer = new PeakEwmaBalancer({ clock });
    assert.equal(balancer.pick([]), undefined);
    const only = { key: 'a' };
    balancer.begin('a');
    assert.equal(balancer.pick([only]), only);
    balancer.begin('b');
    call(balancer, 'b', 10);
    balancer.retain(new Set(['a']));
    assert.equal(balancer.estimate('b'), undefined);
    assert.equal(balancer.outstanding('b'), 0);
    balancer.end('b', { latencyMs: 99, ok: true });
    assert.equal(balancer.estimate('b'), undefined);
    assert.equal(balancer.outstanding('a'), 1);
  });

  it('refuses nonsensical options', () => {
    assert.throws(() => new PeakEwmaBalancer({ decayMs: 0 }), RangeError);
    assert.throws(() => new PeakEwmaBalancer({ decayMs: Number.NaN }), RangeError);
    assert.throws(() => new PeakEwmaBalancer({ defaultRttMs: -1 }), RangeError);
  });
});
