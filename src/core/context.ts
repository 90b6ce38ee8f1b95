import { AsyncLocalStorage } from 'node:async_hooks';
import type { MethodDescriptor } from '../contract/descriptors.ts';
import { StatusError } from '../contract/errors.ts';
import { Metadata } from '../contract/metadata.ts';
import { Status } from '../contract/status.ts';
import { timeRemaining } from './deadline.ts';

/** Which transport carried a call; 'queue' for a command taken from a message broker. */
export type TransportName = 'grpc' | 'http' | 'native' | 'inproc' | 'queue';

/**
 * Who is calling, as the TLS client certificate of the connection says (mutual TLS). Read
 * once per connection by the transport; undefined on a connection without a client certificate.
 */
export interface PeerIdentity {
  /** The name policies match: the URI SAN (SPIFFE-style), else the first DNS SAN, else the CN. */
  readonly name: string;
  /** URI SANs, e.g. `spiffe://switchboard.local/service/orders`. */
  readonly uris: readonly string[];
  readonly dnsNames: readonly string[];
  /** The certificate subject's common name. */
  readonly commonName?: string;
}

/** What a handler (and a server interceptor) knows about the call it serves. */
export interface CallContext {
  readonly method: MethodDescriptor;
  /** Request metadata: headers on HTTP and gRPC, the metadata block on native. */
  readonly metadata: Metadata;
  /** Absolute deadline in epoch ms, `Infinity` when the caller set none. */
  readonly deadline: number;
  /** Aborted when the caller cancels, disconnects or the deadline passes. */
  readonly signal: AbortSignal;
  readonly transport: TransportName;
  /** The remote address, "host:port". */
  readonly peer: string;
  /** The caller's certificate identity on a mutual-TLS connection. */
  readonly identity?: PeerIdentity;
  /** Sent before the first response message (HTTP response headers, gRPC initial metadata). */
  readonly responseHeaders: Metadata;
  /** Sent with the status (HTTP trailers where possible, gRPC trailers). */
  readonly responseTrailers: Metadata;
  timeRemaining(): number;
}

export interface ServerCallInit {
  method: MethodDescriptor;
  metadata: Metadata;
  deadline: number;
  transport: TransportName;
  peer: string;
  identity?: PeerIdentity;
}

/**
 * The context a transport creates for each incoming call. The AbortController is made only
 * when someone asks for the signal: most unary calls never do, and this is the hot path.
 */
export class ServerCallContext implements CallContext {
  readonly method: MethodDescriptor;
  readonly metadata: Metadata;
  readonly deadline: number;
  readonly transport: TransportName;
  readonly peer: string;
  readonly identity: PeerIdentity | undefined;
  #responseHeaders: Metadata | undefined;
  #responseTrailers: Metadata | undefined;
  #controller: AbortController | undefined;
  #reason: StatusError | undefined;
  #onCancel: ((reason: StatusError) => void) | undefined;

  constructor(init: ServerCallInit) {
    this.method = init.method;
    this.metadata = init.metadata;
    this.deadline = init.deadline;
    this.transport = init.transport;
    this.peer = init.peer;
    this.identity = init.identity;
  }

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#reason) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  get responseHeaders(): Metadata {
    this.#responseHeaders ??= new Metadata();
    return this.#responseHeaders;
  }

  get responseTrailers(): Metadata {
    this.#responseTrailers ??= new Metadata();
    return this.#responseTrailers;
  }

  /** Response headers if any were set, without creating them. */
  peekResponseHeaders(): Metadata | undefined {
    return this.#responseHeaders;
  }

  peekResponseTrailers(): Metadata | undefined {
    return this.#responseTrailers;
  }

  get cancelled(): boolean {
    return this.#reason !== undefined;
  }

  /** Why the call was cancelled, if it was. */
  get cancelReason(): StatusError | undefined {
    return this.#reason;
  }

  /** Called by the transport when the caller goes away, and by the host when the deadline passes. */
  cancel(reason: StatusError = new StatusError(Status.CANCELLED, 'call cancelled by the caller')): void {
    if (this.#reason) return;
    this.#reason = reason;
    this.#controller?.abort(reason);
    this.#onCancel?.(reason);
  }

  /** One listener, for the host: it fails the call the moment it is cancelled. */
  onCancel(listener: (reason: StatusError) => void): void {
    if (this.#reason) listener(this.#reason);
    else this.#onCancel = listener;
  }

  timeRemaining(): number {
    return timeRemaining(this.deadline);
  }
}

/**
 * The call a handler is serving, so that the calls it makes inherit its deadline, its
 * cancellation and its trace context without passing them by hand.
 */
export const currentCallStorage = new AsyncLocalStorage<CallContext>();

/**
 * Whether this process has created a client. Only then can a handler make calls that inherit
 * from the call it serves, so only then does a host pay for the AsyncLocalStorage scope (on
 * Node 20 it slows every promise in the process by a good third of a small call's cost).
 */
let clientsCreated = false;

export function noteClientCreated(): void {
  clientsCreated = true;
}

export function propagationWanted(): boolean {
  return clientsCreated;
}

export function currentCall(): CallContext | undefined {
  return currentCallStorage.getStore();
}
