/**
 * A minimal HTTP client of a Consul agent's /v1 API (a real agent or the hub): the address and
 * token as Consul's own tools find them, every request under a deadline, failures of the
 * network as RegistryError.
 */
import { registryUrl } from '../http-url.ts';
import { RegistryError } from '../registry.ts';

export const DEFAULT_CONSUL_URL = 'http://127.0.0.1:8500';
const DEFAULT_TIMEOUT_MS = 10_000;

export interface ConsulAgentOptions {
  /** Default: $CONSUL_HTTP_ADDR ("host:port" or a URL), else http://127.0.0.1:8500. */
  url?: string;
  /** Sent as X-Consul-Token. Default: $CONSUL_HTTP_TOKEN. */
  token?: string;
}

export interface ConsulAnswer {
  status: number;
  /** X-Consul-Index, when the answer has one. */
  index: number | undefined;
  text: string;
}

export interface ConsulRequest {
  query?: Record<string, string | undefined>;
  body?: unknown;
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** The agent's base URL from options or Consul's environment variables. */
export function consulUrl(url: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const raw = url ?? env.CONSUL_HTTP_ADDR ?? DEFAULT_CONSUL_URL;
  const scheme = env.CONSUL_HTTP_SSL === 'true' ? 'https' : 'http';
  const withScheme = /^[a-z]+:\/\//i.test(raw) ? raw : `${scheme}://${raw}`;
  registryUrl(withScheme, 'consul', 'host:port or http(s)://host:port');
  return withScheme.replace(/\/+$/, '');
}

export class ConsulAgentClient {
  readonly url: string;
  readonly #token: string | undefined;

  constructor(options: ConsulAgentOptions = {}) {
    this.url = consulUrl(options.url);
    this.#token = options.token ?? process.env.CONSUL_HTTP_TOKEN;
  }

  /** Sends one request; resolves with any HTTP answer, rejects with RegistryError when none came. */
  async request(method: string, path: string, options: ConsulRequest = {}): Promise<ConsulAnswer> {
    const url = new URL(this.url + path);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, value);
    }
    const headers: Record<string, string> = {};
    if (this.#token) headers['x-consul-token'] = this.#token;
    let body: string | undefined;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] = 'application/json';
    }
    const deadline = AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
    try {
      const res = await fetch(url, { method, headers, body, signal });
      const text = await res.text();
      const index = Number(res.headers.get('x-consul-index') ?? Number.NaN);
      return { status: res.status, index: Number.isSafeInteger(index) ? index : undefined, text };
    } catch (err) {
      const why = deadline.aborted ? 'timed out' : (err as Error).message;
      throw new RegistryError(`consul ${method} ${path}: ${why}`, { cause: err });
    }
  }

  /** `request`, then a RegistryError for any answer but 2xx. */
  async expectOk(method: string, path: string, options: ConsulRequest = {}): Promise<ConsulAnswer> {
    const answer = await this.request(method, path, options);
    if (answer.status < 200 || answer.status > 299) throw refusal(method, path, answer);
    return answer;
  }

  /** `expectOk`, then the body as JSON. */
  async json(
    path: string,
    options: ConsulRequest = {},
  ): Promise<{ index: number | undefined; body: unknown }> {
    const answer = await this.expectOk('GET', path, options);
    try {
      return { index: answer.index, body: JSON.parse(answer.text) };
    } catch (err) {
      throw new RegistryError(`consul GET ${path}: the answer is not JSON`, { cause: err });
    }
  }
}

export function refusal(method: string, path: string, answer: ConsulAnswer): RegistryError {
  return new RegistryError(`consul ${method} ${path}: ${answer.status} ${answer.text.slice(0, 300)}`, {
    status: answer.status,
  });
}
