import type { MethodDescriptor } from '../contract/descriptors.ts';
import type { Metadata, MetadataInit } from '../contract/metadata.ts';
import type { CallContext } from './context.ts';

/** Options of one outgoing call. */
export interface CallOptions {
  /** Relative timeout; the default is the client's (30 s unless configured). `Infinity` for none. */
  timeoutMs?: number;
  /** Absolute deadline in epoch ms; wins over `timeoutMs`. */
  deadline?: number;
  signal?: AbortSignal;
  metadata?: MetadataInit;
  /**
   * The incoming call this call is made on behalf of. Its deadline, cancellation and trace
   * headers carry over. Defaults to the call the current handler serves; `null` opts out.
   */
  parent?: CallContext | null;
  /** Receives the response headers (gRPC initial metadata) when they arrive. */
  onHeaders?: (headers: Metadata) => void;
  /** Receives the trailers, on success and on error alike. */
  onTrailers?: (trailers: Metadata) => void;
}

/** One call as the client hands it to a transport: deadline and metadata already settled. */
export interface OutgoingCall {
  readonly method: MethodDescriptor;
  readonly metadata: Metadata;
  /** Absolute epoch ms, `Infinity` for none. The transport enforces it and sends it on. */
  readonly deadline: number;
  readonly signal: AbortSignal | undefined;
  readonly onHeaders: ((headers: Metadata) => void) | undefined;
  readonly onTrailers: ((trailers: Metadata) => void) | undefined;
}

/**
 * The client half of a transport. Errors are always StatusError. A transport enforces the
 * deadline and the signal itself, since only it can cancel what is on the wire.
 */
export interface ClientTransport {
  readonly name: string;
  /** Unary call: one request, one response. */
  unary(call: OutgoingCall, request: unknown): Promise<unknown>;
  /**
   * Any streaming call. `requests` is one message (server streaming) or an async iterable
   * (client and bidi streaming); the result yields the responses. Leaving the loop early
   * cancels the call.
   */
  stream(call: OutgoingCall, requests: unknown): AsyncIterable<unknown>;
  close(): Promise<void>;
}

/** The server half of a transport: it listens, decodes calls and hands them to a ServiceHost. */
export interface ServerTransport {
  readonly name: string;
  listen(): Promise<ListenAddress>;
  /** Stops accepting calls, lets in-flight ones finish within `graceMs`, then cancels the rest. */
  close(graceMs?: number): Promise<void>;
}

export interface ListenAddress {
  host: string;
  port: number;
}
