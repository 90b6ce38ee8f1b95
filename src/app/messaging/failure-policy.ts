/**
 * What a failed message becomes. A handler error whose status may pass with time (the service
 * is unavailable, overloaded, the deadline of a downstream call passed, a plain exception) is
 * retried by the broker with backoff and dead-lettered after `maxAttempts`; one that a retry
 * cannot fix (the input is invalid, a precondition failed, permission is denied) goes to the
 * dead-letter topic at once. So does a message refused before its handler ran (malformed, of
 * the wrong type, past its deadline). The dead letter's reason is `<CODE>: <message>`.
 */
import { StatusError } from '../../contract/errors.ts';
import { Status } from '../../contract/status.ts';
import type { Delivery } from '../../messaging/broker.ts';

/** Codes a redelivery may cure. Everything else is dead-lettered at once. */
export const RETRYABLE_CODES: ReadonlySet<Status> = new Set<Status>([
  Status.CANCELLED,
  Status.UNKNOWN,
  Status.DEADLINE_EXCEEDED,
  Status.RESOURCE_EXHAUSTED,
  Status.ABORTED,
  Status.INTERNAL,
  Status.UNAVAILABLE,
]);

export function isRetryable(code: Status): boolean {
  return RETRYABLE_CODES.has(code);
}

/** "INVALID_ARGUMENT: name is required": the dead-letter reason of a failure. */
export function reasonOf(error: StatusError): string {
  return `${error.codeName}: ${error.message}`;
}

/** A message refused before its handler ran: straight to the dead-letter topic. */
export function refuse(delivery: Delivery, error: unknown): Promise<void> {
  return delivery.term(reasonOf(StatusError.from(error, Status.INVALID_ARGUMENT)));
}

/**
 * Settles a delivery whose handler failed with `error`: dead-letters it when the status is not
 * retryable; otherwise throws, so the broker redelivers it with backoff (and dead-letters it
 * after its last attempt, the reason naming the code).
 */
export async function settleFailure(delivery: Delivery, error: unknown): Promise<void> {
  const status = StatusError.from(error);
  if (!isRetryable(status.code)) return delivery.term(reasonOf(status));
  throw new Error(reasonOf(status), { cause: status });
}
