import { Metadata } from './metadata.ts';
import { Status, statusName } from './status.ts';

/** One google.protobuf.Any of a google.rpc.Status's details. */
export interface StatusDetail {
  typeUrl: string;
  value: Uint8Array;
}

export interface StatusErrorOptions {
  metadata?: Metadata;
  details?: StatusDetail[];
  cause?: unknown;
  /** The request never reached the server's application (see StatusError.unprocessed). */
  unprocessed?: boolean;
}

/** An error with a gRPC status code: what handlers throw and what callers catch, on every transport. */
export class StatusError extends Error {
  readonly code: Status;
  /** Trailing metadata sent with (or received with) the status. */
  readonly metadata: Metadata;
  readonly details: StatusDetail[];
  /**
   * True when the transport knows the server never started to handle the call: the connection
   * was refused, the stream was refused, or the server was already draining. Any method may
   * then be retried elsewhere, idempotent or not (gRPC's "transparent retry").
   */
  readonly unprocessed: boolean;

  constructor(code: Status, message: string, options: StatusErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StatusError';
    this.code = code;
    this.metadata = options.metadata ?? new Metadata();
    this.details = options.details ?? [];
    this.unprocessed = options.unprocessed === true || this.metadata.getString(UNPROCESSED_TRAILER) === '1';
  }

  get codeName(): string {
    return statusName(this.code);
  }

  override toString(): string {
    return `${this.codeName}: ${this.message}`;
  }

  /**
   * The StatusError a thrown value stands for. Plain errors become UNKNOWN with their message,
   * the way grpc-js reports an exception from a handler; an AbortError becomes CANCELLED.
   */
  static from(err: unknown, fallback: Status = Status.UNKNOWN): StatusError {
    if (err instanceof StatusError) return err;
    if (err instanceof Error) {
      if (err.name === 'AbortError')
        return new StatusError(Status.CANCELLED, err.message || 'cancelled', { cause: err });
      if (err.name === 'TimeoutError')
        return new StatusError(Status.DEADLINE_EXCEEDED, err.message || 'deadline exceeded', { cause: err });
      return new StatusError(fallback, err.message, { cause: err });
    }
    return new StatusError(fallback, String(err));
  }
}

/**
 * Trailer a server sets on a status when it refused the call before running it (a limit, a
 * drain): clients read it as `unprocessed`, so the call may be retried on another instance.
 */
export const UNPROCESSED_TRAILER = 'x-switchboard-unprocessed';

/**
 * The status of a call the server refused before running it: marked unprocessed here, and
 * carrying UNPROCESSED_TRAILER so the client on the other side of any transport knows too.
 */
export function refusedStatus(code: Status, message: string): StatusError {
  return new StatusError(code, message, { metadata: new Metadata({ [UNPROCESSED_TRAILER]: '1' }) });
}

/** The same status, marked as never processed by the server: safe to retry on another server. */
export function asUnprocessed(err: StatusError): StatusError {
  if (err.unprocessed) return err;
  return new StatusError(err.code, err.message, {
    metadata: err.metadata,
    details: err.details,
    cause: err.cause,
    unprocessed: true,
  });
}

/**
 * The failure of a call whose handler ran: never "unprocessed", even when the handler rethrows
 * a downstream call's refusal (its caller must not retry a call this server started).
 */
export function asProcessed(err: unknown): unknown {
  if (!(err instanceof StatusError) || !err.metadata.has(UNPROCESSED_TRAILER)) return err;
  const metadata = err.metadata.clone();
  metadata.delete(UNPROCESSED_TRAILER);
  return new StatusError(err.code, err.message, { metadata, details: err.details, cause: err });
}

export function isStatusError(err: unknown): err is StatusError {
  return err instanceof StatusError;
}
