import { Readable } from 'node:stream';
import { buildConnector, Pool } from 'undici';
import type { MessageType, MethodDescriptor } from '../../contract/descriptors.ts';
import { StatusError } from '../../contract/errors.ts';
import { Status } from '../../contract/status.ts';
import type { ClientTransport, OutgoingCall } from '../../core/transport.ts';
import { clientTlsMaterial } from '../tls/client-tls.ts';
import { hasTlsFiles, type TlsFiles } from '../tls/tls-files.ts';
import { deadlineHeaders } from './call-guard.ts';
import { requestHeaders } from './headers.ts';
import { JSON_CONTENT_TYPE, NDJSON_CONTENT_TYPE } from './media-types.ts';
import { RequestEncoder, responseReader } from './request-encoding.ts';
import { StreamExchange } from './stream-exchange.ts';
import { UnaryExchange } from './unary-exchange.ts';

export interface HttpClientTlsOptions extends TlsFiles {
  /** CA certificates to trust instead of the system's. */
  ca?: string | Buffer;
  /** A client certificate and its key, for servers that ask for one. */
  cert?: string | Buffer;
  key?: string | Buffer;
  servername?: string;
  rejectUnauthorized?: boolean;
  /** Trouble with changed files (the last good ones stay in use): a process warning unless set. */
  onTlsFileError?: (err: Error) => void;
}

export interface HttpClientOptions {
  /** "http://host:port" (a path prefix is kept: "http://gw/api" calls "/api/v1/…"). */
  baseUrl?: string;
  /** "host:port", or a URL; used when baseUrl is not set. */
  target?: string;
  /** Use HTTPS (also implied by an https:// URL). */
  tls?: HttpClientTlsOptions;
  /** Largest response body, and largest message of a response stream; 4 MiB unless set. */
  maxResponseBytes?: number;
  /** The same limit under the name every transport's options use; maxResponseBytes wins. */
  maxMessageBytes?: number;
  /** Keep-alive connections to open at most (one call each at a time); 32 unless set. */
  connections?: number;
}

interface MethodPlan {
  readonly encoder: RequestEncoder;
  readonly decode: (json: unknown) => unknown;
}

const DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

/**
 * The HTTP/REST client: each call uses its method's first google.api.http rule (path
 * variables from the request, JSON body, query parameters), over a pool of keep-alive
 * HTTP/1.1 connections (undici, no pipelining). Metadata travels as headers, the deadline as
 * `grpc-timeout` and `x-timeout-ms`. Response JSON is read leniently (unknown fields ignored),
 * so a server in another language may answer more than the contract says.
 */
export class HttpClientTransport implements ClientTransport {
  readonly name = 'http';
  /** "http://host:port" */
  readonly origin: string;
  readonly #prefix: string;
  readonly #pool: Pool;
  readonly #maxBytes: number;
  readonly #plans = new Map<MethodDescriptor, MethodPlan>();

