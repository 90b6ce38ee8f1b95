import type { Idempotency } from '../contract/descriptors.ts';
import type { StatusError } from '../contract/errors.ts';
import { Status } from '../contract/status.ts';

/**
 * How a cluster reads a failed call: whether it says something about the instance (for outlier
 * ejection) and whether it may be tried again elsewhere.
 */

/** Failures of the instance rather than of the request: these count toward ejection. */
const INSTANCE_FAILURES = new Set<Status>([
  Status.UNAVAILABLE,
  Status.INTERNAL,
  Status.UNKNOWN,
  Status.DATA_LOSS,
]);

export type Verdict = 'ok' | 'instance-failure' | 'unreachable';

export function verdictOf(err: StatusError | undefined): Verdict {
  if (!err) return 'ok';
  // A refused connection is certain: the instance is not there (now).
  if (err.unprocessed && err.code === Status.UNAVAILABLE) return 'unreachable';
  return INSTANCE_FAILURES.has(err.code) ? 'instance-failure' : 'ok';
}

/**
 * Safe to send again: the server never saw the call (any method), or the method is idempotent
 * and the failure is one a healthy instance would not give (UNAVAILABLE).
 */
export function retryable(err: StatusError, idempotency: Idempotency): boolean {
  if (err.unprocessed) return true;
  return idempotency !== 'unknown' && err.code === Status.UNAVAILABLE;
}
