import type { Balancer, CallResult, Candidate } from './balancer.ts';
import { type Clock, defaultRandom, type Random, randomIndex, systemClock } from './clock.ts';

export interface PeakEwmaOptions {
  clock?: Clock;
  random?: Random;
  /** Time constant of the decay: a sample's weight falls to 1/e after this long. Default 10 s (Finagle, Linkerd). */
  decayMs?: number;
  /**
   * Latency assumed for an instance that has not answered yet, when no other candidate has
   * answered either (at start-up). Once some have, a newcomer is assumed to be as fast as
   * their mean instead. Default 5 ms, a call inside one data centre (Linkerd assumes 30 ms).
   */
  defaultRttMs?: number;
}

interface KeyState {
  /** The peak-sensitive moving average of latency, in ms, as of `stamp`. */
  ewma: number;
  stamp: number;
  outstanding: number;
  /** False until the first successful call: the instance is unknown. */
  sampled: boolean;
}

/** Finagle's penalty (Long.MaxValue >> 16): an unknown instance busy with its first call loses to anything known. */
const UNPROBED_PENALTY = 1e12;

/**
 * Power of two choices over peak EWMA (Finagle's PeakEwma, Linkerd's and tower's p2c):
 * choose two distinct candidates at random and take the one with the lower
 * cost = latency estimate × (calls in flight + 1).
 *
 * The estimate follows Finagle: a latency above it replaces it at once (a slowdown is
 * believed immediately), one below it is blended in with weight 1 − exp(−elapsed/τ) (a
 * recovery is believed gradually), and reading it decays it towards zero with the same τ, so
 * an instance nobody has heard from for a while looks cheap again and is retried rather
 * than starved for ever. The (calls in flight + 1) factor makes it load-aware too.
 *
 * A brand-new instance must be neither starved nor flooded. Idle, it costs the mean estimate
 * of the candidates that have answered (defaultRttMs if none has): an average peer, so it
 * gets traffic at once, unlike a fixed guess that would be too slow for a fast pool (starved)
 * or too fast for a slow one (flooded). With its first call in flight it costs
 * UNPROBED_PENALTY + calls, as in Finagle: no second call is risked on an instance of
 * unknown speed while a known one is available.
 *
 * A failed call may raise an estimate (a slow failure, a timeout, is evidence of slowness)
 * but never lowers it: a fast error is no evidence of speed, and an instance that fails fast
 * must not look cheap and draw traffic. For an unknown instance the estimate compared with is
 * the prior. Failing instances as such are the outlier detector's business.
 */
export class PeakEwmaBalancer implements Balancer {
  readonly name = 'p2c_peak_ewma' as const;
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #decayMs: number;
  readonly #defaultRttMs: number;
  readonly #states = new Map<string, KeyState>();

  constructor(options: PeakEwmaOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? defaultRandom;
    this.#decayMs = options.decayMs ?? 10_000;
    this.#defaultRttMs = options.defaultRttMs ?? 5;
    if (!(this.#decayMs > 0 && Number.isFinite(this.#decayMs))) {
      throw new RangeError(`decayMs: expected a positive number, got ${options.decayMs}`);
    }
    if (!(this.#defaultRttMs >= 0 && Number.isFinite(this.#defaultRttMs))) {
      throw new RangeError(`defaultRttMs: expected a number >= 0, got ${options.defaultRttMs}`);
    }
  }

  pick<C extends Candidate>(candidates: readonly C[], now = this.#clock.now()): C | undefined {
    const n = candidates.length;
    if (n <= 1) return candidates[0];
    const i = randomIndex(n, this.#random);
    let j = randomIndex(n - 1, this.#random);
    if (j >= i) j++;
    const a = candidates[i]!;
    const b = candidates[j]!;
    const costA = this.#cost(this.#states.get(a.key), now, candidates);
    const costB = this.#cost(this.#states.get(b.key), now, candidates);
    return costA <= costB ? a : b;
  }

  begin(key: string): void {
    let state = this.#states.get(key);
    if (state === undefined) {
      state = { ewma: 0, stamp: this.#clock.now(), outstanding: 0, sampled: false };
      this.#states.set(key, state);
    }
    state.outstanding++;
  }

  end(key: string, result: CallResult, now = this.#clock.now()): void {
    // A key dropped by retain() meanwhile has no state to update; one back since is new.
    const state = this.#states.get(key);
    if (state === undefined) return;
    if (state.outstanding > 0) state.outstanding--;
    this.#observe(state, result, now);
  }

  retain(keys: ReadonlySet<string>): void {
    for (const key of this.#states.keys()) if (!keys.has(key)) this.#states.delete(key);
  }

  /** The current latency estimate of `key` in ms, or undefined before its first answer. For metrics and tests. */
  estimate(key: string): number | undefined {
    const state = this.#states.get(key);
    return state?.sampled ? this.#peek(state, this.#clock.now()) : undefined;
  }

  /** Calls in flight on `key`. */
  outstanding(key: string): number {
    return this.#states.get(key)?.outstanding ?? 0;
  }

  #cost(state: KeyState | undefined, now: number, candidates: readonly Candidate[]): number {
    if (state === undefined || !state.sampled) {
      const outstanding = state?.outstanding ?? 0;
      return outstanding > 0 ? UNPROBED_PENALTY + outstanding : this.#priorOf(candidates, now);
    }
    // As Finagle's get() (observe(0)): reading applies the decay, so the next sample's blend
    // weight counts from now and a sample just after a read mostly matters if it is a peak.
    state.ewma = this.#peek(state, now);
    state.stamp = Math.max(state.stamp, now);
    return state.ewma * (state.outstanding + 1);
  }

  #observe(state: KeyState, result: CallResult, now: number): void {
    const latency = result.latencyMs;
    if (!Number.isFinite(latency)) return;
    const rtt = Math.max(0, latency);
    if (!state.sampled) {
      if (!result.ok && rtt <= this.#prior(this.#states.values(), now)) return;
      state.ewma = rtt;
      state.sampled = true;
    } else if (rtt > state.ewma) {
      state.ewma = rtt;
    } else if (result.ok) {
      const w = Math.exp(-Math.max(0, now - state.stamp) / this.#decayMs);
      state.ewma = state.ewma * w + rtt * (1 - w);
    } else {
      return;
    }
    state.stamp = Math.max(state.stamp, now);
  }

  #peek(state: KeyState, now: number): number {
    return state.ewma * Math.exp(-Math.max(0, now - state.stamp) / this.#decayMs);
  }

  /** The prior of the candidates' known instances: rare (a newcomer), so no caching. */
  #priorOf(candidates: readonly Candidate[], now: number): number {
    return this.#prior(
      candidates.map((c) => this.#states.get(c.key)),
      now,
    );
  }

  /** What an unknown candidate is assumed to cost: the mean estimate of the known ones. */
  #prior(states: Iterable<KeyState | undefined>, now: number): number {
    let sum = 0;
    let known = 0;
    for (const state of states) {
      if (state?.sampled) {
        sum += this.#peek(state, now);
        known++;
      }
    }
    return known === 0 ? this.#defaultRttMs : sum / known;
  }
}
