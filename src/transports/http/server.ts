import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { refusedStatus, StatusError } from '../../contract/errors.ts';
import type { HttpRule } from '../../contract/http-rules.ts';
import { Status } from '../../contract/status.ts';
import type { ServerCallContext } from '../../core/context.ts';
import type { HostedMethod, ServiceHost } from '../../core/host.ts';
import type { ListenAddress, ServerTransport } from '../../core/transport.ts';
import {
  type ConnectionLimits,
  capConnections,
  countOption,
  durationOption,
  handshakeTimeout,
} from '../listener-limits.ts';
import { type ServerTlsOptions, serverTls } from '../tls/server-tls.ts';
import { parsePathTemplate } from './path-template.ts';
import { RequestBinder, responseSelector } from './request-binding.ts';
import { closeAfterAnswer, writeError, writeJson } from './response-writer.ts';
import { Router } from './router.ts';
import { type CallEnvironment, type HttpRoute, serveCall } from './server-call.ts';

/**
 * TLS of the HTTP server (see ServerTlsOptions): with a CA (`ca`/`caFile`) clients must show a
 * certificate it signed unless `requireClientCert` is false; files are watched and rotated.
 */
export type HttpServerTlsOptions = ServerTlsOptions;

/**
 * Also bounded, see ConnectionLimits: connections open at once (`maxConnections`, 4096) and, with
 * TLS, the handshake (`tlsHandshakeTimeoutMs`, 10 s).
 */
export interface HttpServerOptions extends ConnectionLimits {
  /** '127.0.0.1' unless set. */
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Largest request body (and largest streamed request message); 4 MiB unless set. */
  maxBodyBytes?: number;
  /** The same limit under the name every transport's options use; maxBodyBytes wins. */
  maxMessageBytes?: number;
  /** Serve HTTPS (HTTP/1.1) with this certificate. */
  tls?: HttpServerTlsOptions;
  /**
   * Time a client has to send a request's headers, counted from the request's first byte (or
   * from the connection's start): bytes trickled in do not extend it. Over it Node answers 408
   * and closes the connection. 10 s unless set; 0 turns it off.
   */
  headersTimeoutMs?: number;
  /**
   * Time a client has to send a whole request (headers and body); over it Node answers 408 and
   * closes the connection. 5 min unless set (never less than headersTimeoutMs); 0 turns it off.
   */
  requestTimeoutMs?: number;
  /**
   * How long an idle keep-alive connection stays open: advertised to the client as
   * `Keep-Alive: timeout`, and Node closes the connection 1 s after it (so the client, told
   * first, does not reuse a connection as it closes). 5 s unless set; 0 keeps idle connections
   * open until the client closes them.
   */
  keepAliveTimeoutMs?: number;
  /**
   * Largest request head: the URL plus every header name and value (Node's maxHeaderSize),
   * which bounds the metadata a call can carry. Over it Node answers 431 and closes the
   * connection. 16 KiB unless set (Node's own default, fixed here so that the
   * --max-http-header-size flag does not change it).
   */
  maxHeaderBytes?: number;
  /**
   * Most header lines in one request. Over it the server answers 431 RESOURCE_EXHAUSTED and
   * closes the connection (Node itself would only drop the extra headers from req.headers,
   * silently). 100 unless set: real clients send a few dozen at most, and each header becomes a
   * metadata entry the call carries.
   */
  maxHeadersCount?: number;
  /**
   * Requests one connection may have waiting for their answers at once (HTTP/1.1 pipelining:
   * requests sent before the earlier ones are answered). Node reads a pipelined burst whole, so
   * without this one connection could start thousands of calls or queue thousands of answers. A
   * request over it is not run: it is answered 429 RESOURCE_EXHAUSTED marked unprocessed (safe
   * to retry), in turn, and the connection stays open. 100 unless set (the number of concurrent
   * streams HTTP/2 servers commonly allow).
   */
  maxPipelinedRequests?: number;
  /**
   * Plain handlers by exact path (`/metrics`, `/openapi.json`), for GET and HEAD where no
   * contract route matches: what a process serves beside its methods.
   */
  endpoints?: Readonly<Record<string, HttpEndpoint>>;
}

