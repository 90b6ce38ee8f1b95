import http2, {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  type ClientSessionOptions,
  type OutgoingHttpHeaders,
  type SecureClientSessionOptions,
} from 'node:http2';
import { StatusError } from '../../contract/errors.ts';
import { Status } from '../../contract/status.ts';
import type { ClientTransport, OutgoingCall } from '../../core/transport.ts';
import { type ClientTlsMaterial, clientTlsMaterial } from '../tls/client-tls.ts';
import type { TlsFiles } from '../tls/tls-files.ts';
import { ClientCall, type StreamOpener } from './client-call.ts';
import { DEFAULT_MAX_MESSAGE_BYTES } from './framing.ts';

export interface GrpcClientTlsOptions extends TlsFiles {
  /** CA(s) to trust instead of the system's. */
  ca?: string | Buffer;
  /** Client certificate and key, for servers that ask for one (mutual TLS). */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** The name the server's certificate must carry, when it is not the target's host. */
  servername?: string;
  /** Trouble with changed files (the last good ones stay in use): a process warning unless set. */
  onTlsFileError?: (err: Error) => void;
}

export interface GrpcKeepaliveOptions {
  /** Ping the server this often (while the connection is open). */
  intervalMs: number;
  /** A ping unanswered for this long drops the connection: 20 s unless set. */
  timeoutMs?: number;
}

export interface GrpcClientOptions {
  /** "host:port" ("[::1]:50051" for IPv6). */
  target: string;
  /** TLS options, or `true` for TLS with the system's CAs. */
  tls?: GrpcClientTlsOptions | true;
  /** Largest message sent or accepted: 4 MiB unless set. */
  maxMessageBytes?: number;
  keepalive?: GrpcKeepaliveOptions;
  /** Calls fail UNAVAILABLE when the connection is not up within this time: 20 s unless set. */
  connectTimeoutMs?: number;
}

/** Our end of one HTTP/2 connection: whether it failed, and how many calls use it. */
interface Connection {
  readonly session: ClientHttp2Session;
  failure: StatusError | undefined;
  active: number;
}

/**
 * The gRPC protocol over one node:http2 connection, opened on the first call and opened again
 * on the next call after it dies. Idle connections do not keep the process alive.
 */
export class GrpcClientTransport implements ClientTransport, StreamOpener {
  readonly name = 'grpc';
  readonly maxMessageBytes: number;
  readonly #options: GrpcClientOptions;
  readonly #authority: string;
  /** The certificate material for the next connection (files are read again when changed). */
  readonly #tlsMaterial: (() => ClientTlsMaterial) | undefined;
  readonly #connections = new Map<ClientHttp2Session, Connection>();
  #current: Connection | undefined;
  #closed = false;

