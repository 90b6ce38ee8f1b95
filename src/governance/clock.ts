/**
 * Time and randomness, injected. Every policy in governance/ reads the time through a Clock
 * and draws random numbers through a Random, so tests drive them with a FakeClock and a
 * seeded generator instead of sleeping and hoping.
 */

export interface Clock {
  /** Milliseconds. Monotonic: latencies and windows are differences of these readings. */
  now(): number;
}

/** performance.now(): monotonic, unlike Date.now(), which jumps when the wall clock is set. */
export const systemClock: Clock = { now: () => performance.now() };

/** A number in [0, 1), like Math.random. */
export type Random = () => number;

export const defaultRandom: Random = Math.random;

/** An integer in [0, n). Clamped, so a Random that returns 1 cannot index past the end. */
export function randomIndex(n: number, random: Random): number {
  return Math.min(n - 1, Math.floor(random() * n));
}
