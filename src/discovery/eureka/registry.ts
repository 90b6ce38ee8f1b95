import { checkReservedMetadata } from '../address-mapping.ts';
import { type Heartbeats, registerWithHeartbeats } from '../heartbeat-lease.ts';
import { type ServiceInstance, validateInstance } from '../instance.ts';
import {
  DEFAULT_LEASE_TTL_MS,
  type Lease,
  type RegisterOptions,
  type Registry,
  RegistryError,
  type Watch,
} from '../registry.ts';
import { RegistryHoldings } from '../registry-holdings.ts';
import { EurekaHttp, refusal } from './http.ts';
import {
  detailsFor,
  EUREKA_CONVENTIONS,
  readEurekaInstance,
  SERVICE_METADATA_KEY,
  writeEurekaInstance,
} from './mapping.ts';
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
  readonly #held = new RegistryHoldings('the Eureka registry is closed');

  constructor(options: EurekaRegistryOptions = {}) {
    const url = options.url ?? process.env.EUREKA_URL ?? DEFAULT_EUREKA_URL;
    this.#http = new EurekaHttp(url, options.requestTimeoutMs ?? 5000);
    this.#watcher = new EurekaWatcher(this.#http, options.pollIntervalMs ?? 1000);
  }

  async register(instance: ServiceInstance, options: RegisterOptions = {}): Promise<Lease> {
    const valid = validateInstance(instance);
    checkReservedMetadata(valid, EUREKA_CONVENTIONS, [SERVICE_METADATA_KEY]);
    const ttlMs = options.ttlMs ?? DEFAULT_LEASE_TTL_MS;
    if (!(ttlMs > 0) || !Number.isFinite(ttlMs)) throw new TypeError('ttlMs: expected a positive number');
    return registerWithHeartbeats(this.#held, valid, eurekaHeartbeats(this.#http, valid, ttlMs));
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
    this.#held.assertOpen();
    return this.#watcher.watch(service, onChange, onError);
  }

  async close(): Promise<void> {
    this.#watcher.close();
    const [failed] = await this.#held.close();
    if (failed) throw failed;
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

/**
 * The heartbeats of a Eureka registration: `PUT /apps/<APP>/<id>` every ttl/3, and the whole
 * instance POSTed again when the server answers 404 (it no longer knows the instance).
 */
function eurekaHeartbeats(http: EurekaHttp, instance: ServiceInstance, ttlMs: number): Heartbeats {
  const appPath = `/apps/${encodeURIComponent(instance.service.toUpperCase())}`;
  const path = `${appPath}/${encodeURIComponent(instance.id)}`;
  const dirtyAt = Date.now();
  return {
    intervalMs: () => ttlMs / 3,
    async renew() {
      const renewal = `${path}?status=UP&lastDirtyTimestamp=${dirtyAt}`;
      const answer = await http.send('PUT', renewal);
      if (answer.status === 404) return false;
      if (answer.status < 200 || answer.status > 299) {
        throw refusal(`eureka PUT ${http.base}${renewal}`, answer);
      }
      return true;
    },
    async register() {
      const now = Date.now();
      const state = { status: 'UP', registeredAt: now, renewedAt: now, updatedAt: now, dirtyAt } as const;
      const body = { instance: writeEurekaInstance(instance, detailsFor(instance, ttlMs), state) };
      const answer = await http.send('POST', appPath, body);
      if (answer.status !== 204 && answer.status !== 200) {
        throw refusal(`eureka POST ${http.base}${appPath}`, answer);
      }
    },
    async remove() {
      const answer = await http.send('DELETE', path);
      if (answer.status !== 200 && answer.status !== 404) {
        throw refusal(`eureka DELETE ${http.base}${path}`, answer);
      }
    },
  };
}
