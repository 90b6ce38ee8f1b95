import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  constants,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from 'node:http2';
import { StatusError } from '../../contract/errors.ts';
import { Metadata } from '../../contract/metadata.ts';
import { Status } from '../../contract/status.ts';
import { formatGrpcTimeout } from '../../core/deadline.ts';
import type { OutgoingCall } from '../../core/transport.ts';
import { type Decompressor, decompressorFor, inflateFrame } from './compression.ts';
import { drained } from './drained.ts';
import { encodeFrame, FrameDecoder, type FrameSink } from './framing.ts';
import {
  ACCEPT_ENCODING,
  addMetadataHeaders,
  GRPC_CONTENT_TYPE,
  isGrpcContentType,
  metadataFromRawHeaders,
} from './headers.ts';
import { type FlowSource, InboundQueue } from './inbound-queue.ts';
import { cancelStream } from './reset-stream.ts';
import { statusFromRstCode, statusFromTrailers } from './status-trailers.ts';

export const USER_AGENT = `switchboard-grpc/0.1 node/${process.versions.node}`;

/** What a call needs of the transport: a stream on a live connection, and release when done. */
export interface StreamOpener {
  readonly maxMessageBytes: number;
  /** Throws a StatusError (UNAVAILABLE) when no connection can carry the call. */
  open(headers: OutgoingHttpHeaders): ClientHttp2Stream;
  /** Why the connection a stream went out on failed, if it did (rather than the stream alone). */
  connectionFailure(session: ClientHttp2Session, streamError?: Error): StatusError | undefined;
  /** The call on `session` is over. */
  release(session: ClientHttp2Session): void;
}

const kCall = Symbol('grpcClientCall');
type CallStream = ClientHttp2Stream & { [kCall]?: ClientCall };

/**
 * One outgoing gRPC call: sends the headers and request messages, reads the response messages
 * and the status, enforces the deadline and the caller's signal. A unary call settles a promise;
 * a streaming call feeds an InboundQueue, which is what the caller iterates.
 */
export class ClientCall implements FrameSink, FlowSource {
  readonly #opener: StreamOpener;
  readonly #call: OutgoingCall;
  readonly #decoder: FrameDecoder;
  #stream: CallStream | undefined;
  #session: ClientHttp2Session | undefined;
  #decompressor: Decompressor | undefined;
  #httpStatus = 0;
  #gotHeaders = false;
  #statusHeaders: IncomingHttpHeaders | undefined;
  #statusRaw: string[] = [];
  #streamError: Error | undefined;
  #done = false;
  #timer: NodeJS.Timeout | undefined;
  #onAbort: (() => void) | undefined;
  // Unary: the promise to settle and the one response.
  #resolve: ((value: unknown) => void) | undefined;
  #reject: ((err: StatusError) => void) | undefined;
  #response: unknown;
  #responseCount = 0;
  // Streaming: the responses the caller iterates.
  #queue: InboundQueue<unknown> | undefined;

  constructor(opener: StreamOpener, call: OutgoingCall) {
    this.#opener = opener;
    this.#call = call;
    this.#decoder = new FrameDecoder(opener.maxMessageBytes, this, 'response message');
  }