/** A plain GET handler served beside the contract's routes (see HttpServerOptions.endpoints). */
export type HttpEndpoint = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;
export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 300_000;
export const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 5000;
export const DEFAULT_MAX_HEADER_BYTES = 16 * 1024;
export const DEFAULT_MAX_HEADERS_COUNT = 100;
export const DEFAULT_MAX_PIPELINED_REQUESTS = 100;
const HEALTHY = '{"status":"SERVING"}';

/**
 * The HTTP/REST server: routes requests by the methods' google.api.http rules (plus
 * `POST /<package>.<Service>/<Method>` for every method), binds path, query and JSON body to
 * the request message, runs the call on the ServiceHost and answers JSON, NDJSON or SSE.
 * `GET /healthz` answers `{"status":"SERVING"}` while the server runs (liveness).
 */
export class HttpServer implements ServerTransport {
  readonly name = 'http';
  readonly #host: ServiceHost;
  readonly #options: HttpServerOptions;
  readonly #calls = new Set<ServerCallContext>();
  readonly #env: CallEnvironment;
  readonly #limits: RequestLimits;
  /** Per connection: answers queued behind the one being written (pipelined requests). */
  readonly #queued = new WeakMap<Socket, number>();
  #router = new Router<HttpRoute>();
  #server: http.Server | https.Server | undefined;
  #closing = false;
  #closed: Promise<void> | undefined;
  #idle: (() => void) | undefined;
  #stopTlsWatch: (() => void) | undefined;

