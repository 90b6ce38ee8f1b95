import { StatusError } from '../../contract/errors.ts';
import { Metadata } from '../../contract/metadata.ts';
import { Status } from '../../contract/status.ts';
import type { OutgoingCall } from '../../core/transport.ts';
import { type CallConnection, ClientCall, statusError } from './client-call.ts';
import { ReceiveWindow, SendWindow } from './flow-control.ts';
import { GoawayCode } from './frame.ts';
import type { StatusPayload } from './frame-payloads.ts';
import { MessageQueue, type QueueOwner } from './message-queue.ts';
import { ProtocolError } from './protocol-error.ts';

/**
 * A call with a request stream, a response stream, or both. Responses queue (bounded by this
 * side's window) until the caller reads them; requests are pumped from the caller's iterable
 * as credit allows. Leaving the read loop early cancels the call.
 */
export class StreamCall extends ClientCall implements AsyncIterable<unknown>, QueueOwner {
  readonly #queue = new MessageQueue(this);
  /** The one request of a server-streaming call, encoded. */
  readonly #request: Uint8Array | undefined;
  readonly #requests: unknown;
  #receive: ReceiveWindow | undefined;
  #send: SendWindow | undefined;
  #headersDelivered = false;
  /** Trailers waiting for the caller to read up to the end. */
  #trailers: Metadata | undefined;
  /** Whether any response message arrived (a call with responses cannot be sent again). */
  #received = false;

  /** Throws (INTERNAL) when the single request of a server-streaming call cannot be encoded. */
  constructor(call: OutgoingCall, requests: unknown) {
    super(call);
    if (call.method.requestStream) {
      this.#requests = requests;
    } else {
      this.#request = call.method.input.encode(requests as Record<string, unknown>);
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<unknown> {
    return this.#queue;
  }

  attach(conn: CallConnection, id: number): void {
    this.conn = conn;
    this.id = id;
    this.sent = true;
    this.#receive = new ReceiveWindow(conn.windowBytes);
    conn.writeRequest(this, this.#request);
    if (this.call.method.requestStream) {
      this.#send = new SendWindow(conn.peerWindowBytes);
      void this.#pump(conn, id, this.#send);
    }
  }

  oversized(limit: number): StatusError | undefined {
    if (!this.#request || this.#request.length <= limit) return undefined;
    return new StatusError(
      Status.RESOURCE_EXHAUSTED,
      `request message of ${this.#request.length} bytes is over the server's limit of ${limit}`,
    );
  }

  onHeaders(headers: Metadata): void {
    this.#deliverHeaders(headers);
  }

  onMessage(payload: Buffer): void {
    if (this.finished) return;
    if (!this.call.method.responseStream && this.#received) {
      throw new ProtocolError(GoawayCode.PROTOCOL_ERROR, `a second response on stream ${this.id}`);
    }
    if (!this.#receive!.receive(payload.length)) {
      throw new ProtocolError(
        GoawayCode.FLOW_CONTROL_ERROR,
        `stream ${this.id} got a MESSAGE without credit`,
      );
    }
    this.#received = true;
    this.#deliverHeaders(undefined);
    let message: unknown;
    try {
      message = this.call.method.output.decode(payload);
    } catch (err) {
      const reason = new StatusError(Status.INTERNAL, `malformed response: ${(err as Error).message}`, {
        cause: err,
      });
      this.cancel(reason, Status.CANCELLED);
      return;
    }
    this.#queue.push(message, payload.length);
  }

  grant(bytes: number): void {
    this.#send?.grant(bytes);
  }

  onStatus(status: StatusPayload): void {
    if (this.finished) return;
    let failure: StatusError | undefined;
    if (status.headers || status.code === Status.OK) failure = this.#deliverHeaders(status.headers);
    if (status.code === Status.OK && status.response) {
      try {
        const message = this.call.method.output.decode(status.response);
        this.#received = true;
        this.#queue.push(message, 0);
      } catch (err) {
        failure ??= new StatusError(Status.INTERNAL, `malformed response: ${(err as Error).message}`, {
          cause: err,
        });
      }
    }
    if (!this.settle()) return;
    this.#send?.release();
    this.#trailers = status.trailers ?? new Metadata();
    if (failure) this.#queue.fail(failure, true);
    else if (status.code === Status.OK) this.#queue.end();
    else this.#queue.fail(statusError(status));
  }

  finish(err: StatusError): void {
    if (!this.settle()) return;
    this.#send?.release();
    this.#trailers = err.metadata;
    this.#queue.fail(err, true);
  }

  /** Trailers reach onTrailers once the caller has read up to the end. */
  ending(err: unknown): unknown {
    const trailers = this.#trailers;
    if (!trailers) return err;
    this.#trailers = undefined;
    return this.notify(this.call.onTrailers, trailers) ?? err;
  }

  consumed(payloadBytes: number): void {
    if (payloadBytes === 0 || this.finished || !this.conn) return;
    const grant = this.#receive!.consume(payloadBytes);
    if (grant > 0) this.conn.writer.window(this.id, grant);
  }

  abandoned(): void {
    this.cancel(
      new StatusError(Status.CANCELLED, 'the caller stopped reading the responses'),
      Status.CANCELLED,
    );
  }

  protected restartable(): boolean {
    return !this.call.method.requestStream && !this.#received;
  }

  /** Response headers reach onHeaders once, before the first message (empty when the server sent none). */
  #deliverHeaders(headers: Metadata | undefined): StatusError | undefined {
    if (this.#headersDelivered) return undefined;
    this.#headersDelivered = true;
    const failure = this.notify(this.call.onHeaders, headers ?? new Metadata());
    if (failure) this.cancel(failure, Status.CANCELLED);
    return failure;
  }

  /** Sends the caller's requests as credit allows, then END. */
  async #pump(conn: CallConnection, id: number, window: SendWindow): Promise<void> {
    const limit = conn.peerMaxMessageBytes;
    const input = this.call.method.input;
    const writer = conn.writer;
    try {
      for await (const request of this.#requests as AsyncIterable<unknown>) {
        if (this.finished || this.conn !== conn) return;
        const bytes = input.encode(request as Record<string, unknown>);
        if (bytes.length > limit) {
          throw new StatusError(
            Status.RESOURCE_EXHAUSTED,
            `request message of ${bytes.length} bytes is over the server's limit of ${limit}`,
          );
        }
        while (!this.finished && (!window.open || writer.congested)) {
          await (window.open ? writer.waitForDrain() : window.wait());
        }
        if (this.finished) return;
        writer.message(id, bytes);
        window.spend(bytes.length);
      }
      if (!this.finished) writer.end(id);
    } catch (err) {
      this.cancel(StatusError.from(err, Status.CANCELLED), Status.CANCELLED);
    }
  }
}
