import type { MethodDescriptor } from '../../contract/descriptors.ts';
import { StatusError } from '../../contract/errors.ts';
import type { Metadata } from '../../contract/metadata.ts';
import { Status } from '../../contract/status.ts';
import type { ServerCallContext } from '../../core/context.ts';
import type { HostedMethod, Send } from '../../core/host.ts';
import { ReceiveWindow, SendWindow } from './flow-control.ts';
import { MAX_STATUS_DETAILS_BYTES, MAX_STATUS_MESSAGE_CHARS } from './frame.ts';
import { MessageQueue, type QueueOwner } from './message-queue.ts';
import { metadataBlockBytes } from './metadata-block.ts';
import type { SocketWriter } from './socket-writer.ts';

/** What a call needs from its connection. */
export interface ServerCallConnection {
  readonly writer: SocketWriter;
  /** The client's limits, from its HELLO. */
  readonly peerMaxMessageBytes: number;
  readonly peerMaxMetadataBytes: number;
  readonly peerWindowBytes: number;
  /** This server's window for request streams. */
  readonly windowBytes: number;
  /** Request bytes now held for the handler (see RequestBuffer)... */
  holdRequestBytes(bytes: number): void;
  /** ...and taken by it, or dropped. */
  releaseRequestBytes(bytes: number): void;
  callDone(call: ServerCall): void;
}

/**
 * One call on a server connection: runs the hosted method, sends its responses with flow
 * control, and writes its STATUS. Once `done`, nothing more is written for it.
 */
export class ServerCall implements QueueOwner {
  readonly id: number;
  readonly ctx: ServerCallContext;
  readonly #conn: ServerCallConnection;
  readonly #method: MethodDescriptor;
  /** The request stream (client and bidi streaming). */
  readonly input: MessageQueue | undefined;
  readonly #receive: ReceiveWindow | undefined;
  readonly #send: SendWindow | undefined;
  #headersSent = false;
  /** Request bytes this call holds in its connection's count: queued messages, or its one request until answered. */
  #heldBytes = 0;
  done = false;

  constructor(conn: ServerCallConnection, id: number, ctx: ServerCallContext, method: MethodDescriptor) {
    this.#conn = conn;
    this.id = id;
    this.ctx = ctx;
    this.#method = method;
    if (method.requestStream) {
      this.input = new MessageQueue(this);
      this.#receive = new ReceiveWindow(conn.windowBytes);
    }
    if (method.responseStream) this.#send = new SendWindow(conn.peerWindowBytes);
  }

  /**
   * Runs the handler. `requestBytes`: the size of a unary or server-streaming request, held
   * until the handler answers.
   */
  start(hosted: HostedMethod, input: unknown, requestBytes: number): void {
    if (requestBytes > 0) this.#hold(requestBytes);
    const send: Send | undefined = this.#send ? (message) => this.#sendMessage(message) : undefined;
    hosted.invoke(this.ctx, input, send).then(
      (response) => this.#succeed(response),
      (err: unknown) => this.#fail(StatusError.from(err)),
    );
  }

  /** A MESSAGE frame arrived; false when the client overran its credit. */
  receive(message: unknown, payloadBytes: number): boolean {
    if (!this.#receive!.receive(payloadBytes)) return false;
    this.#hold(payloadBytes);
    this.input!.push(message, payloadBytes);
    return true;
  }

  /** More credit for response messages. */
  grant(bytes: number): void {
    this.#send?.grant(bytes);
  }

  /**
   * Cancels the handler. `reply`: the client still waits and gets a STATUS with the reason
   * (grace period over, bad request message); otherwise it has gone (CANCEL, disconnect).
   */
  abort(reason: StatusError, reply: boolean): void {
    if (this.done) return;
    if (!reply) this.#finish();
    this.input?.fail(reason, true);
    this.ctx.cancel(reason);
  }

  consumed(payloadBytes: number): void {
    // Once done, what the call held was released in one go (#finish), and no credit is due.
    if (this.done) return;
    this.#heldBytes -= payloadBytes;
    this.#conn.releaseRequestBytes(payloadBytes);
    const grant = this.#receive!.consume(payloadBytes);
    if (grant > 0) this.#conn.writer.window(this.id, grant);
  }

  ending(err: unknown): unknown {
    return err;
  }

  abandoned(): void {
    // The handler stopped reading its requests: later ones are dropped (and credited) by the queue.
  }

  #sendMessage(message: unknown): void | Promise<void> {
    if (this.done) return;
    const bytes = this.#method.output.encode(message as Record<string, unknown>);
    if (bytes.length > this.#conn.peerMaxMessageBytes) {
      throw new StatusError(
        Status.RESOURCE_EXHAUSTED,
        `response message of ${bytes.length} bytes is over the client's limit of ${this.#conn.peerMaxMessageBytes}`,
      );
    }
    const writer = this.#conn.writer;
    if (!this.#headersSent) {
      // The handler answers: a server-streaming call's request is taken.
      if (!this.input) this.#releaseHeld();
      this.#sendHeaders();
    }
    writer.message(this.id, bytes);
    const window = this.#send!;
    window.spend(bytes.length);
    if (!window.open || writer.congested) return this.#waitToSend();
  }