  constructor(options: GrpcClientOptions) {
    this.#options = options;
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.#authority = `${options.tls ? 'https' : 'http'}://${options.target}`;
    this.#tlsMaterial = options.tls && options.tls !== true ? clientTlsMaterial(options.tls) : undefined;
    // Fail early on a target that is not host:port.
    new URL(this.#authority);
  }

  unary(call: OutgoingCall, request: unknown): Promise<unknown> {
    return new Promise((resolve, reject) => new ClientCall(this, call).startUnary(request, resolve, reject));
  }

  stream(call: OutgoingCall, requests: unknown): AsyncIterable<unknown> {
    return {
      [Symbol.asyncIterator]: () => new ClientCall(this, call).startStream(requests),
    };
  }

  /** Stops new calls; calls in flight finish first. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#current = undefined;
    const closing = [...this.#connections.keys()].map(
      (session) =>
        new Promise<void>((resolve) => {
          if (session.destroyed) return resolve();
          session.once('close', () => resolve());
          // An idle session is unref'd; closing must keep the process alive until it is done.
          session.ref();
          session.close();
        }),
    );
    await Promise.all(closing);
  }

  open(headers: OutgoingHttpHeaders): ClientHttp2Stream {
    if (this.#closed) throw new StatusError(Status.UNAVAILABLE, 'the gRPC client transport is closed');
    let connection = this.#current;
    let stream: ClientHttp2Stream;
    if (connection && !connection.session.closed && !connection.session.destroyed) {
      try {
        stream = request(connection.session, headers);
      } catch (err) {
        if (!(err instanceof ConnectionGone)) throw err;
        // The connection began to shut down (GOAWAY) between two calls: take a new one.
        connection = this.#connect();
        stream = request(connection.session, headers);
      }
    } else {
      connection = this.#connect();
      stream = request(connection.session, headers);
    }
    if (connection.active++ === 0) connection.session.ref();
    return stream;
  }

  connectionFailure(session: ClientHttp2Session, streamError?: Error): StatusError | undefined {
    const failure = this.#connections.get(session)?.failure;
    if (failure) return failure;
    if (!session.destroyed) return undefined;
    // Streams hear of a failed connect before the session does; `connecting` tells it apart.
    const cause = streamError?.cause instanceof Error ? streamError.cause : undefined;
    if (session.connecting) {
      return new StatusError(
        Status.UNAVAILABLE,
        `cannot connect to ${this.#options.target}${cause ? `: ${cause.message}` : ''}`,
        { unprocessed: true, cause },
      );
    }
    return new StatusError(Status.UNAVAILABLE, 'the connection was lost', { cause });
  }

  release(session: ClientHttp2Session): void {
    const connection = this.#connections.get(session);
    if (connection && --connection.active === 0 && !session.destroyed) session.unref();
  }

  #connect(): Connection {
    const options = this.#options;
    const session = http2.connect(this.#authority, this.#sessionOptions());
    const connection: Connection = { session, failure: undefined, active: 0 };
    // Until the connection is up, no call on it can have reached the server.
    let connected = false;
    this.#connections.set(session, connection);
    this.#current = connection;
    session.unref();
    const forget = () => {
      if (this.#current === connection) this.#current = undefined;
    };
    const connectTimeout = setTimeout(() => {
      connection.failure = new StatusError(
        Status.UNAVAILABLE,
        `cannot connect to ${options.target}: timed out`,
        {
          unprocessed: true,
        },
      );
      session.destroy();
    }, options.connectTimeoutMs ?? 20_000).unref();
    session.once('connect', () => {
      connected = true;
      clearTimeout(connectTimeout);
      // A larger connection window: many calls, or big messages, in flight at once.
      session.setLocalWindowSize(8 * 1024 * 1024);
    });
    session.on('error', (err: Error) => {
      connection.failure ??= new StatusError(
        Status.UNAVAILABLE,
        `connection to ${options.target} failed: ${err.message}`,
        { unprocessed: !connected },
      );
      forget();
    });
    // A GOAWAY lets calls in flight finish; new calls go to a new connection.
    session.on('goaway', forget);
    const stopKeepalive = this.#keepalive(connection);
    session.once('close', () => {
      clearTimeout(connectTimeout);
      stopKeepalive();
      forget();
      this.#connections.delete(session);
    });
    return connection;
  }

  #sessionOptions(): ClientSessionOptions | SecureClientSessionOptions {
    const base: ClientSessionOptions = {
      settings: { enablePush: false, initialWindowSize: 1024 * 1024 },
      maxSessionMemory: 64,
    };
    const tls = this.#options.tls;
    if (!tls) return base;
    const secure: SecureClientSessionOptions = { ...base, ALPNProtocols: ['h2'] };
    if (tls === true) return secure;
    const { ca, cert, key } = this.#tlsMaterial!();
    return { ...secure, ca, cert, key, servername: tls.servername };
  }

  #keepalive(connection: Connection): () => void {
    const keepalive = this.#options.keepalive;
    if (!keepalive || keepalive.intervalMs <= 0) return () => {};
    const session = connection.session;
    const timer = setInterval(() => {
      if (session.connecting) return;
      const timeout = setTimeout(() => {
        connection.failure ??= new StatusError(Status.UNAVAILABLE, 'keepalive ping timed out');
        session.destroy();
      }, keepalive.timeoutMs ?? 20_000).unref();
      const sent = session.ping((err) => {
        clearTimeout(timeout);
        if (err && !session.destroyed) {
          connection.failure ??= new StatusError(Status.UNAVAILABLE, `keepalive ping failed: ${err.message}`);
          session.destroy();
        }
      });
      if (!sent) clearTimeout(timeout);
    }, keepalive.intervalMs).unref();
    return () => clearInterval(timer);
  }
}

/** The session can no longer start streams. */
class ConnectionGone extends StatusError {}

const SESSION_GONE = new Set([
  'ERR_HTTP2_GOAWAY_SESSION',
  'ERR_HTTP2_INVALID_SESSION',
  'ERR_HTTP2_OUT_OF_STREAMS',
]);

/** session.request, with its errors as statuses: a dead session, or headers it will not send. */
function request(session: ClientHttp2Session, headers: OutgoingHttpHeaders): ClientHttp2Stream {
  try {
    return session.request(headers);
  } catch (err) {
    const { code, message } = err as NodeJS.ErrnoException;
    if (code && SESSION_GONE.has(code))
      throw new ConnectionGone(Status.UNAVAILABLE, message, { unprocessed: true });
    // Mostly metadata that HTTP/2 cannot carry (control characters in a value).
    throw new StatusError(Status.INTERNAL, `cannot send the call's headers: ${message}`, { cause: err });
  }
}
