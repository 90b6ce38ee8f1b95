/**
 * Hedging: when a call has not answered after delayMs, send the same call to another
 * instance, up to maxAttempts in all, and take the first answer (gRPC's hedgingPolicy, A6;
 * "The Tail at Scale", Dean and Barroso, 2013). It cuts tail latency for the price of extra
 * load, and only for idempotent methods, which the caller checks: a hedged call may run more
 * than once.
 */
export interface HedgingPolicy {
  /** Wait before each further attempt, ms; about the method's p95 latency is a good start. */
  delayMs: number;
  /** Attempts in all, the first included: 1 means no hedging. */
  maxAttempts: number;
}

/** gRPC caps hedged (and retried) attempts at 5; more only multiplies load. */
export const MAX_HEDGED_ATTEMPTS = 5;

/**
 * Checks a policy from configuration and returns it normalised: maxAttempts defaults to 2 and
 * is capped at 5 as gRPC does; a missing delayMs, a negative or non-finite one, or a
 * maxAttempts that is not an integer >= 1 throws a TypeError naming it.
 */
export function normalizeHedgingPolicy(value: unknown): HedgingPolicy {
  if (typeof value !== 'object' || value === null) throw new TypeError('hedging policy: expected an object');
  const { delayMs, maxAttempts = 2 } = value as Record<string, unknown>;
  if (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0) {
    throw new TypeError(`hedging policy: delayMs must be a number >= 0, got ${JSON.stringify(delayMs)}`);
  }
  if (typeof maxAttempts !== 'number' || !Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw new TypeError(
      `hedging policy: maxAttempts must be an integer >= 1, got ${JSON.stringify(maxAttempts)}`,
    );
  }
  return { delayMs, maxAttempts: Math.min(maxAttempts, MAX_HEDGED_ATTEMPTS) };
}

/** When each attempt starts, ms after the call: [0, delay, 2 × delay, …], maxAttempts of them. */
export function hedgeSchedule(policy: HedgingPolicy): number[] {
  return Array.from({ length: policy.maxAttempts }, (_, i) => i * policy.delayMs);
}
