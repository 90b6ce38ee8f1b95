import { StatusError } from '../../contract/errors.ts';
import { Metadata } from '../../contract/metadata.ts';
import { isStatus, Status } from '../../contract/status.ts';
import type { OutgoingCall } from '../../core/transport.ts';
import type { DeadlineEntry, DeadlineList } from './deadline-list.ts';
import type { StatusPayload } from './frame-payloads.ts';
import type { SocketWriter } from './socket-writer.ts';

/** What a call needs from the connection it runs on. */
export interface CallConnection {
  readonly writer: SocketWriter;
  readonly peerMaxMessageBytes: number;
  readonly peerWindowBytes: number;
  /** This client's window for response streams. */
  readonly windowBytes: number;
  writeRequest(call: ClientCall, message: Uint8Array | undefined): void;
  /** The call gave up: send CANCEL with `code` and forget it. */
  cancelStream(call: ClientCall, code: Status): void;
  /** The call gave up before reaching the wire. */
  dequeue(call: ClientCall): void;
}

/** How many times a call refused by a GOAWAY (so never processed) is sent again on a new connection. */
const MAX_RESTARTS = 3;

/**
 * A call on the client side: its deadline timer, its signal, where it is on the wire. The
 * deadline and the signal are enforced here, since only the transport can cancel the wire.
 */
export abstract class ClientCall implements DeadlineEntry {
  readonly call: OutgoingCall;
  readonly deadline: number;
  previousByDeadline: DeadlineEntry | undefined;
  nextByDeadline: DeadlineEntry | undefined;
  listed = false;
  /**
   * When the call last became ready to send (epoch ms): the REQUEST's timeout is computed from
   * it, which spares a clock read per call. Refreshed when the call waited for a connection.
   */
  readyAt = 0;
  conn: CallConnection | undefined;
  /** The stream id, 0 until the REQUEST is written. */
  id = 0;
  finished = false;
  /** Whether a REQUEST for the call was ever written. */
  sent = false;
  #deadlines: DeadlineList | undefined;
  #restarts = 0;

  constructor(call: OutgoingCall) {
    this.call = call;
    this.deadline = call.deadline;
  }

  /** Arms the deadline and listens to the signal; false when the call failed at once. */
  arm(deadlines: DeadlineList): boolean {
    const { deadline, signal } = this.call;
    if (signal?.aborted) {
      this.finish(StatusError.from(signal.reason, Status.CANCELLED));
      return false;
    }
    this.readyAt = Date.now();
    if (deadline !== Infinity) {
      const remaining = deadline - this.readyAt;
      if (!(remaining > 0)) {
        this.finish(new StatusError(Status.DEADLINE_EXCEEDED, 'deadline exceeded before the call was sent'));
        return false;
      }
      this.#deadlines = deadlines;
      deadlines.add(this);
    }
    signal?.addEventListener('abort', this, { once: true });
    return true;
  }

  expire(): void {
    this.cancel(new StatusError(Status.DEADLINE_EXCEEDED, 'deadline exceeded'), Status.DEADLINE_EXCEEDED);
  }

  /** The signal aborted (EventListener object: no closure per call). */
  handleEvent(): void {
    this.cancel(StatusError.from(this.call.signal?.reason, Status.CANCELLED), Status.CANCELLED);
  }

  /** Gives up locally: CANCEL on the wire when the call is there, then fails with `err`. */
  cancel(err: StatusError, code: Status): void {
    if (this.finished) return;
    const conn = this.conn;
    if (conn) {
      if (this.id !== 0) conn.cancelStream(this, code);
      else conn.dequeue(this);
    }
    this.finish(err);
  }

  /** Forgets the connection, so the call can start again on another (GOAWAY refused it). */
  detach(): void {
    this.conn = undefined;
    this.id = 0;
  }

  /** Whether the call may start on another connection: never sent, or refused by a GOAWAY (never processed). */
  canRestart(): boolean {
    if (this.finished) return false;
    return !this.sent || (this.#restarts++ < MAX_RESTARTS && this.restartable());
  }

  /** Writes the REQUEST (and starts streaming requests) on stream `id`. */
  abstract attach(conn: CallConnection, id: number): void;

  /** A message too large for the server, or undefined: checked before the call gets a stream. */
  abstract oversized(peerMaxMessageBytes: number): StatusError | undefined;

  abstract onHeaders(headers: Metadata): void;
  abstract onMessage(payload: Buffer): void;
  abstract onStatus(status: StatusPayload): void;
  abstract grant(bytes: number): void;

  /** Ends the call with an error (no-op once finished). */
  abstract finish(err: StatusError): void;

  protected abstract restartable(): boolean;

  /** Stops the timer and the signal listener; false when the call had already ended. */
  protected settle(): boolean {
    if (this.finished) return false;
    this.finished = true;
    this.#deadlines?.remove(this);
    this.call.signal?.removeEventListener('abort', this);
    return true;
  }

  /** Runs a caller's callback; what it throws becomes the call's error instead of escaping into the socket. */
  protected notify(
    callback: ((metadata: Metadata) => void) | undefined,
    metadata: Metadata,
  ): StatusError | undefined {
    if (!callback) return undefined;
    try {
      callback(metadata);
      return undefined;
    } catch (err) {
      return StatusError.from(err, Status.INTERNAL);
    }
  }
}

/** The error a non-OK STATUS stands for. */
export function statusError(status: StatusPayload): StatusError {
  const code = isStatus(status.code) && status.code !== Status.OK ? status.code : Status.UNKNOWN;
  return new StatusError(code, status.message, {
    metadata: status.trailers ?? new Metadata(),
    details: [...status.details],
  });
}
