import { registerWithHeartbeats } from '../heartbeat-lease.ts';
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
import { HubHttp, type HubTlsOptions } from './hub-http.ts';
import { hubHeartbeats } from './lease.ts';
import { HubWatch } from './watch.ts';

export interface HubRegistryOptions {
  /** The hub; `$SWITCHBOARD_HUB`, else http://127.0.0.1:7070. A path prefix is kept. */
  url?: string;
  /**
   * Trouble met in the background (a heartbeat that failed, a watch that dropped, a lease that
   * could not be removed on close); the registry keeps trying either way. Ignored unless set;
   * a watch's own onError wins for that watch.
   */
  onError?: (err: Error) => void;
  /** Each request to the hub fails after this long. 10 s unless set. */
  requestTimeoutMs?: number;
  /**
   * Sent as `Authorization: Bearer <token>` to a hub with an access policy
   * (docs/security.md#hub-access). `$SWITCHBOARD_TOKEN` unless set.
   */
  token?: string;
  /** TLS to an https:// hub: its CA, and this service's certificate for mutual TLS (inline or files). */
  tls?: HubTlsOptions;
  /** A watch stream silent this long (the hub sends a comment every 15 s) is reopened. 45 s unless set. */
  watchIdleMs?: number;
}

export const DEFAULT_HUB_URL = 'http://127.0.0.1:7070';

/**
 * The hub as a Registry: Switchboard's own API (`/api/v1/`) on the embedded hub
 * (`switchboard hub`, or a HubServer in process). Registrations are leases kept alive by
 * heartbeats; watches are server-sent event streams.
 */
export class HubRegistry implements Registry {
  readonly kind = 'hub';
  readonly #http: HubHttp;
  readonly #onError: ((err: Error) => void) | undefined;
  readonly #watchIdleMs: number;
  readonly #held: RegistryHoldings;

  constructor(options: HubRegistryOptions = {}) {
    const url = options.url ?? process.env.SWITCHBOARD_HUB ?? DEFAULT_HUB_URL;
    this.#http = new HubHttp(
      url,
      options.requestTimeoutMs ?? 10_000,
      options.token ?? (process.env.SWITCHBOARD_TOKEN || undefined),
      options.tls,
    );
    this.#onError = options.onError;
    this.#watchIdleMs = options.watchIdleMs ?? 45_000;
    this.#held = new RegistryHoldings(`the registry of hub ${this.#http.url} is closed`);
  }

  /** The hub this registry talks to. */
  get url(): string {
    return this.#http.url;
  }

  async register(instance: ServiceInstance, options: RegisterOptions = {}): Promise<Lease> {
    const valid = validateInstance(instance);
    const ttlMs = options.ttlMs ?? DEFAULT_LEASE_TTL_MS;
    const report = (err: Error) => this.#report(err);
    return registerWithHeartbeats(this.#held, valid, hubHeartbeats(this.#http, valid, ttlMs, report));
  }

  async list(service: string): Promise<ServiceInstance[]> {
    this.#held.assertOpen();
    const answer = await this.#http.json('GET', this.#http.path('services', service));
    if (answer.status !== 200) throw this.#http.refused(`list ${service}`, answer);
    const instances = (answer.body as { instances?: unknown } | undefined)?.instances;
    if (!Array.isArray(instances)) throw this.#malformed(`list ${service}`);
    try {
      return instances.map((instance) => validateInstance(instance));
    } catch (err) {
      throw this.#malformed(`list ${service}`, err);
    }
  }

  async services(): Promise<string[]> {
    this.#held.assertOpen();
    const answer = await this.#http.json('GET', this.#http.path('services'));
    if (answer.status !== 200) throw this.#http.refused('list services', answer);
    const services = (answer.body as { services?: unknown } | undefined)?.services;
    if (!Array.isArray(services)) throw this.#malformed('list services');
    return (services as { name?: unknown; instances?: unknown }[])
      .filter((s) => typeof s.name === 'string' && typeof s.instances === 'number' && s.instances > 0)
      .map((s) => s.name as string);
  }

  watch(
    service: string,
    onChange: (instances: ServiceInstance[]) => void,
    onError?: (err: Error) => void,
  ): Watch {
    this.#held.assertOpen();
    const report = onError ? (err: Error) => safely(onError, err) : (err: Error) => this.#report(err);
    return this.#held.watch(new HubWatch(this.#http, service, onChange, report, this.#watchIdleMs));
  }

  /** Deregisters the leases still held (failures go to onError), ends watches, closes connections. */
  async close(): Promise<void> {
    if (this.#held.closed) return;
    for (const err of await this.#held.close()) this.#report(this.#http.unreachable(err));
    await this.#http.close();
  }

  #malformed(what: string, cause?: unknown): RegistryError {
    const detail = cause instanceof Error ? `: ${cause.message}` : '';
    return new RegistryError(`hub at ${this.#http.url} answered ${what} with an unexpected body${detail}`);
  }

  #report(err: Error): void {
    if (this.#onError) safely(this.#onError, err);
  }
}

/** A callback of the caller must not break the heartbeat or the watch that reports to it. */
function safely(callback: (err: Error) => void, err: Error): void {
  try {
    callback(err);
  } catch {
    // Nothing sensible to do with an error thrown by an error handler.
  }
}
