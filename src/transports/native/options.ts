/** Options of the native transport's two halves, and their defaults. */
import type { ConnectionLimits } from '../listener-limits.ts';
import type { ServerTlsOptions } from '../tls/server-tls.ts';
import type { TlsFiles } from '../tls/tls-files.ts';
import type { Settings } from './frame-writer.ts';

export const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
export const DEFAULT_MAX_METADATA_BYTES = 64 * 1024;
export const DEFAULT_MAX_CONCURRENT_STREAMS = 1000;
/** Per-stream flow-control window: enough to keep a loopback stream busy, small enough to bound memory. */
export const DEFAULT_WINDOW_BYTES = 256 * 1024;
export const DEFAULT_MAX_ABANDONED_CALLS = 1000;
/** Request bytes a connection buffers for its handlers before it stops reading: at least 32 MiB. */
export const DEFAULT_MAX_CONNECTION_BUFFER_BYTES = 32 * 1024 * 1024;

/**
 * TLS of the native server (see ServerTlsOptions): with a CA (`ca`/`caFile`) clients must show
 * a certificate it signed unless `requireClientCert` is false; files are watched and rotated.
 */
export type NativeServerTlsOptions = ServerTlsOptions;

/**
 * `maxConnections` (4096 unless set) comes from ConnectionLimits: a connection over it is closed
 * as it arrives.
 */
export interface NativeServerOptions extends ConnectionLimits {
  /** Interface to listen on; '127.0.0.1' unless set. */
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  tls?: NativeServerTlsOptions;
  /** Largest request message accepted; larger is RESOURCE_EXHAUSTED. 4 MiB unless set. */
  maxMessageBytes?: number;
  /** Largest metadata block (request headers) accepted. 64 KiB unless set. */
  maxMetadataBytes?: number;
  /** Calls served at once per connection; more are refused with RESOURCE_EXHAUSTED. 1000 unless set. */
  maxConcurrentStreams?: number;
  /** Flow-control window of each request stream, in bytes. 256 KiB unless set. */
  windowBytes?: number;
  /**
   * Request bytes one connection buffers for handlers that have not taken them: stream
   * messages not yet read, and unary and server-streaming requests not yet answered. Flow
   * control bounds each stream (a window plus one message), this their sum. Over it the server
   * stops reading the connection (TCP holds the client back) until handlers take enough; a
   * connection that stays so without a handler taking anything for `idleTimeoutMs` is closed.
   * 32 MiB or 2 × (maxMessageBytes + windowBytes), whichever is larger, unless set; at least
   * maxMessageBytes + windowBytes; 0 off.
   */
  maxConnectionBufferBytes?: number;
  /** PING a client silent for this long (0 turns it off). 60 s unless set. */
  keepaliveMs?: number;
  /** Close a connection whose PING got no answer within this. 20 s unless set. */
  keepaliveTimeoutMs?: number;
  /**
   * A connection must complete its HELLO within this (after TLS, on a TLS server). 10 s unless
   * set; 0 off.
   */
  handshakeTimeoutMs?: number;
  /**
   * A TLS handshake not finished within this closes its connection. `handshakeTimeoutMs`
   * (10 s) unless set; 0 leaves Node's own 120 s.
   */
  tlsHandshakeTimeoutMs?: number;
  /**
   * Close a connection that made no progress for this long — received no complete frame, and
   * read none of what the server sent — while it has no call in flight, is stuck in the middle
   * of a frame (a slowloris), or leaves the server's answers unread (the server stops reading
   * a connection with more than 8 MiB of answers queued), or holds `maxConnectionBufferBytes`
   * of requests that no handler takes. 5 min unless set; 0 off.
   */
  idleTimeoutMs?: number;
  /**
   * Calls a client may abandon — CANCEL while they run, or open over `maxConcurrentStreams` —
   * beyond those it lets finish (a "rapid reset" flood). Each call that finishes gives one back,
   * and a tenth of it comes back each second. Over it the connection gets GOAWAY
   * ENHANCE_YOUR_CALM and closes; its calls are cancelled. 1000 unless set; 0 off.
   */
  maxAbandonedCalls?: number;
}

export interface NativeClientTlsOptions extends TlsFiles {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  servername?: string;
  /** true unless set. */
  rejectUnauthorized?: boolean;
  /** Trouble with changed files (the last good ones stay in use): a process warning unless set. */
  onTlsFileError?: (err: Error) => void;
}

export interface NativeClientOptions {
  /** "host:port" (or "[v6]:port"). */
  target: string;
  tls?: NativeClientTlsOptions;
  /** Largest response message accepted. 4 MiB unless set. */
  maxMessageBytes?: number;
  /** Largest metadata block (response headers, trailers) accepted. 64 KiB unless set. */
  maxMetadataBytes?: number;
  /** TCP connect, TLS and HELLO together. 10 s unless set. */
  connectTimeoutMs?: number;
  /** PING a server silent for this long (0 turns it off). 30 s unless set. */
  keepaliveMs?: number;
  /** Declare the connection dead when a PING got no answer within this. 10 s unless set. */
  keepaliveTimeoutMs?: number;
  /** Flow-control window of each response stream, in bytes. 256 KiB unless set. */
  windowBytes?: number;
}

/** The limits and timers a server applies to each connection (options with defaults applied). */
export interface ServerConnectionConfig {
  readonly settings: Settings;
  readonly keepaliveMs: number;
  readonly keepaliveTimeoutMs: number;
  readonly handshakeTimeoutMs: number;
  readonly idleTimeoutMs: number;
  /** 0: no budget. */
  readonly maxAbandonedCalls: number;
  /** Request bytes buffered for handlers before reading stops; Infinity: no bound. */
  readonly maxBufferBytes: number;
}

/** A positive number option, or its default when unset (or explicitly undefined). */
export function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
    throw new TypeError(`${name} must be a number >= 0, got ${String(value)}`);
  }
  return value;
}

/**
 * `maxConnectionBufferBytes` with its default applied: Infinity when off (0). A stream holds at
 * most its window plus one message: the default fits two such streams, so one stream its handler
 * does not read never stalls the others by itself; below one, a single busy stream would.
 */
export function connectionBufferBytes(
  value: number | undefined,
  maxMessageBytes: number,
  windowBytes: number,
): number {
  const stream = maxMessageBytes + windowBytes;
  if (value === undefined) return Math.max(DEFAULT_MAX_CONNECTION_BUFFER_BYTES, 2 * stream);
  const limit = positive(value, 0, 'maxConnectionBufferBytes');
  if (limit === 0) return Infinity;
  if (limit < stream) {
    throw new TypeError(
      `maxConnectionBufferBytes must be 0 (off) or at least maxMessageBytes + windowBytes (${stream}), got ${limit}`,
    );
  }
  return limit;
}