  constructor(host: ServiceHost, options: HttpServerOptions = {}) {
    this.#host = host;
    this.#options = options;
    this.#limits = requestLimits(options);
    const calls = this.#calls;
    this.#env = {
      maxBodyBytes: countOption(
        options.maxBodyBytes ?? options.maxMessageBytes,
        DEFAULT_MAX_BODY_BYTES,
        options.maxBodyBytes === undefined ? 'maxMessageBytes' : 'maxBodyBytes',
      ),
      calls: {
        add: (ctx) => calls.add(ctx),
        delete: (ctx) => {
          calls.delete(ctx);
          if (calls.size === 0) this.#idle?.();
        },
      },
    };
  }

  /** The address once listening. */
  get address(): ListenAddress | undefined {
    const address = this.#server?.address() as AddressInfo | null | undefined;
    return address ? { host: address.address, port: address.port } : undefined;
  }

  async listen(): Promise<ListenAddress> {
    if (this.#server) throw new Error('the HTTP server is already listening');
    this.#router = buildRouter(this.#host);
    const o = this.#options;
    const limits = this.#limits;
    const settings: http.ServerOptions = {
      headersTimeout: limits.headersTimeout,
      requestTimeout: limits.requestTimeout,
      keepAliveTimeout: limits.keepAliveTimeout,
      maxHeaderSize: limits.maxHeaderBytes,
      // How often Node checks those timeouts: often enough for them to mean what they say.
      connectionsCheckingInterval: checkingInterval(limits),
      noDelay: true,
    };
    const secure = o.tls ? serverTls(o.tls) : undefined;
    const server = secure
      ? https.createServer(
          { ...settings, ...secure.options, handshakeTimeout: handshakeTimeout(o) },
          this.#onRequest,
        )
      : http.createServer(settings, this.#onRequest);
    capConnections(server, o, 'the HTTP server');
    this.#server = server;
    if (secure) this.#stopTlsWatch = secure.watch(server as https.Server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return this.address as ListenAddress;
  }

  /**
   * Stops accepting connections, answers requests that still arrive on open ones with
   * UNAVAILABLE, lets calls in flight finish for `graceMs`, then cancels them and closes every
   * connection.
   */
  close(graceMs = 5000): Promise<void> {
    if (!this.#server) return Promise.resolve();
    this.#stopTlsWatch?.();
    this.#stopTlsWatch = undefined;
    this.#closed ??= this.#shutdown(this.#server, graceMs);
    return this.#closed;
  }

  async #shutdown(server: http.Server, graceMs: number): Promise<void> {
    this.#closing = true;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    if (this.#calls.size > 0 && graceMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        this.#idle = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    const shutdown = new StatusError(Status.UNAVAILABLE, 'the server is shutting down');
    for (const ctx of this.#calls) ctx.cancel(shutdown);
    await new Promise((resolve) => setImmediate(resolve)); // let cancelled calls write their answers
    server.closeAllConnections();
    await closed;
  }

  #endpoint(path: string): HttpEndpoint | undefined {
    const endpoints = this.#options.endpoints;
    return endpoints && Object.hasOwn(endpoints, path) ? endpoints[path] : undefined;
  }

  #serveEndpoint(endpoint: HttpEndpoint, req: IncomingMessage, res: ServerResponse): void {
    const failed = (err: unknown) =>
      res.headersSent
        ? res.destroy()
        : writeError(res, StatusError.from(err, Status.INTERNAL), { httpStatus: 500 });
    try {
      Promise.resolve(endpoint(req, res)).catch(failed);
    } catch (err) {
      failed(err);
    }
  }

  /**
   * Refuses (answered, false) a request over the header-count limit, or one over the pipelining
   * limit of its connection; counts the answers queued on the connection.
   */
  #admit(req: IncomingMessage, res: ServerResponse): boolean {
    const limits = this.#limits;
    if (req.rawHeaders.length > 2 * limits.maxHeadersCount) {
      closeAfterAnswer(req, res);
      writeError(
        res,
        new StatusError(
          Status.RESOURCE_EXHAUSTED,
          `more than ${limits.maxHeadersCount} request headers (maxHeadersCount)`,
        ),
        { httpStatus: 431 },
      );
      return false;
    }
    // Node gives a response the socket at once unless answers before it are still pending: only
    // pipelined requests cost anything here.
    if (res.socket) return true;
    const socket = req.socket;
    const queued = (this.#queued.get(socket) ?? 0) + 1;
    if (queued >= limits.maxPipelinedRequests) {
      req.resume(); // the body is not wanted: let it flow away instead of filling a buffer
      writeError(
        res,
        refusedStatus(
          Status.RESOURCE_EXHAUSTED,
          `more than ${limits.maxPipelinedRequests} requests waiting for answers on one connection (maxPipelinedRequests)`,
        ),
      );
      return false;
    }
    this.#queued.set(socket, queued);
    res.once('socket', () => this.#queued.set(socket, (this.#queued.get(socket) ?? 1) - 1));
    return true;
  }

  readonly #onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    if (!this.#admit(req, res)) return;
    let url = req.url ?? '/';
    if (url.charCodeAt(0) !== 47 /* "/" */) url = absoluteFormPath(url);
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const method = req.method ?? 'GET';
    if (this.#closing) {
      res.shouldKeepAlive = false;
      writeError(res, refusedStatus(Status.UNAVAILABLE, 'the server is shutting down'));
      return;
    }
    const found = this.#router.match(method, path);
    if (found.kind === 'found') {
      serveCall(this.#env, found.value, req, res, found.segments, q === -1 ? undefined : url.slice(q + 1));
    } else if (path === '/healthz' && (method === 'GET' || method === 'HEAD')) {
      writeJson(res, 200, HEALTHY);
    } else if ((method === 'GET' || method === 'HEAD') && this.#endpoint(path)) {
      this.#serveEndpoint(this.#endpoint(path)!, req, res);
    } else if (found.kind === 'wrong-method') {
      writeError(res, new StatusError(Status.UNIMPLEMENTED, `method ${method} is not allowed on ${path}`), {
        httpStatus: 405,
        extraHeaders: ['allow', found.allowed.join(', ')],
      });
    } else {
      writeError(res, new StatusError(Status.UNIMPLEMENTED, `no route for ${method} ${path}`), {
        httpStatus: 404,
      });
    }
  };
}

/** The request limits of HttpServerOptions, checked, with their defaults. */
interface RequestLimits {
  headersTimeout: number;
  requestTimeout: number;
  keepAliveTimeout: number;
  maxHeaderBytes: number;
  maxHeadersCount: number;
  maxPipelinedRequests: number;
}

function requestLimits(o: HttpServerOptions): RequestLimits {
  // Node takes whole milliseconds only.
  const ms = (value: number | undefined, fallback: number, name: string) =>
    Math.ceil(durationOption(value, fallback, name));
  const headersTimeout = ms(o.headersTimeoutMs, DEFAULT_HEADERS_TIMEOUT_MS, 'headersTimeoutMs');
  const requestTimeout = ms(o.requestTimeoutMs, DEFAULT_REQUEST_TIMEOUT_MS, 'requestTimeoutMs');
  return {
    headersTimeout,
    // Node refuses a request timeout shorter than the headers timeout; 0 (off) stays off.
    requestTimeout: requestTimeout === 0 ? 0 : Math.max(requestTimeout, headersTimeout),
    keepAliveTimeout: ms(o.keepAliveTimeoutMs, DEFAULT_KEEP_ALIVE_TIMEOUT_MS, 'keepAliveTimeoutMs'),
    maxHeaderBytes: countOption(o.maxHeaderBytes, DEFAULT_MAX_HEADER_BYTES, 'maxHeaderBytes'),
    maxHeadersCount: countOption(o.maxHeadersCount, DEFAULT_MAX_HEADERS_COUNT, 'maxHeadersCount'),
    maxPipelinedRequests: countOption(
      o.maxPipelinedRequests,
      DEFAULT_MAX_PIPELINED_REQUESTS,
      'maxPipelinedRequests',
    ),
  };
}

/** A quarter of the shortest timeout Node checks, from 50 ms to 30 s. */
function checkingInterval(limits: RequestLimits): number {
  const shortest = Math.min(limits.headersTimeout || Infinity, limits.requestTimeout || Infinity);
  return Math.max(50, Math.min(30_000, Math.floor(shortest / 4)));
}

/**
 * Every rule of every hosted method, then `POST /<package>.<Service>/<Method>` (whole body) for
 * each method where that route is still free: the path the client uses for request streams.
 */
export function buildRouter(host: ServiceHost): Router<HttpRoute> {
  const router = new Router<HttpRoute>();
  const fallbacks: HttpRoute[] = [];
  for (const service of host.services) {
    for (const descriptor of service.methods) {
      const hosted = host.lookup(descriptor.path);
      if (!hosted) continue;
      for (const rule of descriptor.httpRules) {
        router.add(rule.method, parsePathTemplate(rule.path), routeOf(hosted, rule));
      }
      fallbacks.push(routeOf(hosted, { method: 'POST', path: descriptor.path, body: '*', responseBody: '' }));
    }
  }
  for (const fallback of fallbacks) {
    const path = fallback.hosted.descriptor.path;
    if (router.match('POST', path).kind !== 'found') router.add('POST', parsePathTemplate(path), fallback);
  }
  return router;
}

function routeOf(hosted: HostedMethod, rule: HttpRule): HttpRoute {
  const { input, output } = hosted.descriptor;
  return {
    hosted,
    binder: new RequestBinder(input, rule, parsePathTemplate(rule.path)),
    respond: responseSelector(output, rule),
  };
}

/** "http://host/path?q" (absolute-form, as proxies send) to "/path?q". */
function absoluteFormPath(url: string): string {
  try {
    const parsed = new URL(url);
    return parsed.pathname + parsed.search;
  } catch {
    return '/';
  }
}
