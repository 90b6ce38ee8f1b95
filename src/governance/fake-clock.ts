import type { Clock, Random } from './clock.ts';

/** A clock that moves only when told to: tests of time-based policies, here and elsewhere. */
export class FakeClock implements Clock {
  #now: number;

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  /** Moves forward; a negative step would break the monotonic promise of a Clock. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`FakeClock.advance: expected ms >= 0, got ${ms}`);
    this.#now += ms;
  }

  /** Jumps to `ms`, backwards too: for tests of how a policy copes with a misbehaving clock. */
  set(ms: number): void {
    if (!Number.isFinite(ms)) throw new RangeError(`FakeClock.set: expected a finite number, got ${ms}`);
    this.#now = ms;
  }
}

/**
 * A deterministic Random (mulberry32): the same seed gives the same sequence, so a test that
 * samples or simulates fails the same way every run. Not for anything that needs secrecy.
 */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
