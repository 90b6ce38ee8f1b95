import { LineSplitter } from '../../transports/http/line-splitter.ts';
import { type SseEvent, SseParser } from '../../transports/http/sse.ts';
import { type ServiceInstance, validateInstance } from '../instance.ts';
import { RegistryError, type Watch } from '../registry.ts';
import { RetryTimer } from '../retry-timer.ts';
import { type HubHttp, MAX_HUB_ANSWER_BYTES, readText } from './hub-http.ts';

/** Reconnects start this soon and double up to the cap; a pushed event resets them. */
const RECONNECT = { baseMs: 100, maxMs: 5000 } as const;

/**
 * A pushed watch over the hub's event stream (`GET /api/v1/watch/<service>`). Events are cut
 * from the bytes as they come (a chunk may end anywhere, even inside a character). When the
 * stream drops, or falls silent longer than `idleMs` (the hub sends a comment every 15 s), the
 * watch reconnects with backoff; the hub then pushes the current list again.
 */
export class HubWatch implements Watch {
  readonly #http: HubHttp;
  readonly #service: string;
  readonly #onChange: (instances: ServiceInstance[]) => void;
  readonly #report: (err: Error) => void;
  readonly #idleMs: number;
  readonly #reconnect = new RetryTimer(RECONNECT);
  #abort = new AbortController();
  #closed = false;

  constructor(
    http: HubHttp,
    service: string,
    onChange: (instances: ServiceInstance[]) => void,
    report: (err: Error) => void,
    idleMs: number,
  ) {
    this.#http = http;
    this.#service = service;
    this.#onChange = onChange;
    this.#report = report;
    this.#idleMs = idleMs;
    void this.#connect();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#reconnect.cancel();
    this.#abort.abort();
  }

  async #connect(): Promise<void> {
    const abort = new AbortController();
    this.#abort = abort;
    try {
      const res = await this.#http.stream(
        this.#http.path('watch', this.#service),
        abort.signal,
        this.#idleMs,
      );
      if (res.statusCode !== 200) {
        const text = await readText(res.body, 64 * 1024);
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          body = undefined;
        }
        throw this.#http.refused('open the stream', { status: res.statusCode, body });
      }
      const lines = new LineSplitter(MAX_HUB_ANSWER_BYTES);
      const parser = new SseParser(MAX_HUB_ANSWER_BYTES);
      for await (const chunk of res.body) {
        for (const line of lines.push(chunk as Buffer)) {
          const event = parser.line(line);
          if (event) this.#event(event);
        }
      }
      throw new RegistryError(`hub at ${this.#http.url} ended the stream`);
    } catch (err) {
      abort.abort();
      if (this.#closed) return;
      const error = this.#http.unreachable(err);
      this.#report(
        new RegistryError(`watch of ${this.#service}: ${error.message}`, {
          status: error.status,
          cause: err,
        }),
      );
      this.#reconnect.retry(() => void this.#connect());
    }
  }

  #event(event: SseEvent): void {
    if (event.event !== 'instances' || this.#closed) return;
    let instances: ServiceInstance[];
    try {
      const data = JSON.parse(event.data) as { instances?: unknown } | null;
      if (!Array.isArray(data?.instances)) throw new Error('no instances array');
      // Checked as a registration is: callers index endpoints without looking twice.
      instances = data.instances.map((instance) => validateInstance(instance));
    } catch (err) {
      throw new RegistryError(`hub at ${this.#http.url} sent a malformed event: ${(err as Error).message}`);
    }
    this.#reconnect.succeeded();
    try {
      this.#onChange(instances);
    } catch (err) {
      this.#report(err instanceof Error ? err : new Error(String(err)));
    }
  }
}
