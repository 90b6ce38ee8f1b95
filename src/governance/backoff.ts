import { defaultRandom, type Random } from './clock.ts';

export interface BackoffOptions {
  /** Cap of the first retry's delay. Default 25 ms. */
  baseMs?: number;
  /** Largest cap, whatever the attempt. Default 1000 ms. */
  maxMs?: number;
}

/**
 * Delay before retry `attempt` (0 for the first retry): exponential backoff with full jitter,
 * random() × min(maxMs, baseMs × 2^attempt). The jitter spreads the retries of many clients
 * that failed together instead of sending them back in synchronised waves; of the variants
 * compared in "Exponential Backoff And Jitter" (AWS Architecture Blog, 2015) full jitter
 * does the least work for the same completion time.
 */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions = {},
  random: Random = defaultRandom,
): number {
  const baseMs = options.baseMs ?? 25;
  const maxMs = options.maxMs ?? 1000;
  if (!(baseMs >= 0 && Number.isFinite(baseMs)))
    throw new RangeError(`baseMs: expected a number >= 0, got ${baseMs}`);
  if (!(maxMs >= 0 && Number.isFinite(maxMs)))
    throw new RangeError(`maxMs: expected a number >= 0, got ${maxMs}`);
  // NaN or negative attempts count as the first; 2 ** 1e9 is Infinity, which min() caps.
  const exponent = attempt > 0 ? Math.floor(attempt) : 0;
  const cap = baseMs === 0 ? 0 : Math.min(maxMs, baseMs * 2 ** exponent);
  return Math.min(cap, Math.max(0, random() * cap));
}
