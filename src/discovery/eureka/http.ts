import { registryUrl } from '../http-url.ts';
import { RegistryError } from '../registry.ts';

/** The largest answer read from a Eureka server; a full registry of thousands of instances fits. */
const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

export interface EurekaAnswer {
  readonly status: number;
  readonly text: string;
}

/**
 * Requests to one Eureka server in JSON, each with a timeout. Network failures, oversized
 * answers and malformed JSON become RegistryErrors that say which request failed.
 */
export class EurekaHttp {
  readonly #base: string;
  readonly #timeoutMs: number;

  /** `base` includes Eureka's prefix: "http://host:8761/eureka" or ".../eureka/v2". */
  constructor(base: string, timeoutMs: number) {
    registryUrl(base, 'eureka', 'http(s)://host:port/eureka');
    this.#base = base.replace(/\/+$/, '');
    this.#timeoutMs = timeoutMs;
  }

  get base(): string {
    return this.#base;
  }

  async send(method: string, path: string, body?: unknown): Promise<EurekaAnswer> {
    const where = `eureka ${method} ${this.#base}${path}`;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    try {
      const res = await fetch(this.#base + path, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      return { status: res.status, text: await readCapped(res, where) };
    } catch (err) {
      if (err instanceof RegistryError) throw err;
      const reason =
        (err as Error).name === 'TimeoutError' ? `no answer in ${this.#timeoutMs} ms` : describe(err);
      throw new RegistryError(`${where}: ${reason}`, { cause: err });
    }
  }

  /** GETs JSON: undefined for 404, a RegistryError for any other non-200 answer. */
  async getJson(path: string): Promise<unknown> {
    const answer = await this.send('GET', path);
    if (answer.status === 404) return undefined;
    if (answer.status !== 200) throw refusal(`eureka GET ${this.#base}${path}`, answer);
    try {
      return JSON.parse(answer.text);
    } catch (err) {
      throw new RegistryError(`eureka GET ${this.#base}${path}: malformed JSON: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
}

export function refusal(where: string, answer: EurekaAnswer): RegistryError {
  const text = answer.text.length > 200 ? `${answer.text.slice(0, 200)}…` : answer.text;
  return new RegistryError(`${where}: HTTP ${answer.status}${text ? ` ${text}` : ''}`, {
    status: answer.status,
  });
}

async function readCapped(res: Response, where: string): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? Number.NaN);
  if (declared > MAX_RESPONSE_BYTES) {
    await res.body?.cancel();
    throw new RegistryError(`${where}: answer of ${declared} bytes exceeds ${MAX_RESPONSE_BYTES}`);
  }
  if (!res.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += chunk.length;
    // Leaving the loop cancels the stream.
    if (size > MAX_RESPONSE_BYTES) break;
    chunks.push(chunk);
  }
  if (size > MAX_RESPONSE_BYTES) {
    throw new RegistryError(`${where}: answer exceeds ${MAX_RESPONSE_BYTES} bytes`);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function describe(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message;
}
