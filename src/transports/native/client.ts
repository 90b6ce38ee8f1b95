import { asUnprocessed, StatusError } from '../../contract/errors.ts';
import { Status } from '../../contract/status.ts';
import type { ClientTransport, OutgoingCall } from '../../core/transport.ts';
import type { ClientCall } from './client-call.ts';
import { ClientConnection, type ClientConnectionConfig, type ConnectionOwner } from './client-connection.ts';
import { StreamCall } from './client-stream-call.ts';
import { UnaryCall } from './client-unary-call.ts';
import { DeadlineList } from './deadline-list.ts';
import { tlsMaterialOf } from './dial.ts';
import {
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_MAX_METADATA_BYTES,
  DEFAULT_WINDOW_BYTES,
  type NativeClientOptions,
  positive,
} from './options.ts';

/**
 * Calls a NativeServer: one lazily opened, multiplexed connection, replaced when it is lost or
 * the server sends GOAWAY. Calls in flight on a lost connection fail UNAVAILABLE; calls that
 * never reached the wire (or that a GOAWAY refused) start again on the new one.
 */
export class NativeClientTransport implements ClientTransport, ConnectionOwner {
  readonly name = 'native';
  readonly #config: ClientConnectionConfig;
  /** Where new calls go; undefined until the first call, and after it retires. */
  #current: ClientConnection | undefined;
  /** Every connection not yet closed, retired ones included, so close() can reach them. */
  readonly #connections = new Set<ClientConnection>();
  #closed = false;
  readonly #deadlines = new DeadlineList();

  constructor(options: NativeClientOptions) {
    const { host, port } = parseTarget(options.target);
    if (options.tls) tlsMaterialOf(options.tls); // unusable TLS files fail here, not on a call
    this.#config = {
      host,
      port,
      tls: options.tls,
      settings: {
        maxMessageBytes: positive(options.maxMessageBytes, DEFAULT_MAX_MESSAGE_BYTES, 'maxMessageBytes'),
        maxMetadataBytes: positive(options.maxMetadataBytes, DEFAULT_MAX_METADATA_BYTES, 'maxMetadataBytes'),
        maxConcurrentStreams: 0,
        initialWindowBytes: Math.max(1, positive(options.windowBytes, DEFAULT_WINDOW_BYTES, 'windowBytes')),
      },
      connectTimeoutMs: positive(options.connectTimeoutMs, 10_000, 'connectTimeoutMs'),
      keepaliveMs: positive(options.keepaliveMs, 30_000, 'keepaliveMs'),
      keepaliveTimeoutMs: positive(options.keepaliveTimeoutMs, 10_000, 'keepaliveTimeoutMs'),
    };
  }

  unary(call: OutgoingCall, request: unknown): Promise<unknown> {
    return new Promise((resolve, reject) => {
      let bytes: Uint8Array;
      try {
        bytes = call.method.input.encode(request as Record<string, unknown>);
      } catch (err) {
        reject(StatusError.from(err, Status.INTERNAL));
        return;
      }
      this.#start(new UnaryCall(call, bytes, resolve, reject));
    });
  }

  stream(call: OutgoingCall, requests: unknown): AsyncIterable<unknown> {
    let streamCall: StreamCall;
    try {
      streamCall = new StreamCall(call, requests);
    } catch (err) {
      return failedStream(StatusError.from(err, Status.INTERNAL));
    }
    this.#start(streamCall);
    return streamCall;
  }

  /** Fails the calls in flight with CANCELLED and closes every connection. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#current = undefined;
    const reason = new StatusError(Status.CANCELLED, 'the client transport was closed');
    await Promise.all([...this.#connections].map((conn) => conn.close(reason)));
  }

  retired(conn: ClientConnection): void {
    if (this.#current === conn) this.#current = undefined;
  }

  restart(calls: ClientCall[], reason: StatusError): void {
    for (const call of calls) {
      if (call.canRestart() && !this.#closed) {
        call.readyAt = Date.now();
        this.#connection().start(call);
      } else call.finish(asUnprocessed(reason));
    }
  }

  #start(call: ClientCall): void {
    if (this.#closed) {
      call.finish(new StatusError(Status.UNAVAILABLE, 'the client transport is closed'));
      return;
    }
    if (call.arm(this.#deadlines)) this.#connection().start(call);
  }

  #connection(): ClientConnection {
    let conn = this.#current;
    if (conn?.open) return conn;
    conn = new ClientConnection(this.#config, this);
    this.#current = conn;
    this.#connections.add(conn);
    const created = conn;
    conn.closed.then(() => {
      this.#connections.delete(created);
      if (this.#current === created) this.#current = undefined;
    });
    return conn;
  }
}

/** A response stream that fails on first read (its request could not be encoded). */
function failedStream(err: StatusError): AsyncIterable<unknown> {
  return {
    [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(err) }),
  };
}

/** "host:port", "[v6]:port". */
export function parseTarget(target: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(target.replace(/^native:\/\//, ''));
  const port = match ? Number(match[3]) : Number.NaN;
  if (!match || !(port > 0 && port < 65536)) {
    throw new TypeError(`invalid native target ${JSON.stringify(target)}: expected "host:port"`);
  }
  return { host: match[1] ?? match[2]!, port };
}
