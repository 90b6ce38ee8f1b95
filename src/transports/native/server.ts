import net from 'node:net';
import tls from 'node:tls';
import { StatusError } from '../../contract/errors.ts';
import { Status } from '../../contract/status.ts';
import type { ServiceHost } from '../../core/host.ts';
import type { ListenAddress, ServerTransport } from '../../core/transport.ts';
import {
  capConnections,
  countOption,
  DEFAULT_MAX_CONNECTIONS,
  handshakeTimeout,
} from '../listener-limits.ts';
import { serverTls } from '../tls/server-tls.ts';
import {
  connectionBufferBytes,
  DEFAULT_MAX_ABANDONED_CALLS,
  DEFAULT_MAX_CONCURRENT_STREAMS,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_MAX_METADATA_BYTES,
  DEFAULT_WINDOW_BYTES,
  type NativeServerOptions,
  positive,
  type ServerConnectionConfig,
} from './options.ts';
import { ServerConnection } from './server-connection.ts';

/** After the grace period, how long cancelled calls get to send their STATUS before sockets are destroyed. */
const FORCE_CLOSE_MS = 1000;

/** Serves a ServiceHost over the native protocol (TCP, or TLS when `tls` is set). */
export class NativeServer implements ServerTransport {
  readonly name = 'native';
  readonly #host: ServiceHost;
  readonly #options: NativeServerOptions;
  readonly #config: ServerConnectionConfig;
  /** The TLS handshake timeout in ms; 0 leaves Node's default. */
  readonly #tlsHandshakeTimeoutMs: number;
  readonly #connections = new Set<ServerConnection>();
  #server: net.Server | undefined;
  #stopTlsWatch: (() => void) | undefined;
  #closing: Promise<void> | undefined;

  constructor(host: ServiceHost, options: NativeServerOptions = {}) {
    this.#host = host;
    this.#options = options;
    const maxMessageBytes = positive(options.maxMessageBytes, DEFAULT_MAX_MESSAGE_BYTES, 'maxMessageBytes');
    const windowBytes = Math.max(1, positive(options.windowBytes, DEFAULT_WINDOW_BYTES, 'windowBytes'));
    this.#config = {
      settings: {
        maxMessageBytes,
        maxMetadataBytes: positive(options.maxMetadataBytes, DEFAULT_MAX_METADATA_BYTES, 'maxMetadataBytes'),
        maxConcurrentStreams: positive(
          options.maxConcurrentStreams,
          DEFAULT_MAX_CONCURRENT_STREAMS,
          'maxConcurrentStreams',
        ),
        initialWindowBytes: windowBytes,
      },
      maxBufferBytes: connectionBufferBytes(options.maxConnectionBufferBytes, maxMessageBytes, windowBytes),
      keepaliveMs: positive(options.keepaliveMs, 60_000, 'keepaliveMs'),
      keepaliveTimeoutMs: positive(options.keepaliveTimeoutMs, 20_000, 'keepaliveTimeoutMs'),
      handshakeTimeoutMs: positive(options.handshakeTimeoutMs, 10_000, 'handshakeTimeoutMs'),
      idleTimeoutMs: positive(options.idleTimeoutMs, 300_000, 'idleTimeoutMs'),
      maxAbandonedCalls: positive(
        options.maxAbandonedCalls,
        DEFAULT_MAX_ABANDONED_CALLS,
        'maxAbandonedCalls',
      ),
    };
    // Checked here so that a bad value fails construction, not listen().
    countOption(options.maxConnections, DEFAULT_MAX_CONNECTIONS, 'maxConnections');
    this.#tlsHandshakeTimeoutMs =
      options.tlsHandshakeTimeoutMs === undefined
        ? this.#config.handshakeTimeoutMs
        : handshakeTimeout(options);
  }

  /** Open connections (for tests and metrics). */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Request bytes buffered for handlers that have not taken them, all connections together (for tests and metrics). */
  get bufferedRequestBytes(): number {
    let bytes = 0;
    for (const connection of this.#connections) bytes += connection.bufferedRequestBytes;
    return bytes;
  }

  async listen(): Promise<ListenAddress> {
    if (this.#server) throw new Error('the native server is already listening');
    const accept = (socket: net.Socket) => this.#accept(socket);
    const secure = this.#options.tls ? serverTls(this.#options.tls) : undefined;
    const server = secure
      ? tls.createServer(
          { ...secure.options, handshakeTimeout: this.#tlsHandshakeTimeoutMs || undefined },
          accept,
        )
      : net.createServer({ noDelay: true }, accept);
    capConnections(server, this.#options, 'the native server');
    if (secure) {
      this.#stopTlsWatch = secure.watch(server as tls.Server);
      // A failed TLS handshake is the client's problem, never the process's. Node only reports a
      // handshake timeout here: without the destroy, the socket would stay open.
      (server as tls.Server).on('tlsClientError', (_err, socket) => socket.destroy());
    }
    this.#server = server;
    const host = this.#options.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#options.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', () => {});
    const address = server.address() as net.AddressInfo;
    return { host: address.address, port: address.port };
  }

  close(graceMs = 5000): Promise<void> {
    this.#stopTlsWatch?.();
    this.#stopTlsWatch = undefined;
    this.#closing ??= this.#close(graceMs);
    return this.#closing;
  }

  #accept(socket: net.Socket): void {
    if (this.#closing) {
      socket.destroy();
      return;
    }
    const connection = new ServerConnection(socket, this.#host, this.#config);
    this.#connections.add(connection);
    connection.closed.then(() => this.#connections.delete(connection));
  }

  async #close(graceMs: number): Promise<void> {
    const server = this.#server;
    if (!server) return;
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const connection of this.#connections) connection.drain();
    if (await this.#allClosed(graceMs)) return void (await stopped);
    const reason = new StatusError(Status.UNAVAILABLE, 'the server closed before the call finished');
    for (const connection of this.#connections) connection.abortCalls(reason);
    if (!(await this.#allClosed(FORCE_CLOSE_MS))) {
      for (const connection of this.#connections) connection.destroy();
    }
    await stopped;
  }

  /** Whether every connection closed within `ms`. */
  async #allClosed(ms: number): Promise<boolean> {
    if (this.#connections.size === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    const closed = Promise.all([...this.#connections].map((c) => c.closed)).then(() => true);
    const result = await Promise.race([closed, timeout]);
    clearTimeout(timer);
    return result;
  }
}
