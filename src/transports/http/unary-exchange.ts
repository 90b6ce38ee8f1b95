import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import { StatusError } from '../../contract/errors.ts';
import { Status } from '../../contract/status.ts';
import type { OutgoingCall } from '../../core/transport.ts';
import { GuardedExchange, statusOfClientError } from './call-guard.ts';
import { metadataFromResponse } from './headers.ts';
import { statusErrorFromResponse } from './status-body.ts';

/**
 * One unary call on the wire, as an undici dispatch handler: collects the answer's bytes (up
 * to a limit), then resolves with the decoded message or rejects with its StatusError. The
 * deadline and the caller's signal settle the call at once and abort the request.
 */
export class UnaryExchange extends GuardedExchange implements Dispatcher.DispatchHandler {
  readonly #call: OutgoingCall;
  readonly #decode: (json: unknown) => unknown;
  readonly #maxBytes: number;
  readonly #resolve: (value: unknown) => void;
  readonly #reject: (err: StatusError) => void;
  #settled = false;
  #status = 0;
  #headers: IncomingHttpHeaders = {};
  #first: Buffer | undefined;
  #chunks: Buffer[] | undefined;
  #size = 0;

  constructor(
    call: OutgoingCall,
    decode: (json: unknown) => unknown,
    maxBytes: number,
    resolve: (value: unknown) => void,
    reject: (err: StatusError) => void,
  ) {
    super();
    this.#call = call;
    this.#decode = decode;
    this.#maxBytes = maxBytes;
    this.#resolve = resolve;
    this.#reject = reject;
    this.arm(call);
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    status: number,
    headers: IncomingHttpHeaders,
  ): void {
    this.#status = status;
    this.#headers = headers;
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#size += chunk.length;
    if (this.#size > this.#maxBytes) {
      this.abortCall(
        new StatusError(Status.RESOURCE_EXHAUSTED, `response larger than ${this.#maxBytes} bytes`),
      );
      return;
    }
    if (this.#first === undefined) this.#first = chunk;
    else if (this.#chunks === undefined) this.#chunks = [this.#first, chunk];
    else this.#chunks.push(chunk);
  }

  onResponseEnd(): void {
    if (this.#settled) return;
    const body = this.#chunks ? Buffer.concat(this.#chunks, this.#size) : (this.#first ?? EMPTY);
    const call = this.#call;
    const ok = this.#status >= 200 && this.#status < 300;
    // Metadata is read only when someone looks at it: most calls have no callbacks.
    const meta = !ok || call.onHeaders || call.onTrailers ? metadataFromResponse(this.#headers) : undefined;
    if (meta) call.onHeaders?.(meta.headers);
    if (ok) {
      let message: unknown;
      try {
        // An empty body (204, or a server that answers nothing for google.protobuf.Empty) is {}.
        message = this.#decode(body.length === 0 ? {} : JSON.parse(body.toString('utf8')));
      } catch (err) {
        if (meta) call.onTrailers?.(meta.trailers);
        this.#fail(
          err instanceof StatusError
            ? new StatusError(Status.INTERNAL, `bad response: ${err.message}`, { cause: err })
            : new StatusError(Status.INTERNAL, `malformed JSON response: ${(err as Error).message}`),
        );
        return;
      }
      if (meta) call.onTrailers?.(meta.trailers);
      this.#settled = true;
      this.disarm();
      this.#resolve(message);
      return;
    }
    const trailers = (meta as NonNullable<typeof meta>).trailers;
    call.onTrailers?.(trailers);
    this.#fail(statusErrorFromResponse(this.#status, this.#headers, body, trailers));
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.#fail(this.abortReason ?? statusOfClientError(err));
  }

  protected get settled(): boolean {
    return this.#settled;
  }

  protected settle(err: StatusError): void {
    this.#fail(err);
  }

  #fail(err: StatusError): void {
    if (this.#settled) return;
    this.#settled = true;
    this.disarm();
    this.#reject(err);
  }
}

const EMPTY = Buffer.alloc(0);
