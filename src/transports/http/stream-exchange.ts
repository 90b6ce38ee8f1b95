import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import { StatusError } from '../../contract/errors.ts';
import type { Metadata } from '../../contract/metadata.ts';
import { isStatus, Status } from '../../contract/status.ts';
import type { OutgoingCall } from '../../core/transport.ts';
import { decodeGrpcMessage } from '../grpc/grpc-message.ts';
import { GuardedExchange, statusOfClientError } from './call-guard.ts';
import { metadataFromResponse } from './headers.ts';
import { LineSplitter } from './line-splitter.ts';
import { mediaType, SSE_CONTENT_TYPE } from './media-types.ts';
import { SseParser } from './sse.ts';
import { isStatusJson, statusErrorFromJson, statusErrorFromResponse } from './status-body.ts';

/** Messages buffered before the socket is paused (backpressure towards the server). */
const HIGH_WATER = 32;

type Mode = 'ndjson' | 'sse' | 'json' | 'error';

/**
 * One streaming call on the wire, as an undici dispatch handler and the AsyncIterator of its
 * responses. The answer is read as NDJSON or SSE (by its content type) for response streams,
 * or as one JSON message for client streaming. An in-band error line or event, or a non-zero
 * grpc-status trailer, fails the iteration; leaving the loop early aborts the request.
 */
