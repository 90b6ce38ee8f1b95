import { StatusError } from '../../contract/errors.ts';
import { Metadata } from '../../contract/metadata.ts';
import { Status } from '../../contract/status.ts';
import type { OutgoingCall } from '../../core/transport.ts';
import { type CallConnection, ClientCall, statusError } from './client-call.ts';
import type { StatusPayload } from './frame-payloads.ts';
import { protocolError } from './protocol-error.ts';

/** A unary call: one REQUEST frame out, one STATUS frame (with the response inline) back. */
export class UnaryCall extends ClientCall {
  readonly #request: Uint8Array;
  readonly #resolve: (response: unknown) => void;
  readonly #reject: (err: StatusError) => void;
  #headers: Metadata | undefined;

  constructor(
    call: OutgoingCall,
    request: Uint8Array,
    resolve: (response: unknown) => void,
    reject: (err: StatusError) => void,
  ) {
    super(call);
    this.#request = request;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  attach(conn: CallConnection, id: number): void {
    this.conn = conn;
    this.id = id;
    this.sent = true;
    conn.writeRequest(this, this.#request);
  }

  oversized(limit: number): StatusError | undefined {
    if (this.#request.length <= limit) return undefined;
    return new StatusError(
      Status.RESOURCE_EXHAUSTED,
      `request message of ${this.#request.length} bytes is over the server's limit of ${limit}`,
    );
  }

  onHeaders(headers: Metadata): void {
    this.#headers = headers;
  }

  onMessage(): void {
    throw protocolError(`MESSAGE on stream ${this.id}, a unary call`);
  }

  grant(): void {}

  onStatus(status: StatusPayload): void {
    if (!this.settle()) return;
    const { onHeaders, onTrailers } = this.call;
    let failure: StatusError | undefined;
    const headers = status.headers ?? this.#headers;
    if (onHeaders && (headers || status.code === Status.OK))
      failure = this.notify(onHeaders, headers ?? new Metadata());
    if (onTrailers) failure = this.notify(onTrailers, status.trailers ?? new Metadata()) ?? failure;
    if (!failure && status.code !== Status.OK) failure = statusError(status);
    if (failure) {
      this.#reject(failure);
      return;
    }
    if (!status.response) {
      this.#reject(new StatusError(Status.INTERNAL, 'the server answered OK without a response message'));
      return;
    }
    let response: unknown;
    try {
      response = this.call.method.output.decode(status.response);
    } catch (err) {
      this.#reject(
        new StatusError(Status.INTERNAL, `malformed response: ${(err as Error).message}`, { cause: err }),
      );
      return;
    }
    this.#resolve(response);
  }

  finish(err: StatusError): void {
    if (!this.settle()) return;
    this.#reject(this.notify(this.call.onTrailers, err.metadata) ?? err);
  }

  protected restartable(): boolean {
    return true;
  }
}