  startUnary(request: unknown, resolve: (value: unknown) => void, reject: (err: StatusError) => void): void {
    this.#resolve = resolve;
    this.#reject = reject;
    const frame = this.#encode(request);
    if (frame && this.#open()) this.#stream!.end(frame);
  }

  /** Starts a streaming call; the returned queue yields the responses. */
  startStream(requests: unknown): InboundQueue<unknown> {
    const queue = new InboundQueue<unknown>(this, () =>
      this.#fail(new StatusError(Status.CANCELLED, 'the caller stopped reading the responses')),
    );
    this.#queue = queue;
    if (this.#call.method.requestStream) {
      if (this.#open()) void this.#pump(requests);
    } else {
      const frame = this.#encode(requests);
      if (frame && this.#open()) this.#stream!.end(frame);
    }
    return queue;
  }

  pause(): void {
    this.#stream?.pause();
  }

  resume(): void {
    this.#stream?.resume();
  }

  onFrame(body: Buffer, compressed: boolean): void {
    const bytes = inflateFrame(body, compressed, this.#decompressor, this.#opener.maxMessageBytes);
    let message: unknown;
    try {
      message = this.#call.method.output.decode(bytes);
    } catch (err) {
      throw new StatusError(Status.INTERNAL, `cannot parse the response: ${(err as Error).message}`);
    }
    if (this.#queue) {
      this.#queue.push(message);
    } else if (++this.#responseCount > 1) {
      throw new StatusError(
        Status.UNIMPLEMENTED,
        `${this.#call.method.fullName}: the server sent more than one response`,
      );
    } else {
      this.#response = message;
    }
  }

  handleResponse(headers: IncomingHttpHeaders, flags: number, raw: string[]): void {
    if (this.#done) return;
    this.#gotHeaders = true;
    this.#httpStatus = Number(headers[':status']);
    if (flags & constants.NGHTTP2_FLAG_END_STREAM) {
      // Trailers-only: the status comes in these headers and there is no initial metadata.
      this.#statusHeaders = headers;
      this.#statusRaw = raw;
      if (this.#call.onHeaders) this.#notify(this.#call.onHeaders, new Metadata());
      return;
    }
    if (this.#httpStatus !== 200) return; // the status will follow from the HTTP status at close
    try {
      if (!isGrpcContentType(headers['content-type'])) {
        throw new StatusError(
          Status.UNKNOWN,
          `invalid content-type ${JSON.stringify(headers['content-type'] ?? '')}`,
        );
      }
      this.#decompressor = decompressorFor(headers['grpc-encoding'] as string | undefined);
    } catch (err) {
      // A response we cannot read is INTERNAL on this side, whatever a server would answer.
      const reason = StatusError.from(err);
      this.#fail(
        reason.code === Status.UNIMPLEMENTED ? new StatusError(Status.INTERNAL, reason.message) : reason,
      );
      return;
    }
    // Parsed only for a caller who asked for it: most calls never look at initial metadata.
    if (this.#call.onHeaders) this.#notify(this.#call.onHeaders, metadataFromRawHeaders(raw));
  }

  handleData(chunk: Buffer): void {
    // The body of a response that is not gRPC (an HTTP error page) is no concern of ours.
    if (this.#done || this.#httpStatus !== 200) return;
    try {
      this.#decoder.push(chunk);
    } catch (err) {
      this.#fail(StatusError.from(err, Status.INTERNAL));
    }
  }

  handleTrailers(headers: IncomingHttpHeaders, raw: string[]): void {
    this.#statusHeaders = headers;
    this.#statusRaw = raw;
  }

  handleError(err: Error): void {
    this.#streamError ??= err;
  }

  /** The stream is over: settle the call from what arrived. */
  handleClose(): void {
    const stream = this.#stream!;
    const session = this.#session!;
    this.#opener.release(session);
    if (this.#done) return;
    const headers = this.#statusHeaders;
    if (headers) {
      const trailers = metadataFromRawHeaders(this.#statusRaw);
      let err = statusFromTrailers(headers, trailers, this.#httpStatus);
      if (!err && this.#decoder.midFrame) {
        err = new StatusError(Status.INTERNAL, 'the response ended in the middle of a message', {
          metadata: trailers,
        });
      }
      if (!err && !this.#queue && this.#responseCount !== 1) {
        err = new StatusError(
          Status.UNIMPLEMENTED,
          `${this.#call.method.fullName}: the server sent no response`,
          {
            metadata: trailers,
          },
        );
      }
      this.#notify(this.#call.onTrailers, trailers);
      if (this.#done) return;
      // Responses that came before an error status still reach the caller, then the error.
      if (err) this.#fail(err, false);
      else this.#succeed();
      return;
    }
    if (this.#gotHeaders && this.#httpStatus !== 200) {
      this.#fail(statusFromTrailers({}, new Metadata(), this.#httpStatus)!);
      return;
    }
    const streamError = this.#streamError as NodeJS.ErrnoException | undefined;
    const lost = this.#opener.connectionFailure(session, streamError);
    if (lost) this.#fail(lost);
    else if (streamError && streamError.code !== 'ERR_HTTP2_STREAM_ERROR') {
      this.#fail(new StatusError(Status.UNAVAILABLE, `connection failed: ${streamError.message}`));
    } else if (stream.rstCode) this.#fail(statusFromRstCode(stream.rstCode));
    else this.#fail(new StatusError(Status.INTERNAL, 'the server closed the stream without a status'));
  }

  /** Hands metadata to the caller's callback; one that throws fails the call, not the process. */
  #notify(callback: ((metadata: Metadata) => void) | undefined, metadata: Metadata): void {
    if (!callback) return;
    try {
      callback(metadata);
    } catch (err) {
      this.#fail(StatusError.from(err));
    }
  }

  /** Opens the stream, with deadline and signal armed; false when the call already failed. */
  #open(): boolean {
    const call = this.#call;
    if (call.signal?.aborted) {
      this.#fail(StatusError.from(call.signal.reason, Status.CANCELLED));
      return false;
    }
    const headers: OutgoingHttpHeaders = {
      ':method': 'POST',
      ':path': call.method.path,
      'content-type': GRPC_CONTENT_TYPE,
      te: 'trailers',
      'user-agent': USER_AGENT,
      'grpc-accept-encoding': ACCEPT_ENCODING,
    };
    if (call.deadline !== Infinity) {
      const remaining = call.deadline - Date.now();
      if (remaining <= 0) {
        this.#fail(new StatusError(Status.DEADLINE_EXCEEDED, 'deadline exceeded before the call started'));
        return false;
      }
      headers['grpc-timeout'] = formatGrpcTimeout(remaining);
      this.#timer = setTimeout(onDeadline, remaining, this);
    }
    let stream: CallStream;
    try {
      addMetadataHeaders(headers, call.metadata, true);
      stream = this.#opener.open(headers);
    } catch (err) {
      this.#fail(StatusError.from(err, Status.UNAVAILABLE));
      return false;
    }
    this.#stream = stream;
    this.#session = stream.session as ClientHttp2Session;
    stream[kCall] = this;
    stream.on('response', onResponse);
    stream.on('data', onData);
    stream.on('trailers', onTrailers);
    stream.on('error', onError);
    stream.on('close', onClose);
    if (call.signal) {
      const signal = call.signal;
      this.#onAbort = () => this.#fail(StatusError.from(signal.reason, Status.CANCELLED));
      signal.addEventListener('abort', this.#onAbort, { once: true });
    }
    return true;
  }

  /** Writes each request as it comes, waiting whenever the stream's buffer is full. */
  async #pump(requests: unknown): Promise<void> {
    const stream = this.#stream!;
    try {
      if (
        requests === null ||
        typeof requests !== 'object' ||
        !(Symbol.asyncIterator in requests || Symbol.iterator in requests)
      ) {
        throw new StatusError(
          Status.INVALID_ARGUMENT,
          `${this.#call.method.fullName} needs an iterable of requests`,
        );
      }
      for await (const request of requests as AsyncIterable<unknown>) {
        if (this.#done) break;
        const frame = this.#encode(request);
        if (!frame) break;
        if (!stream.write(frame)) await drained(stream);
        if (this.#done) break;
      }
      if (!this.#done) stream.end();
    } catch (err) {
      // A request source that throws cancels the call: the server must not take half a stream as whole.
      this.#fail(StatusError.from(err, Status.CANCELLED));
    }
  }

  /** The framed message, or undefined (and the call failed) when it cannot be sent. */
  #encode(message: unknown): Buffer | undefined {
    try {
      const body = this.#call.method.input.encode(message as Record<string, unknown>);
      const max = this.#opener.maxMessageBytes;
      if (body.length > max) {
        throw new StatusError(
          Status.RESOURCE_EXHAUSTED,
          `request message of ${body.length} bytes is larger than the limit of ${max} bytes`,
        );
      }
      return encodeFrame(body);
    } catch (err) {
      this.#fail(StatusError.from(err, Status.INTERNAL));
      return undefined;
    }
  }

  deadlineExceeded(): void {
    this.#timer = undefined;
    this.#fail(new StatusError(Status.DEADLINE_EXCEEDED, 'deadline exceeded'));
  }

  #succeed(): void {
    this.#done = true;
    this.#disarm();
    if (this.#queue) this.#queue.end();
    else this.#resolve!(this.#response);
  }

  /**
   * Fails the call once; a stream still open is reset with CANCEL. Unless `immediately`, a
   * streaming caller first gets the responses already received.
   */
  #fail(err: StatusError, immediately = true): void {
    if (this.#done) return;
    this.#done = true;
    this.#disarm();
    const stream = this.#stream;
    if (stream) cancelStream(stream);
    if (this.#queue) this.#queue.fail(err, immediately);
    else this.#reject!(err);
  }

  #disarm(): void {
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#onAbort) this.#call.signal?.removeEventListener('abort', this.#onAbort);
  }
}

function onDeadline(call: ClientCall): void {
  call.deadlineExceeded();
}

function onResponse(this: CallStream, headers: IncomingHttpHeaders, flags: number, raw: string[]): void {
  this[kCall]?.handleResponse(headers, flags, raw);
}

function onData(this: CallStream, chunk: Buffer): void {
  this[kCall]?.handleData(chunk);
}

function onTrailers(this: CallStream, headers: IncomingHttpHeaders, _flags: number, raw: string[]): void {
  this[kCall]?.handleTrailers(headers, raw);
}

function onError(this: CallStream, err: Error): void {
  this[kCall]?.handleError(err);
}

function onClose(this: CallStream): void {
  this[kCall]?.handleClose();
}
