import { type Clock, systemClock } from './clock.ts';

export interface RateLimiterOptions {
  /** Tokens added per second. 0 allows the burst once and nothing after. */
  perSecond: number;
  /** Bucket size: the most tokens taken at once after a quiet spell. Default max(1, perSecond), one second's worth. */
  burst?: number;
  clock?: Clock;
}

/**
 * A token bucket: refills at perSecond up to burst, starts full, and refuses rather than
 * queues. Refilling is computed from the clock on each take, so no timer runs.
 */
export class RateLimiter {
  readonly perSecond: number;
  readonly burst: number;
  readonly #clock: Clock;
  #tokens: number;
  #stamp: number;

  constructor(options: RateLimiterOptions) {
    const { perSecond } = options;
    const burst = options.burst ?? Math.max(1, perSecond);
    if (!(perSecond >= 0 && Number.isFinite(perSecond))) {
      throw new RangeError(`perSecond: expected a number >= 0, got ${perSecond}`);
    }
    if (!(burst >= 0 && Number.isFinite(burst)))
      throw new RangeError(`burst: expected a number >= 0, got ${burst}`);
    this.perSecond = perSecond;
    this.burst = burst;
    this.#clock = options.clock ?? systemClock;
    this.#tokens = burst;
    this.#stamp = this.#clock.now();
  }

  /**
   * Takes `tokens` (default 1) if the bucket holds them. More than `burst` can never be
   * taken: false, always. Negative or non-numbers throw; 0 is always granted.
   */
  tryTake(tokens = 1): boolean {
    if (!(tokens >= 0 && Number.isFinite(tokens))) {
      throw new RangeError(`tokens: expected a number >= 0, got ${tokens}`);
    }
    this.#refill();
    if (tokens > this.#tokens) return false;
    this.#tokens -= tokens;
    return true;
  }

  /** Tokens in the bucket now (fractional). */
  get available(): number {
    this.#refill();
    return this.#tokens;
  }

  #refill(): void {
    const now = this.#clock.now();
    // A clock that went backwards adds nothing and takes nothing back.
    if (now <= this.#stamp) return;
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#stamp) * this.perSecond) / 1000);
    this.#stamp = now;
  }
}
