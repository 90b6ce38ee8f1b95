import type { Balancer, CallResult, Candidate } from './balancer.ts';
import { defaultRandom, type Random } from './clock.ts';

interface KeyState {
  outstanding: number;
}

/**
 * The candidate with the fewest calls in flight from this client, ties broken at random (so
 * an idle pool is spread over, not always its first instance). Sees load, not latency.
 */
export class LeastOutstandingBalancer implements Balancer {
  readonly name = 'least_outstanding' as const;
  readonly #random: Random;
  readonly #states = new Map<string, KeyState>();

  constructor(options: { random?: Random } = {}) {
    this.#random = options.random ?? defaultRandom;
  }

  pick<C extends Candidate>(candidates: readonly C[]): C | undefined {
    let best: C | undefined;
    let bestOutstanding = Infinity;
    let ties = 0;
    for (const candidate of candidates) {
      const outstanding = this.outstanding(candidate.key);
      if (outstanding < bestOutstanding) {
        best = candidate;
        bestOutstanding = outstanding;
        ties = 1;
      } else if (outstanding === bestOutstanding) {
        // Reservoir sampling: each of the k tied candidates ends up chosen with chance 1/k.
        ties++;
        if (this.#random() * ties < 1) best = candidate;
      }
    }
    return best;
  }

  begin(key: string): void {
    let state = this.#states.get(key);
    if (state === undefined) {
      state = { outstanding: 0 };
      this.#states.set(key, state);
    }
    state.outstanding++;
  }

  end(key: string, _result: CallResult): void {
    // A key dropped by retain() meanwhile (and perhaps back since) must not go below zero.
    const state = this.#states.get(key);
    if (state !== undefined && state.outstanding > 0) state.outstanding--;
  }

  retain(keys: ReadonlySet<string>): void {
    for (const key of this.#states.keys()) if (!keys.has(key)) this.#states.delete(key);
  }

  /** Calls in flight on `key`, for metrics and tests. */
  outstanding(key: string): number {
    return this.#states.get(key)?.outstanding ?? 0;
  }
}