  constructor(options: HttpClientOptions) {
    const url = baseUrlOf(options);
    this.origin = url.origin;
    this.#prefix = url.pathname.replace(/\/+$/, '');
    this.#maxBytes = options.maxResponseBytes ?? options.maxMessageBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    const tls = options.tls;
    this.#pool = new Pool(this.origin, {
      connections: options.connections ?? 32,
      pipelining: 1,
      // The call's deadline bounds every wait; undici's own timers would only cut long streams.
      headersTimeout: 0,
      bodyTimeout: 0,
      connect: tls ? tlsConnect(tls) : undefined,
    });
  }

  unary(call: OutgoingCall, request: unknown): Promise<unknown> {
    let plan: MethodPlan;
    let path: string;
    let body: string | undefined;
    try {
      plan = this.#plan(call.method);
      ({ path, body } = plan.encoder.encode(request));
    } catch (err) {
      return Promise.reject(StatusError.from(err, Status.INTERNAL));
    }
    if (call.deadline <= Date.now()) {
      return Promise.reject(
        new StatusError(Status.DEADLINE_EXCEEDED, 'deadline exceeded before the call started'),
      );
    }
    const headers = this.#headers(call, JSON_CONTENT_TYPE, body !== undefined);
    return new Promise((resolve, reject) => {
      const exchange = new UnaryExchange(call, plan.decode, this.#maxBytes, resolve, reject);
      this.#pool.dispatch(
        { path: this.#prefix + path, method: plan.encoder.rule.method, headers, body: body ?? null },
        exchange,
      );
    });
  }

  stream(call: OutgoingCall, requests: unknown): AsyncIterable<unknown> {
    return { [Symbol.asyncIterator]: () => this.#startStream(call, requests) };
  }

  /**
   * Waits for calls in flight, then closes every connection; calls still running after
   * `graceMs` (a response stream nobody reads to the end…) are aborted.
   */
  async close(graceMs = 5000): Promise<void> {
    const pool = this.#pool;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(() => resolve(pool.destroy()), graceMs);
    });
    try {
      await Promise.race([pool.close(), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  #startStream(call: OutgoingCall, requests: unknown): AsyncIterator<unknown> {
    let plan: MethodPlan;
    let path: string;
    let body: string | Readable | undefined;
    try {
      plan = this.#plan(call.method);
      if (call.method.requestStream) {
        path = plan.encoder.rule.path;
        body = Readable.from(ndjsonBody(requests, call.method.input), { objectMode: false });
      } else {
        ({ path, body } = plan.encoder.encode(requests));
      }
    } catch (err) {
      return failed(StatusError.from(err, Status.INTERNAL));
    }
    const accept = call.method.responseStream ? NDJSON_CONTENT_TYPE : JSON_CONTENT_TYPE;
    const contentType = call.method.requestStream ? NDJSON_CONTENT_TYPE : JSON_CONTENT_TYPE;
    const headers = this.#headers(call, accept, body !== undefined, contentType);
    const exchange = new StreamExchange(call, plan.decode, this.#maxBytes);
    this.#pool.dispatch(
      { path: this.#prefix + path, method: plan.encoder.rule.method, headers, body: body ?? null },
      exchange,
    );
    return exchange;
  }

  #plan(method: MethodDescriptor): MethodPlan {
    let plan = this.#plans.get(method);
    if (!plan) {
      const encoder = RequestEncoder.forMethod(method);
      plan = { encoder, decode: responseReader(method.output, encoder.rule) };
      this.#plans.set(method, plan);
    }
    return plan;
  }

  #headers(
    call: OutgoingCall,
    accept: string,
    hasBody: boolean,
    contentType = JSON_CONTENT_TYPE,
  ): Record<string, string | string[]> {
    const base: Record<string, string> = { accept };
    if (hasBody) base['content-type'] = contentType;
    deadlineHeaders(call.deadline, base);
    return call.metadata.size === 0 ? base : requestHeaders(call.metadata, base);
  }
}

/** A request stream as NDJSON: one JSON message per line. */
async function* ndjsonBody(requests: unknown, type: MessageType): AsyncGenerator<Buffer> {
  try {
    for await (const message of requests as AsyncIterable<unknown>) {
      yield Buffer.from(`${JSON.stringify(type.toJson(message as Record<string, unknown>))}\n`);
    }
  } catch (err) {
    // The caller's request source failed: the call is over from the caller's side.
    throw StatusError.from(err, Status.CANCELLED);
  }
}

function failed(err: StatusError): AsyncIterator<unknown> {
  return {
    next: () => Promise.reject(err),
    return: () => Promise.resolve({ done: true, value: undefined }),
  };
}

/**
 * undici's connect options: fixed inline material, or, with files, a connector that takes the
 * files' current material for each new connection (rotated certificates, no new pool).
 */
function tlsConnect(tls: HttpClientTlsOptions): buildConnector.BuildOptions | buildConnector.connector {
  const fixed = { servername: tls.servername, rejectUnauthorized: tls.rejectUnauthorized };
  if (!hasTlsFiles(tls)) return { ...fixed, ca: tls.ca, cert: tls.cert, key: tls.key };
  const material = clientTlsMaterial(tls);
  return (options, callback) => buildConnector({ ...fixed, ...material() })(options, callback);
}

function baseUrlOf(options: HttpClientOptions): URL {
  const raw = options.baseUrl ?? options.target;
  if (!raw) throw new TypeError('HttpClientTransport needs a baseUrl or a target');
  const scheme = options.tls ? 'https' : 'http';
  try {
    return new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `${scheme}://${raw}`);
  } catch {
    throw new TypeError(`invalid HTTP target ${JSON.stringify(raw)}`);
  }
}
