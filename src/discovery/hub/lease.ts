import type { ServiceInstance } from '../instance.ts';
import type { Lease } from '../registry.ts';
import type { HubHttp } from './hub-http.ts';

/** Retries after a failed heartbeat start this soon and double, up to ttl/3 or this cap. */
const RETRY_FIRST_MS = 100;
const RETRY_CAP_MS = 5000;

/** PUT /api/v1/instances; resolves with the ttl the hub granted. */
export async function putInstance(http: HubHttp, instance: ServiceInstance, ttlMs: number): Promise<number> {
  const answer = await http.json('PUT', http.path('instances'), { instance, ttlMs });
  if (answer.status !== 200) {
    throw http.refused(`register ${instance.id} of ${instance.service}`, answer);
  }
  const granted = (answer.body as { ttlMs?: unknown }).ttlMs;
  return typeof granted === 'number' && granted > 0 ? granted : ttlMs;
}

/**
 * A registration on the hub, kept alive by heartbeats every ttl/3. A 404 means the hub forgot
 * the instance (it restarted without its data, or the lease ran out while the network was
 * down): the lease registers it again. Network trouble goes to `report` and is retried with
 * backoff; nothing here ever throws into the event loop.
 */
export class HubLease implements Lease {
  readonly instance: ServiceInstance;
  readonly #http: HubHttp;
  readonly #requestedTtlMs: number;
  readonly #report: (err: Error) => void;
  readonly #done: () => void;
  #ttlMs: number;
  #timer: NodeJS.Timeout | undefined;
  #failures = 0;
  #over = false;
  #beating: Promise<void> | undefined;
  #deregistering: Promise<void> | undefined;

  constructor(
    http: HubHttp,
    instance: ServiceInstance,
    requestedTtlMs: number,
    grantedTtlMs: number,
    report: (err: Error) => void,
    done: () => void,
  ) {
    this.instance = instance;
    this.#http = http;
    this.#requestedTtlMs = requestedTtlMs;
    this.#ttlMs = grantedTtlMs;
    this.#report = report;
    this.#done = done;
    this.#schedule();
  }

  deregister(): Promise<void> {
    if (this.#deregistering) return this.#deregistering;
    const wasOver = this.#over;
    this.abandon();
    this.#deregistering = wasOver ? Promise.resolve() : this.#delete();
    return this.#deregistering;
  }

  abandon(): void {
    if (this.#over) return;
    this.#over = true;
    clearTimeout(this.#timer);
    this.#done();
  }

  async #delete(): Promise<void> {
    // A heartbeat in flight may register the instance again: the DELETE must come after it.
    await this.#beating;
    const { service, id } = this.instance;
    const answer = await this.#http.json('DELETE', this.#http.path('instances', service, id));
    if (answer.status !== 200 && answer.status !== 404) {
      throw this.#http.refused(`deregister ${id} of ${service}`, answer);
    }
  }

  #schedule(): void {
    if (this.#over) return;
    const normal = this.#ttlMs / 3;
    const delay =
      this.#failures === 0
        ? normal
        : Math.min(normal, RETRY_CAP_MS, RETRY_FIRST_MS * 2 ** (this.#failures - 1)) *
          (0.8 + Math.random() * 0.4);
    this.#timer = setTimeout(() => {
      this.#beating = this.#beat().finally(() => {
        this.#beating = undefined;
        this.#schedule();
      });
    }, delay);
    this.#timer.unref();
  }

  async #beat(): Promise<void> {
    const { service, id } = this.instance;
    try {
      const answer = await this.#http.json('PUT', this.#http.path('instances', service, id, 'heartbeat'));
      if (answer.status === 404) {
        if (this.#over) return;
        this.#ttlMs = await putInstance(this.#http, this.instance, this.#requestedTtlMs);
      } else if (answer.status !== 200) {
        throw this.#http.refused(`renew the lease of ${id} of ${service}`, answer);
      }
      this.#failures = 0;
    } catch (err) {
      this.#failures++;
      if (!this.#over) this.#report(this.#http.unreachable(err));
    }
  }
}