  /** Backpressure: resolves once the stream has credit and the socket has drained, or the call ended. */
  async #waitToSend(): Promise<void> {
    const window = this.#send!;
    const writer = this.#conn.writer;
    while (!this.done) {
      if (!window.open) await window.wait();
      else if (writer.congested) await writer.waitForDrain();
      else return;
    }
  }

  #sendHeaders(): void {
    const headers = this.ctx.peekResponseHeaders();
    if (headers && headers.size > 0) {
      // Too large: the call fails RESOURCE_EXHAUSTED (see #metadataTooLarge) instead.
      if (metadataBlockBytes(headers) > this.#conn.peerMaxMetadataBytes) {
        throw new StatusError(Status.RESOURCE_EXHAUSTED, 'response headers are over the client limit');
      }
      this.#conn.writer.headers(this.id, headers);
    }
    this.#headersSent = true;
  }

  #succeed(response: unknown): void {
    if (this.done) return;
    let bytes: Uint8Array | undefined;
    if (!this.#method.responseStream) {
      try {
        bytes = this.#method.output.encode(response as Record<string, unknown>);
      } catch (err) {
        this.#fail(StatusError.from(err, Status.INTERNAL));
        return;
      }
      if (bytes.length > this.#conn.peerMaxMessageBytes) {
        const limit = this.#conn.peerMaxMessageBytes;
        this.#fail(
          new StatusError(
            Status.RESOURCE_EXHAUSTED,
            `response message of ${bytes.length} bytes is over the client's limit of ${limit}`,
          ),
        );
        return;
      }
    }
    const trailers = this.ctx.peekResponseTrailers();
    const headers = this.#headersSent ? undefined : this.ctx.peekResponseHeaders();
    if (this.#metadataTooLarge(headers, trailers)) return;
    this.#conn.writer.status(this.id, Status.OK, '', headers, trailers, undefined, bytes);
    this.#finish();
  }

  #fail(err: StatusError): void {
    if (this.done) return;
    this.input?.fail(err, true);
    let trailers = this.ctx.peekResponseTrailers();
    if (err.metadata.size > 0) trailers = trailers ? trailers.clone().merge(err.metadata) : err.metadata;
    const headers = this.#headersSent ? undefined : this.ctx.peekResponseHeaders();
    if (this.#metadataTooLarge(headers, trailers)) return;
    let details = err.details;
    let message =
      err.message.length > MAX_STATUS_MESSAGE_CHARS
        ? err.message.slice(0, MAX_STATUS_MESSAGE_CHARS)
        : err.message;
    let size = 0;
    for (const d of details) size += d.typeUrl.length * 3 + d.value.length + 6;
    if (size > MAX_STATUS_DETAILS_BYTES) {
      details = [];
      message += ` (status details of ${size} bytes dropped: over ${MAX_STATUS_DETAILS_BYTES})`;
    }
    // An out-of-range code from a handler is reported as UNKNOWN, as gRPC does.
    const code = Number.isInteger(err.code) && err.code > 0 && err.code <= 16 ? err.code : Status.UNKNOWN;
    this.#conn.writer.status(this.id, code, message, headers, trailers, details, undefined);
    this.#finish();
  }

  /** Headers or trailers the client would refuse: the call fails RESOURCE_EXHAUSTED instead. */
  #metadataTooLarge(headers: Metadata | undefined, trailers: Metadata | undefined): boolean {
    const limit = this.#conn.peerMaxMetadataBytes;
    const tooLarge =
      (headers !== undefined && metadataBlockBytes(headers) > limit) ||
      (trailers !== undefined && metadataBlockBytes(trailers) > limit);
    if (!tooLarge) return false;
    this.#finish();
    const message = `response metadata is over the client's limit of ${limit} bytes`;
    this.#conn.writer.status(
      this.id,
      Status.RESOURCE_EXHAUSTED,
      message,
      undefined,
      undefined,
      undefined,
      undefined,
    );
    return true;
  }

  /** The call is over (its STATUS, if any, is already written): the connection forgets it. */
  #finish(): void {
    this.done = true;
    this.#releaseHeld();
    this.#send?.release();
    this.#conn.callDone(this);
  }

  #hold(bytes: number): void {
    this.#heldBytes += bytes;
    this.#conn.holdRequestBytes(bytes);
  }

  #releaseHeld(): void {
    if (this.#heldBytes === 0) return;
    this.#conn.releaseRequestBytes(this.#heldBytes);
    this.#heldBytes = 0;
  }
}
