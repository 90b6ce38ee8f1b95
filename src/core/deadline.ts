import { StatusError } from '../contract/errors.ts';
import { Status } from '../contract/status.ts';

/** A deadline is an absolute time in epoch milliseconds; `Infinity` means none. */
export type Deadline = number;

/** What a call gets when neither the caller nor a parent call sets a deadline. */
export const DEFAULT_DEADLINE_MS = 30_000;

/** The largest timeout any transport carries (gRPC's 8 digits of hours are more than enough). */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export function deadlineFromTimeout(timeoutMs: number, now = Date.now()): Deadline {
  return timeoutMs === Infinity ? Infinity : now + timeoutMs;
}

export function timeRemaining(deadline: Deadline, now = Date.now()): number {
  return deadline === Infinity ? Infinity : Math.max(0, deadline - now);
}

/** The earlier of two deadlines. */
export function earliest(a: Deadline, b: Deadline | undefined): Deadline {
  return b === undefined || a <= b ? a : b;
}

const UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

/**
 * Parses a `grpc-timeout` header ("1 to 8 ASCII digits" + unit H M S m u n) into milliseconds.
 * Throws INVALID_ARGUMENT on anything else, so a bad header never becomes "no deadline".
 */
export function parseGrpcTimeout(value: string): number {
  const unit = value.at(-1) ?? '';
  const digits = value.slice(0, -1);
  const scale = UNIT_MS[unit];
  if (scale === undefined || digits.length < 1 || digits.length > 8 || !/^\d+$/.test(digits)) {
    throw new StatusError(Status.INVALID_ARGUMENT, `invalid grpc-timeout ${JSON.stringify(value)}`);
  }
  return Math.min(Number(digits) * scale, MAX_TIMEOUT_MS);
}

/** Formats milliseconds as a `grpc-timeout` value with at most 8 digits. */
export function formatGrpcTimeout(ms: number): string {
  const t = Math.max(0, Math.ceil(ms));
  if (t < 1e8) return `${t}m`;
  const s = Math.ceil(t / 1000);
  if (s < 1e8) return `${s}S`;
  return `${Math.min(Math.ceil(s / 60), 99_999_999)}M`;
}
