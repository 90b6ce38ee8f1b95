import { type ServiceInstance, validateInstance } from '../instance.ts';
import {
  DEFAULT_LEASE_TTL_MS,
  type Lease,
  type RegisterOptions,
  type Registry,
  RegistryError,
  type Watch,
} from '../registry.ts';
import { EurekaHttp, refusal } from './http.ts';
import { detailsFor, RESERVED_METADATA_KEYS, readEurekaInstance, writeEurekaInstance } from './mapping.ts';
import { EurekaWatcher } from './watcher.ts';
import { isObject, readApplication, readApplications } from './wire.ts';

export interface EurekaRegistryOptions {
  /**
   * The Eureka server's base URL including its prefix: "http://host:8761/eureka" (Spring Cloud
   * Netflix, the hub) or "http://host:8080/eureka/v2" (Netflix's war). Default: the EUREKA_URL
   * environment variable, else http://127.0.0.1:8761/eureka.
   */
  url?: string;
  /**
   * How often watches fetch changes (`/apps/delta`). Default 1000 ms, fit for the hub; Netflix
   * Eureka refreshes its own answers only every 30 s, so 5–30 s is enough against it.
   */
  pollIntervalMs?: number;
  /** Per-request timeout. Default 5000 ms. */
  requestTimeoutMs?: number;
}

export const DEFAULT_EUREKA_URL = 'http://127.0.0.1:8761/eureka';

/**
 * A client of a Eureka server (Netflix Eureka, Spring Cloud's, or the hub's Eureka API):
 * registers with a lease kept by heartbeats every ttl/3, lists and watches through Eureka's
 * REST API. Instances map to Eureka instances as src/discovery/eureka/mapping.ts describes;
 * only instances whose status is UP are listed.
 */
export class EurekaRegistry implements Registry {
  readonly kind = 'eureka';
  readonly #http: EurekaHttp;
  readonly #watcher: EurekaWatcher;
  readonly #leases = new Set<EurekaLease>();

  constructor(options: EurekaRegistryOptions = {}) {
    const url = options.url ?? process.env.EUREKA_URL ?? DEFAULT_EUREKA_URL;
    this.#http = new EurekaHttp(url, options.requestTimeoutMs ?? 5000);
    this.#watcher = new EurekaWatcher(this.#http, options.pollIntervalMs ?? 1000);
  }

  async register(instance: ServiceInstance, options: RegisterOptions = {}): Promise<Lease> {
    const valid = validateInstance(instance);
    for (const key of RESERVED_METADATA_KEYS) {
      if (Object.hasOwn(valid.metadata, key)) {
        throw new TypeError(
          `metadata.${key}: reserved, Eureka carries the instance's ${key.replace('switchboard-', '')} in it`,
        );
      }
    }
    const ttlMs = options.ttlMs ?? DEFAULT_LEASE_TTL_MS;
    if (!(ttlMs > 0) || !Number.isFinite(ttlMs)) throw new TypeError('ttlMs: expected a positive number');
    const lease = new EurekaLease(this.#http, valid, ttlMs, () => this.#leases.delete(lease));
    await lease.register();
    lease.start();
    this.#leases.add(lease);
    return lease;
  }

  async list(service: string): Promise<ServiceInstance[]> {
    const body = await this.#http.getJson(`/apps/${encodeURIComponent(service.toUpperCase())}`);
    if (body === undefined) return [];
    if (!isObject(body))
      throw new RegistryError(`eureka GET /apps/${service}: expected {"application": ...}`);
    return upInstances(readOrFail(() => readApplication(body.application).instances, service));
  }

  async services(): Promise<string[]> {
    const body = await this.#http.getJson('/apps');
    if (body === undefined) return [];
    const names = new Set<string>();
    for (const app of readOrFail(() => readApplications(body), 'apps')) {
      for (const instance of upInstances(app.instances)) names.add(instance.service);
    }
    return [...names];
  }

  watch(
    service: string,
    onChange: (instances: ServiceInstance[]) => void,
    onError?: (err: Error) => void,
  ): Watch {
    return this.#watcher.watch(service, onChange, onError);
  }

  async close(): Promise<void> {
    this.#watcher.close();
    const results = await Promise.allSettled([...this.#leases].map((lease) => lease.deregister()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}

/** The UP instances that map to ServiceInstances; others (foreign, malformed) are left out. */
function upInstances(raw: unknown[]): ServiceInstance[] {
  const out: ServiceInstance[] = [];
  for (const item of raw) {
    if (!isObject(item) || String(item.status ?? 'UP').toUpperCase() !== 'UP') continue;
    try {
      out.push(readEurekaInstance(item).instance);
    } catch {
      // Not every Eureka instance is something Switchboard can call.
    }
  }
  return out;
}

function readOrFail<T>(read: () => T, what: string): T {
  try {
    return read();
  } catch (err) {
    throw new RegistryError(`eureka ${what}: unreadable answer: ${(err as Error).message}`, { cause: err });
  }
}

class EurekaLease implements Lease {
  readonly instance: ServiceInstance;
  readonly #http: EurekaHttp;
  readonly #ttlMs: number;
  readonly #done: () => void;
  readonly #path: string;
  readonly #dirtyAt = Date.now();
  #timer: NodeJS.Timeout | undefined;
  #beat: Promise<void> | undefined;
  #over = false;

  constructor(http: EurekaHttp, instance: ServiceInstance, ttlMs: number, done: () => void) {
    this.instance = instance;
    this.#http = http;
    this.#ttlMs = ttlMs;
    this.#done = done;
    const app = encodeURIComponent(instance.service.toUpperCase());
    this.#path = `/apps/${app}/${encodeURIComponent(instance.id)}`;
  }

  async register(): Promise<void> {
    const now = Date.now();
    const body = {
      instance: writeEurekaInstance(this.instance, detailsFor(this.instance, this.#ttlMs), {
        status: 'UP',
        registeredAt: now,
        renewedAt: now,
        updatedAt: now,
        dirtyAt: this.#dirtyAt,
      }),
    };
    const path = this.#path.slice(0, this.#path.lastIndexOf('/'));
    const answer = await this.#http.send('POST', path, body);
    if (answer.status !== 204 && answer.status !== 200) {
      throw refusal(`eureka POST ${this.#http.base}${path}`, answer);
    }
  }

  start(): void {
    this.#timer = setInterval(() => {
      if (!this.#beat) this.#beat = this.#heartbeat().finally(() => (this.#beat = undefined));
    }, this.#ttlMs / 3);
    this.#timer.unref();
  }

  /** Renews the lease; registers again when the server no longer knows the instance. */
  async #heartbeat(): Promise<void> {
    try {
      const query = `?status=UP&lastDirtyTimestamp=${this.#dirtyAt}`;
      const answer = await this.#http.send('PUT', this.#path + query);
      if (answer.status === 404 && !this.#over) await this.register();
    } catch {
      // The next heartbeat tries again; the lease outlives a few missed ones.
    }
  }

  async deregister(): Promise<void> {
    if (this.#over) return;
    this.abandon();
    // A heartbeat in flight could register the instance again after the DELETE.
    await this.#beat;
    const answer = await this.#http.send('DELETE', this.#path);
    if (answer.status !== 200 && answer.status !== 404) {
      throw refusal(`eureka DELETE ${this.#http.base}${this.#path}`, answer);
    }
  }

  abandon(): void {
    this.#over = true;
    clearInterval(this.#timer);
    this.#done();
  }
}
