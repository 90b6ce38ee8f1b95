import http2, {
  type Http2SecureServer,
  type Http2Server,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import { StatusError } from '../../contract/errors.ts';
import { Status } from '../../contract/status.ts';
import { type PeerIdentity, ServerCallContext } from '../../core/context.ts';
import { parseGrpcTimeout } from '../../core/deadline.ts';
import type { ServiceHost } from '../../core/host.ts';
import type { ListenAddress, ServerTransport } from '../../core/transport.ts';
import {
  type ConnectionLimits,
  capConnections,
  countOption,
  DEFAULT_MAX_CONNECTIONS,
  durationOption,
  handshakeTimeout,
} from '../listener-limits.ts';
import { peerIdentity } from '../tls/peer-identity.ts';
import { type ServerTlsOptions, serverTls } from '../tls/server-tls.ts';
import { type Decompressor, decompressorFor } from './compression.ts';
import { DEFAULT_MAX_MESSAGE_BYTES } from './framing.ts';
import { ACCEPT_ENCODING, GRPC_CONTENT_TYPE, isGrpcContentType, metadataFromRawHeaders } from './headers.ts';
import { isGone, ServerCall, stopReading } from './server-call.ts';
import { DEFAULT_HTTP2_HANDSHAKE_TIMEOUT_MS, SessionGuards } from './session-guards.ts';
import { addStatusHeaders } from './status-trailers.ts';

const CONNECTION_WINDOW_BYTES = 8 * 1024 * 1024;
/**
 * node:http2 closes a connection (GOAWAY INTERNAL_ERROR) past this many streams it refused for
 * want of session memory, or this many invalid frames (streams refused over
 * maxConcurrentStreams, frames on closed streams...): Node's own defaults, stated here so that
 * they do not change under us.
 */
const MAX_SESSION_REJECTED_STREAMS = 100;
const MAX_SESSION_INVALID_FRAMES = 1000;

/**
 * TLS of the gRPC server (see ServerTlsOptions): with a CA (`ca`/`caFile`) clients must show a
 * certificate it signed unless `requireClientCert` is false; files are watched and rotated.
 */
export interface GrpcServerTlsOptions extends ServerTlsOptions {
  /** The former name of `requireClientCert`, still understood. */
  requestClientCert?: boolean;
}

/**
 * Options of the gRPC server. From ConnectionLimits: `maxConnections` (4096 unless set; a
 * connection over it is closed at once) and `tlsHandshakeTimeoutMs` (10 s unless set).
 */
export interface GrpcServerOptions extends ConnectionLimits {
  /** '127.0.0.1' unless set. */
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  tls?: GrpcServerTlsOptions;
  /** Largest message accepted or sent: 4 MiB unless set; a larger one fails the call with RESOURCE_EXHAUSTED. */
  maxMessageBytes?: number;
  /**
   * Streams (calls) one connection may have open at once: 1000 unless set. A client opening more
   * before it has acknowledged the server's SETTINGS has them refused (RST_STREAM
   * REFUSED_STREAM), and its connection closed after 1000 refusals; one opening more after
   * that breaks the protocol, and its connection is closed at once.
   */
  maxConcurrentStreams?: number;
  /** Largest header block (metadata) accepted: 64 KiB unless set; a stream with a larger one is refused. */
  maxHeaderListBytes?: number;
  /**
   * A connection whose client has not sent its HTTP/2 connection preface and SETTINGS within
   * this long after it connected (after the TLS handshake, with TLS) is closed: 10 s unless
   * set; 0 = never (then only idleTimeoutMs closes it).
   */
  handshakeTimeoutMs?: number;
  /** A connection without any traffic for this long is closed gracefully: 5 minutes unless set; 0 = never. */
  idleTimeoutMs?: number;
  /** Ping each connection this often to find dead peers: 2 hours unless set (gRPC's default); 0 = never. */
  keepaliveIntervalMs?: number;
  /** A ping unanswered for this long closes the connection: 20 s unless set. */
  keepaliveTimeoutMs?: number;
}

/** The options as numbers, checked once. */
interface ServerLimits {
  readonly maxMessageBytes: number;
  readonly maxConcurrentStreams: number;
  readonly maxHeaderListBytes: number;
  readonly handshakeTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly keepaliveIntervalMs: number;
  readonly keepaliveTimeoutMs: number;
}

/** The gRPC protocol over node:http2, serving a ServiceHost. */
export class GrpcServer implements ServerTransport {
  readonly name = 'grpc';
  readonly #host: ServiceHost;
  readonly #options: GrpcServerOptions;
  readonly #limits: ServerLimits;
  #server: Http2Server | Http2SecureServer | undefined;
  /** Each open connection, with its peer address ("ip:port") and client certificate identity. */
  readonly #sessions = new Map<ServerHttp2Session, SessionPeer>();
  /** With TLS, every TCP socket: close() must also end those still in their handshake (no session yet). */
  readonly #sockets = new Set<Socket>();
  #stopTlsWatch: (() => void) | undefined;
  readonly #calls = new Set<ServerCall>();
  /** Set while (and after) close() runs: new connections are turned away at once. */
  #closing: Promise<void> | undefined;

  constructor(host: ServiceHost, options: GrpcServerOptions = {}) {
    this.#host = host;
    this.#options = options;
    // Checked now, so a bad limit fails here rather than half-way through listen().
    countOption(options.maxConnections, DEFAULT_MAX_CONNECTIONS, 'maxConnections');
    handshakeTimeout(options);
    this.#limits = {
      maxMessageBytes: countOption(options.maxMessageBytes, DEFAULT_MAX_MESSAGE_BYTES, 'maxMessageBytes'),
      maxConcurrentStreams: countOption(options.maxConcurrentStreams, 1000, 'maxConcurrentStreams'),
      maxHeaderListBytes: countOption(options.maxHeaderListBytes, 64 * 1024, 'maxHeaderListBytes'),
      handshakeTimeoutMs: durationOption(
        options.handshakeTimeoutMs,
        DEFAULT_HTTP2_HANDSHAKE_TIMEOUT_MS,
        'handshakeTimeoutMs',
      ),
      idleTimeoutMs: durationOption(options.idleTimeoutMs, 5 * 60_000, 'idleTimeoutMs'),
      keepaliveIntervalMs: durationOption(
        options.keepaliveIntervalMs,
        2 * 60 * 60_000,
        'keepaliveIntervalMs',
      ),
      keepaliveTimeoutMs: durationOption(options.keepaliveTimeoutMs, 20_000, 'keepaliveTimeoutMs'),
    };
  }

  listen(): Promise<ListenAddress> {
    if (this.#server) return Promise.reject(new Error('the gRPC server is already listening'));
    this.#closing = undefined;
    const options = this.#options;
    const limits = this.#limits;
    const settings = {
      maxConcurrentStreams: limits.maxConcurrentStreams,
      maxHeaderListSize: limits.maxHeaderListBytes,
      // Room for a few messages in flight per stream: fewer WINDOW_UPDATE round trips.
      initialWindowSize: 1024 * 1024,
    };
    const common = {
      settings,
      maxSessionMemory: 64,
      peerMaxConcurrentStreams: 1000,
      maxSessionRejectedStreams: MAX_SESSION_REJECTED_STREAMS,
      maxSessionInvalidFrames: MAX_SESSION_INVALID_FRAMES,
    };
    const tls = options.tls
      ? serverTls({
          ...options.tls,
          requireClientCert: options.tls.requireClientCert ?? options.tls.requestClientCert,
        })
      : undefined;
    const server = tls
      ? http2.createSecureServer({
          ...common,
          ...tls.options,
          ALPNProtocols: ['h2'],
          allowHTTP1: false,
          handshakeTimeout: handshakeTimeout(options),
        })
      : http2.createServer(common);
    this.#server = server;
    capConnections(server, options, 'the gRPC server');
    const guards = new SessionGuards(limits.handshakeTimeoutMs, 'the gRPC server');
    if (tls) {
      this.#stopTlsWatch = tls.watch(server as Http2SecureServer);
      server.on('connection', (socket: Socket) => {
        this.#sockets.add(socket);
        socket.once('close', () => this.#sockets.delete(socket));
      });
    }
    server.on('session', (session: ServerHttp2Session) => this.#onSession(session, guards));
    server.on(
      'stream',
      (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, rawHeaders: string[]) => {
        this.#onStream(stream, headers, rawHeaders);
      },
    );
    // Errors of one connection (reset sockets, bad prefaces) concern that connection only.
    server.on('sessionError', ignore);
    server.on('tlsClientError', ignore);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        server.on('error', ignore);
        const address = server.address() as AddressInfo;
        resolve({ host: address.address, port: address.port });
      });
    });
  }

  /**
   * Sends GOAWAY on every connection so no new call starts, lets calls in flight finish for up
   * to `graceMs`, then cancels the rest (their handlers' signals abort, their streams are reset).
   */
  close(graceMs = 5000): Promise<void> {
    const server = this.#server;
    if (!server) return Promise.resolve();
    this.#stopTlsWatch?.();
    this.#stopTlsWatch = undefined;
    this.#closing ??= new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.#cancelAll(), Math.max(0, graceMs));
      server.close(() => {
        clearTimeout(timer);
        if (this.#server === server) this.#server = undefined;
        resolve();
      });
      for (const session of this.#sessions.keys()) session.close();
    });
    return this.#closing;
  }

  #cancelAll(): void {
    const reason = new StatusError(Status.UNAVAILABLE, 'the server is shutting down');
    for (const call of [...this.#calls]) call.cancel(reason);
    for (const session of this.#sessions.keys()) session.destroy();
    // Else server.close() waits for a handshake that may never end (tlsHandshakeTimeoutMs).
    for (const socket of this.#sockets) socket.destroy();
  }

  #onSession(session: ServerHttp2Session, guards: SessionGuards): void {
    const socket = session.socket;
    const address = socket.remoteAddress ?? 'unknown';
    const peer = address.includes(':')
      ? `[${address}]:${socket.remotePort}`
      : `${address}:${socket.remotePort}`;
    const identity = peerIdentity(socket);
    this.#sessions.set(session, { peer, identity });
    session.on('error', ignore);
    guards.watch(session, peer);
    // A connection window larger than HTTP/2's 64 KiB: big uploads on several streams at once.
    session.once('connect', () => session.setLocalWindowSize(CONNECTION_WINDOW_BYTES));
    const stopKeepalive = this.#keepalive(session);
    session.once('close', () => {
      this.#sessions.delete(session);
      stopKeepalive();
    });
    const idle = this.#limits.idleTimeoutMs;
    if (idle > 0) session.setTimeout(idle, () => session.close());
    if (this.#closing) session.close();
  }

  #keepalive(session: ServerHttp2Session): () => void {
    const interval = this.#limits.keepaliveIntervalMs;
    if (interval <= 0) return ignore;
    const timeout = this.#limits.keepaliveTimeoutMs;
    const timer = setInterval(() => {
      if (session.closed || session.destroyed) return;
      const deadline = setTimeout(() => session.destroy(), timeout).unref();
      const sent = session.ping((err) => {
        clearTimeout(deadline);
        if (err && !session.destroyed) session.destroy();
      });
      if (!sent) clearTimeout(deadline);
    }, interval).unref();
    return () => clearInterval(timer);
  }

  #onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, rawHeaders: string[]): void {
    stream.on('error', ignore);
    if (headers[':method'] !== 'POST') {
      respondEarly(
        stream,
        405,
        new StatusError(Status.UNIMPLEMENTED, `gRPC calls use POST, not ${headers[':method']}`),
      );
      return;
    }
    const contentType = headers['content-type'];
    if (!isGrpcContentType(contentType)) {
      respondEarly(
        stream,
        415,
        new StatusError(
          Status.INVALID_ARGUMENT,
          `unsupported content-type ${JSON.stringify(contentType ?? '')}`,
        ),
      );
      return;
    }
    const path = headers[':path'] ?? '';
    const hosted = this.#host.lookup(path);
    if (!hosted) {
      respondEarly(stream, 200, new StatusError(Status.UNIMPLEMENTED, `unknown method ${path}`));
      return;
    }
    let deadline = Infinity;
    let decompressor: Decompressor | undefined;
    try {
      const timeout = headers['grpc-timeout'] as string | undefined;
      if (timeout !== undefined) deadline = Date.now() + parseGrpcTimeout(timeout);
      decompressor = decompressorFor(headers['grpc-encoding'] as string | undefined);
    } catch (err) {
      respondEarly(stream, 200, StatusError.from(err, Status.INVALID_ARGUMENT));
      return;
    }
    const session = stream.session && this.#sessions.get(stream.session as ServerHttp2Session);
    const ctx = new ServerCallContext({
      method: hosted.descriptor,
      metadata: metadataFromRawHeaders(rawHeaders),
      deadline,
      transport: 'grpc',
      peer: session?.peer || 'unknown',
      identity: session?.identity,
    });
    const call = new ServerCall(stream, hosted, ctx, decompressor, this.#limits.maxMessageBytes, this.#calls);
    this.#calls.add(call);
    call.start();
  }
}

interface SessionPeer {
  readonly peer: string;
  readonly identity: PeerIdentity | undefined;
}

/** A trailers-only answer before the call reaches a handler. */
function respondEarly(stream: ServerHttp2Stream, httpStatus: number, err: StatusError): void {
  if (isGone(stream) || stream.headersSent) return;
  const headers: OutgoingHttpHeaders = {
    ':status': httpStatus,
    'content-type': GRPC_CONTENT_TYPE,
    'grpc-accept-encoding': ACCEPT_ENCODING,
  };
  if (httpStatus === 405) headers.allow = 'POST';
  stream.respond(addStatusHeaders(headers, err, undefined), { endStream: true });
  stopReading(stream);
}

function ignore(): void {}