export class StreamExchange
  extends GuardedExchange
  implements Dispatcher.DispatchHandler, AsyncIterator<unknown>
{
  readonly #call: OutgoingCall;
  readonly #decode: (json: unknown) => unknown;
  readonly #maxBytes: number;
  readonly #queue: unknown[] = [];
  #waiter: { resolve: (r: IteratorResult<unknown>) => void; reject: (e: unknown) => void } | undefined;
  #error: StatusError | undefined;
  /** A status the server reported in the stream itself; the call fails with it at the end. */
  #inband: StatusError | undefined;
  #done = false;
  #mode: Mode = 'ndjson';
  #status = 0;
  #headers: IncomingHttpHeaders = {};
  #trailers: Metadata | undefined;
  #splitter: LineSplitter;
  #sse: SseParser | undefined;
  #body: Buffer[] = [];
  #bodySize = 0;

  constructor(call: OutgoingCall, decode: (json: unknown) => unknown, maxBytes: number) {
    super();
    this.#call = call;
    this.#decode = decode;
    this.#maxBytes = maxBytes;
    this.#splitter = new LineSplitter(maxBytes);
    this.arm(call);
  }

  // ---- the undici side ----

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    status: number,
    headers: IncomingHttpHeaders,
  ): void {
    this.#status = status;
    this.#headers = headers;
    const meta = metadataFromResponse(headers);
    this.#trailers = meta.trailers;
    this.#call.onHeaders?.(meta.headers);
    const type = mediaType(headerText(headers['content-type']));
    if (status < 200 || status >= 300) this.#mode = 'error';
    else if (type === SSE_CONTENT_TYPE) {
      this.#mode = 'sse';
      this.#sse = new SseParser(this.#maxBytes);
    } else if (!this.#call.method.responseStream) this.#mode = 'json';
    else this.#mode = 'ndjson';
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#done) return;
    try {
      if (this.#mode === 'json' || this.#mode === 'error') {
        this.#bodySize += chunk.length;
        if (this.#bodySize > this.#maxBytes) {
          throw new StatusError(Status.RESOURCE_EXHAUSTED, `response larger than ${this.#maxBytes} bytes`);
        }
        this.#body.push(chunk);
        return;
      }
      for (const line of this.#splitter.push(chunk)) this.#line(line);
    } catch (err) {
      this.abortCall(StatusError.from(err, Status.INTERNAL));
      return;
    }
    if (this.#queue.length >= HIGH_WATER) controller.pause();
  }

  onResponseEnd(_controller: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    if (this.#done) return;
    const tail = metadataFromResponse({}, trailers).trailers;
    if (this.#trailers) for (const [k, v] of tail) this.#trailers.add(k, v);
    const allTrailers = this.#trailers ?? tail;
    try {
      if (this.#mode === 'error') {
        const body = Buffer.concat(this.#body);
        throw statusErrorFromResponse(this.#status, this.#headers, body, allTrailers);
      }
      if (this.#mode === 'json') {
        const text = Buffer.concat(this.#body).toString('utf8');
        this.#push(this.#decode(text.trim() === '' ? {} : JSON.parse(text)));
      } else {
        const last = this.#splitter.end();
        if (last !== undefined) this.#line(last);
        if (this.#sse) {
          const event = this.#sse.end();
          if (event) this.#event(event.event, event.data);
        }
        if (this.#inband) throw withMetadata(this.#inband, allTrailers);
      }
      const code = Number(trailers['grpc-status'] ?? 0);
      if (code !== 0) {
        const message = headerText(trailers['grpc-message']);
        throw new StatusError(
          isStatus(code) ? code : Status.UNKNOWN,
          message ? decodeGrpcMessage(message) : 'failed',
          {
            metadata: allTrailers,
          },
        );
      }
    } catch (err) {
      this.#call.onTrailers?.(allTrailers);
      const status = StatusError.from(err, Status.INTERNAL);
      this.#finish(
        status.metadata.size === 0 && allTrailers.size > 0 ? withMetadata(status, allTrailers) : status,
      );
      return;
    }
    this.#call.onTrailers?.(allTrailers);
    this.#finish();
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.#finish(this.abortReason ?? statusOfClientError(err));
  }

  // ---- the caller's side ----

  next(): Promise<IteratorResult<unknown>> {
    if (this.#queue.length > 0) {
      const value = this.#queue.shift();
      if (this.controller?.paused && this.#queue.length < HIGH_WATER / 2) this.controller.resume();
      return Promise.resolve({ done: false, value });
    }
    if (this.#error) return Promise.reject(this.#error);
    if (this.#done) return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  /** Leaving the loop early: the request is aborted, the server sees the client go away. */
  return(): Promise<IteratorResult<unknown>> {
    if (!this.#done) {
      const reason = new StatusError(Status.CANCELLED, 'the caller stopped reading the response stream');
      this.abortCall(reason);
    }
    this.#queue.length = 0;
    this.#error = undefined;
    return Promise.resolve({ done: true, value: undefined });
  }

  // ---- internals ----

  #line(line: string): void {
    if (this.#sse) {
      const event = this.#sse.line(line);
      if (event) this.#event(event.event, event.data);
      return;
    }
    if (line.trim() === '') return;
    const json = parseLine(line);
    const error = (json as { error?: unknown } | null)?.error;
    // `{"error": {status}}` alone on a line is the in-band status (see the server's format).
    if (error !== undefined && isStatusJson(error) && Object.keys(json as object).length === 1) {
      this.#inband ??= statusErrorFromJson(error);
      return;
    }
    this.#push(this.#decode(json));
  }

  #event(event: string, data: string): void {
    if (event === 'error') {
      const json = parseLine(data);
      this.#inband ??= isStatusJson(json)
        ? statusErrorFromJson(json)
        : new StatusError(Status.UNKNOWN, `stream failed: ${data}`);
      return;
    }
    if (event === 'message') this.#push(this.#decode(parseLine(data)));
  }

  #push(message: unknown): void {
    if (this.#inband) return; // nothing after the status counts
    const waiter = this.#waiter;
    if (waiter) {
      this.#waiter = undefined;
      waiter.resolve({ done: false, value: message });
    } else {
      this.#queue.push(message);
    }
  }

  protected get settled(): boolean {
    return this.#done;
  }

  protected settle(err: StatusError): void {
    this.#finish(err);
  }

  #finish(err?: StatusError): void {
    if (this.#done) return;
    this.#done = true;
    this.disarm();
    if (err) this.#error = err;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    if (!waiter) return;
    if (err) waiter.reject(err);
    else waiter.resolve({ done: true, value: undefined });
  }
}

function parseLine(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch (err) {
    throw new StatusError(
      Status.INTERNAL,
      `malformed JSON in the response stream: ${(err as Error).message}`,
    );
  }
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function withMetadata(err: StatusError, metadata: Metadata): StatusError {
  if (metadata.size === 0) return err;
  return new StatusError(err.code, err.message, { metadata, details: err.details, cause: err.cause });
}
