import { buildConnector, Pool } from 'undici';
import { type ClientTlsMaterialOptions, clientTlsMaterial } from '../../transports/tls/client-tls.ts';
import { registryUrl } from '../http-url.ts';
import { RegistryError } from '../registry.ts';

/** An answer of the hub: its status and its JSON body (undefined when the body is not JSON). */
export interface HubAnswer {
  status: number;
  body: unknown;
}

/** TLS to an https:// hub: the CA to trust and, for mutual TLS, a client certificate (inline or files). */
export interface HubTlsOptions extends ClientTlsMaterialOptions {
  servername?: string;
}

/** Each new connection takes the files' current material: rotated certificates need no new registry. */
function hubConnector(tls: HubTlsOptions): buildConnector.connector {
  const material = clientTlsMaterial(tls);
  return (options, callback) =>
    buildConnector({ servername: tls.servername, ...material() })(options, callback);
}

/** Largest answer read from the hub, whole or as one watch event. */
export const MAX_HUB_ANSWER_BYTES = 64 * 1024 * 1024;

/**
 * The HTTP side of a HubRegistry: keep-alive connections to one hub (undici), paths built from
 * URL-encoded segments, and errors worded for people ("hub at http://…: connection refused").
 */
export class HubHttp {
  /** The hub as given, for messages. */
  readonly url: string;
  readonly #prefix: string;
  readonly #pool: Pool;
  readonly #timeoutMs: number;
  /** `Authorization` on every request, when the hub wants a token. */
  readonly #auth: Record<string, string>;

  constructor(url: string, timeoutMs: number, token?: string, tls?: HubTlsOptions) {
    this.#auth = token ? { authorization: `Bearer ${token}` } : {};
    const parsed = registryUrl(url, 'hub', 'http://host:port');
    this.url = url.replace(/\/+$/, '');
    this.#prefix = parsed.pathname.replace(/\/+$/, '');
    this.#timeoutMs = timeoutMs;
    // Paths go to the pool as they are: a URL parser would resolve "." and ".." segments.
    this.#pool = new Pool(parsed.origin, {
      pipelining: 1,
      headersTimeout: 0,
      bodyTimeout: 0,
      connect: tls && hubConnector(tls),
    });
  }

  /** `/api/v1/<segments…>`, each segment URL-encoded (service names hold dots and slashes). */
  path(...segments: string[]): string {
    return `${this.#prefix}/api/v1/${segments.map(encodeURIComponent).join('/')}`;
  }

  /** One request with a JSON answer; rejects with a RegistryError when the hub cannot be reached. */
  async json(method: 'GET' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<HubAnswer> {
    const signal = AbortSignal.timeout(this.#timeoutMs);
    try {
      const res = await this.#pool.request({
        method,
        path,
        signal,
        headers: {
          ...this.#auth,
          ...(body === undefined ? { accept: 'application/json' } : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? null : JSON.stringify(body),
      });
      const text = await readText(res.body, MAX_HUB_ANSWER_BYTES);
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      return { status: res.statusCode, body: parsed };
    } catch (err) {
      throw this.unreachable(signal.aborted ? new Error(`no answer within ${this.#timeoutMs} ms`) : err);
    }
  }

  /** A streaming GET (a watch); the caller reads and ends the body. */
  stream(path: string, signal: AbortSignal, idleMs: number) {
    return this.#pool.request({
      method: 'GET',
      path,
      signal,
      headers: { ...this.#auth, accept: 'text/event-stream' },
      headersTimeout: this.#timeoutMs,
      bodyTimeout: idleMs,
    });
  }

  /** "hub at http://…: connection refused", with the original error as the cause. */
  unreachable(err: unknown): RegistryError {
    if (err instanceof RegistryError) return err;
    return new RegistryError(`hub at ${this.url}: ${describe(err)}`, { cause: err });
  }

  /** The hub answered, but not with success: its status and error text. */
  refused(what: string, answer: HubAnswer): RegistryError {
    const body = answer.body as { error?: unknown } | undefined;
    const reason = typeof body?.error === 'string' ? body.error : 'no reason given';
    return new RegistryError(`hub at ${this.url} refused to ${what}: ${answer.status} ${reason}`, {
      status: answer.status,
    });
  }

  async close(): Promise<void> {
    await this.#pool.destroy();
  }
}

/** The body as text, refusing more than `limit` bytes. */
export async function readText(body: AsyncIterable<Buffer>, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit) throw new Error(`the hub answered more than ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

const WORDS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found (DNS lookup failed)',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_SOCKET: 'connection lost',
  UND_ERR_CLOSED: 'connection closed',
  UND_ERR_BODY_TIMEOUT: 'the hub went silent',
  UND_ERR_HEADERS_TIMEOUT: 'no answer in time',
};

function describe(err: unknown): string {
  const e = err as { code?: string; message?: string; errors?: { code?: string }[]; cause?: unknown };
  // Several addresses tried (localhost as ::1 and 127.0.0.1): an AggregateError of the same kind.
  const code = e?.code ?? e?.errors?.find((x) => x.code)?.code;
  if (code && WORDS[code]) return WORDS[code];
  if (e?.cause) return describe(e.cause);
  return e?.message || String(err);
}
