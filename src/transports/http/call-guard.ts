import type { Dispatcher } from 'undici';
import { StatusError } from '../../contract/errors.ts';
import { Status } from '../../contract/status.ts';
import { formatGrpcTimeout, MAX_TIMEOUT_MS } from '../../core/deadline.ts';
import type { OutgoingCall } from '../../core/transport.ts';

/**
 * The base of a call on the wire: enforces its deadline and its caller's signal. When the
 * deadline passes, `abortCall` gets DEADLINE_EXCEEDED; when the signal aborts, the caller's
 * reason (CANCELLED unless it is a status). No closure is made per call: the exchange itself
 * is the timer's argument and the signal's listener (`handleEvent`). (A shared, coarser timer
 * wheel was tried: it kept every call reachable from an old-generation set, and the extra
 * garbage collection cost far more than one native timer per call.)
 */
export abstract class GuardedExchange {
  #timer: NodeJS.Timeout | undefined;
  #signal: AbortSignal | undefined;
  protected controller: Dispatcher.DispatchController | undefined;
  /** Why the call was aborted: it replaces the error undici then reports for the request. */
  protected abortReason: StatusError | undefined;

  /** undici started the request; abort it at once if the call was aborted before. */
  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.abortReason) controller.abort(this.abortReason);
  }

  protected arm(call: OutgoingCall): void {
    if (call.deadline !== Number.POSITIVE_INFINITY) {
      const remaining = Math.max(0, Math.min(call.deadline - Date.now(), MAX_TIMEOUT_MS));
      this.#timer = setTimeout(expire, remaining, this);
    }
    const signal = call.signal;
    if (signal) {
      this.#signal = signal;
      if (signal.aborted) queueMicrotask(() => this.handleEvent());
      else signal.addEventListener('abort', this, { once: true });
    }
  }

  /** Stops watching the deadline and the signal: the call has settled. */
  protected disarm(): void {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#signal) {
      this.#signal.removeEventListener('abort', this);
      this.#signal = undefined;
    }
  }

  /** The deadline passed. */
  expire(): void {
    this.#timer = undefined;
    this.disarm();
    this.abortCall(new StatusError(Status.DEADLINE_EXCEEDED, 'deadline exceeded'));
  }

  /** The caller's signal aborted (the EventListener interface). */
  handleEvent(): void {
    const signal = this.#signal;
    if (!signal) return;
    this.disarm();
    this.abortCall(StatusError.from(signal.reason, Status.CANCELLED));
  }

  /** Ends the call at once with `reason` and aborts its request. */
  protected abortCall(reason: StatusError): void {
    if (this.settled) return;
    this.abortReason = reason;
    this.settle(reason);
    this.controller?.abort(reason);
  }

  /** Whether the call has ended, one way or the other. */
  protected abstract get settled(): boolean;

  /** Ends the call with `err`, once. */
  protected abstract settle(err: StatusError): void;
}

function expire(exchange: GuardedExchange): void {
  exchange.expire();
}

/** The deadline as request headers: `grpc-timeout` (gRPC's format) and `x-timeout-ms`. */
export function deadlineHeaders(deadline: number, headers: Record<string, string>): void {
  if (deadline === Number.POSITIVE_INFINITY) return;
  const remaining = Math.max(0, deadline - Date.now());
  headers['grpc-timeout'] = formatGrpcTimeout(remaining);
  headers['x-timeout-ms'] = String(Math.ceil(Math.min(remaining, MAX_TIMEOUT_MS)));
}

/** What a failure of the HTTP client (no answer, or a broken one) means as a status. */
export function statusOfClientError(err: unknown): StatusError {
  if (err instanceof StatusError) return err;
  const e = err as { code?: string; message?: string; name?: string; syscall?: string };
  const message = e?.message ?? String(err);
  switch (e?.code) {
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return new StatusError(Status.DEADLINE_EXCEEDED, message, { cause: err });
    case 'UND_ERR_ABORTED':
      return new StatusError(Status.CANCELLED, message, { cause: err });
    case 'UND_ERR_RESPONSE_EXCEEDED_MAX_SIZE':
      return new StatusError(Status.RESOURCE_EXHAUSTED, message, { cause: err });
    case 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH':
    case 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH':
    case 'UND_ERR_INVALID_ARG':
      return new StatusError(Status.INTERNAL, message, { cause: err });
    default:
      if (e?.name === 'AbortError') return new StatusError(Status.CANCELLED, message, { cause: err });
      if (e?.code?.startsWith('HPE_')) {
        return new StatusError(Status.INTERNAL, `malformed HTTP response: ${message}`, { cause: err });
      }
      // Refused, reset, unreachable, closed: the server is not there (now). A refused connection
      // carried nothing, so any call may go elsewhere; after a reset, only idempotent ones.
      return new StatusError(Status.UNAVAILABLE, `connection failed: ${message}`, {
        cause: err,
        unprocessed: refused(e),
      });
  }
}

function refused(err: { code?: string; cause?: unknown }): boolean {
  if (err.code === 'ECONNREFUSED') return true;
  const cause = err.cause as { code?: string; errors?: { code?: string }[] } | undefined;
  return cause?.code === 'ECONNREFUSED' || (cause?.errors?.some((e) => e.code === 'ECONNREFUSED') ?? false);
}
