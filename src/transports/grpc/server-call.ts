import { constants, type OutgoingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { StatusError } from '../../contract/errors.ts';
import { Status } from '../../contract/status.ts';
import type { ServerCallContext } from '../../core/context.ts';
import type { HostedMethod, Send } from '../../core/host.ts';
import { type Decompressor, inflateFrame } from './compression.ts';
import { drained } from './drained.ts';
import { encodeFrame, FrameDecoder, type FrameSink } from './framing.ts';
import { ACCEPT_ENCODING, addMetadataHeaders, GRPC_CONTENT_TYPE } from './headers.ts';
import { InboundQueue } from './inbound-queue.ts';
import { cancelStream } from './reset-stream.ts';
import { addStatusHeaders } from './status-trailers.ts';

const kCall = Symbol('grpcServerCall');

/** The stream carries its call, so that one shared listener per event serves every call. */
type CallStream = ServerHttp2Stream & { [kCall]?: ServerCall };

const RESPOND_WITH_TRAILERS = { waitForTrailers: true };
const END_STREAM = { endStream: true };
const OK_TRAILERS: OutgoingHttpHeaders = Object.freeze({ 'grpc-status': '0' });

/** Where a call reports that it is over, so the server can cancel what is left at shutdown. */
export interface CallTracker {
  delete(call: ServerCall): unknown;
}

/**
 * One incoming gRPC call on one HTTP/2 stream: reads and decodes the requests, runs the hosted
 * method, writes the responses and the status. Unary requests are collected without any
 * AsyncIterable machinery; streamed requests go through an InboundQueue with backpressure.
 */
export class ServerCall implements FrameSink {
  readonly #stream: CallStream;
  readonly #hosted: HostedMethod;
  readonly #ctx: ServerCallContext;
  readonly #decoder: FrameDecoder;
  readonly #decompressor: Decompressor | undefined;
  readonly #maxBytes: number;
  readonly #tracker: CallTracker;
  #requests: InboundQueue<unknown> | undefined;
  #request: unknown;
  #requestCount = 0;
  #headersSent = false;
  /** The status is sent (or the stream is gone): nothing more is written. */
  #done = false;
  #trailers: OutgoingHttpHeaders = OK_TRAILERS;

  constructor(
    stream: ServerHttp2Stream,
    hosted: HostedMethod,
    ctx: ServerCallContext,
    decompressor: Decompressor | undefined,
    maxBytes: number,
    tracker: CallTracker,
  ) {
    this.#stream = stream;
    this.#hosted = hosted;
    this.#ctx = ctx;
    this.#decompressor = decompressor;
    this.#maxBytes = maxBytes;
    this.#tracker = tracker;
    this.#decoder = new FrameDecoder(maxBytes, this, 'request message');
  }

  get context(): ServerCallContext {
    return this.#ctx;
  }

  start(): void {
    const stream = this.#stream;
    stream[kCall] = this;
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('close', onClose);
    stream.on('error', ignore);
    if (this.#hosted.descriptor.requestStream) {
      const requests = new InboundQueue<unknown>(stream);
      this.#requests = requests;
      this.#invoke(requests);
    }
  }

  /** At shutdown, once the grace period is over: cancel the handler and reset the stream. */
  cancel(reason: StatusError): void {
    if (this.#done) return;
    this.#done = true;
    this.#requests?.fail(reason, true);
    this.#ctx.cancel(reason);
    cancelStream(this.#stream);
  }

  onFrame(body: Buffer, compressed: boolean): void {
    const bytes = inflateFrame(body, compressed, this.#decompressor, this.#maxBytes);
    const message = this.#hosted.descriptor.input.decode(bytes);
    const requests = this.#requests;
    if (requests) {
      requests.push(message);
      return;
    }
    if (++this.#requestCount > 1) {
      throw new StatusError(
        Status.UNIMPLEMENTED,
        `${this.#hosted.descriptor.fullName} takes one request message, the client sent more`,
      );
    }
    this.#request = message;
  }

  handleData(chunk: Buffer): void {
    if (this.#done) return;
    try {
      this.#decoder.push(chunk);
    } catch (err) {
      this.#fail(StatusError.from(err, Status.INTERNAL));
    }
  }

  handleEnd(): void {
    if (this.#done) return;
    if (this.#decoder.midFrame) {
      this.#fail(new StatusError(Status.INTERNAL, 'the request stream ended in the middle of a message'));
      return;
    }
    if (this.#requests) {
      // node:http2 signals the end of the request stream before telling that a RST_STREAM caused
      // it: wait one turn, so that a cancelled stream fails the handler rather than ends it.
      setImmediate(endRequests, this);
      return;
    }
    if (this.#requestCount === 0) {
      this.#fail(
        new StatusError(
          Status.UNIMPLEMENTED,
          `${this.#hosted.descriptor.fullName} takes one request message, got none`,
        ),
      );
      return;
    }
    this.#invoke(this.#request);
  }

  /** The client half-closed: no more requests (unless the stream was reset meanwhile). */
  endRequests(): void {
    if (!this.#done) this.#requests?.end();
  }

  /** The stream is gone: if we had not finished, the client cancelled or disconnected. */
  handleClose(): void {
    this.#tracker.delete(this);
    if (this.#done) return;
    this.#done = true;
    const reason = new StatusError(Status.CANCELLED, 'the client cancelled the call or disconnected');
    this.#requests?.fail(reason, true);
    this.#ctx.cancel(reason);
  }

  sendTrailers(): void {
    this.#stream.sendTrailers(this.#trailers);
    this.#stopReading();
  }

  #invoke(input: unknown): void {
    const send: Send | undefined = this.#hosted.descriptor.responseStream ? (m) => this.#send(m) : undefined;
    let result: Promise<unknown>;
    try {
      result = this.#hosted.invoke(this.#ctx, input, send);
    } catch (err) {
      // An interceptor that throws instead of rejecting must not take the process down.
      this.#fail(StatusError.from(err), false);
      return;
    }
    result.then(
      (response) => this.#succeed(response),
      (err: unknown) => this.#fail(StatusError.from(err), false),
    );
  }

  #send(message: unknown): undefined | Promise<void> {
    if (this.#done || isGone(this.#stream)) return;
    const body = this.#hosted.descriptor.output.encode(message as Record<string, unknown>);
    this.#checkSize(body.length);
    if (!this.#headersSent) this.#respond();
    if (this.#stream.write(encodeFrame(body))) return;
    return drained(this.#stream);
  }

  #succeed(response: unknown): void {
    if (this.#done) return;
    const stream = this.#stream;
    if (isGone(stream)) return;
    let frame: Buffer | undefined;
    if (!this.#hosted.descriptor.responseStream) {
      try {
        // A handler of a method returning google.protobuf.Empty may well return nothing.
        const body = this.#hosted.descriptor.output.encode((response ?? {}) as Record<string, unknown>);
        this.#checkSize(body.length);
        frame = encodeFrame(body);
      } catch (err) {
        this.#fail(StatusError.from(err, Status.INTERNAL));
        return;
      }
    }
    this.#done = true;
    const trailers = this.#ctx.peekResponseTrailers();
    if (trailers && trailers.size > 0) this.#trailers = addStatusHeaders({}, undefined, trailers);
    if (!this.#headersSent) {
      if (frame === undefined) {
        // A response stream without messages: one HEADERS frame carries everything.
        this.#respondTrailersOnly(undefined);
        return;
      }
      this.#respond();
    }
    if (frame) stream.end(frame);
    else stream.end();
  }

  /**
   * Ends the call with an error status (trailers-only if nothing was sent yet). When the failure
   * is ours (bad input), the handler, which may still run, is cancelled too.
   */
  #fail(err: StatusError, cancelHandler = true): void {
    if (this.#done) return;
    this.#done = true;
    this.#requests?.fail(err, true);
    if (cancelHandler) this.#ctx.cancel(err);
    const stream = this.#stream;
    if (isGone(stream)) return;
    if (this.#headersSent) {
      this.#trailers = addStatusHeaders({}, err, this.#ctx.peekResponseTrailers());
      stream.end();
    } else {
      this.#respondTrailersOnly(err);
    }
  }

  #respond(): void {
    this.#headersSent = true;
    const headers: OutgoingHttpHeaders = {
      ':status': 200,
      'content-type': GRPC_CONTENT_TYPE,
      'grpc-accept-encoding': ACCEPT_ENCODING,
    };
    addMetadataHeaders(headers, this.#ctx.peekResponseHeaders());
    this.#stream.respond(headers, RESPOND_WITH_TRAILERS);
    this.#stream.once('wantTrailers', onWantTrailers);
  }

  #respondTrailersOnly(err: StatusError | undefined): void {
    this.#headersSent = true;
    const headers: OutgoingHttpHeaders = { ':status': 200, 'content-type': GRPC_CONTENT_TYPE };
    addMetadataHeaders(headers, this.#ctx.peekResponseHeaders());
    this.#stream.respond(addStatusHeaders(headers, err, this.#ctx.peekResponseTrailers()), END_STREAM);
    this.#stopReading();
  }

  /** Once the status is out, a client still sending is told to stop. */
  #stopReading(): void {
    stopReading(this.#stream);
  }

  #checkSize(length: number): void {
    if (length > this.#maxBytes) {
      throw new StatusError(
        Status.RESOURCE_EXHAUSTED,
        `response message of ${length} bytes is larger than the limit of ${this.#maxBytes} bytes`,
      );
    }
  }
}

/**
 * After a complete response, a client still sending requests is told to stop with RST_STREAM
 * NO_ERROR (RFC 9113 §8.1; grpc-go does the same). It is queued after the status, never before.
 */
export function stopReading(stream: ServerHttp2Stream): void {
  if (!stream.readableEnded && !stream.closed) stream.close(constants.NGHTTP2_NO_ERROR);
}

/** Reset or destroyed: nothing can be written any more. */
export function isGone(stream: ServerHttp2Stream): boolean {
  return stream.destroyed || stream.closed;
}

function endRequests(call: ServerCall): void {
  call.endRequests();
}

function onData(this: CallStream, chunk: Buffer): void {
  this[kCall]?.handleData(chunk);
}

function onEnd(this: CallStream): void {
  this[kCall]?.handleEnd();
}

function onClose(this: CallStream): void {
  this[kCall]?.handleClose();
}

function onWantTrailers(this: CallStream): void {
  this[kCall]?.sendTrailers();
}

function ignore(): void {}
