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
import { RetryTimer } from '../retry-timer.ts';
import { ConsulAgentClient, type ConsulAgentOptions, refusal } from './agent-client.ts';
import { formatGoDuration } from './duration.ts';
import { healthEntryToInstance, instanceToConsul } from './mapping.ts';

export type ConsulRegistryOptions = ConsulAgentOptions;

/** How long one blocking query waits; well under undici's 300 s headers timeout. */
const BLOCKING_WAIT_MS = 60_000;
/** Retries of a failed blocking query: 250 ms, doubling up to 10 s. */
const WATCH_RETRY = { baseMs: 250, maxMs: 10_000 } as const;

/**
 * A registry on a Consul agent (a real one, or the hub's Consul-compatible API). An instance
 * is a Consul service with a TTL check that the lease passes every ttl/3; stop passing it and
 * the service turns critical after the ttl (so it leaves `?passing` lists) and is
 * deregistered one ttl later (Consul waits at least a minute). Mapping: ./mapping.ts.
 */
export class ConsulRegistry implements Registry {
  readonly kind = 'consul';
  readonly #client: ConsulAgentClient;
  readonly #held = new RegistryHoldings('the Consul registry is closed');

  constructor(options: ConsulRegistryOptions = {}) {
    this.#client = new ConsulAgentClient(options);
  }

  async register(instance: ServiceInstance, options: RegisterOptions = {}): Promise<Lease> {
    const valid = validateInstance(instance);
    const ttlMs = options.ttlMs ?? DEFAULT_LEASE_TTL_MS;
    if (!(ttlMs > 0)) throw new TypeError(`ttlMs: expected a positive number, got ${ttlMs}`);
    const fields = instanceToConsul(valid);
    const body = {
      ID: fields.id,
      Name: fields.name,
      Address: fields.address,
      Port: fields.port,
      Tags: fields.tags,
      Meta: fields.meta,
      Check: {
        Name: 'Switchboard lease',
        TTL: formatGoDuration(ttlMs),
        Status: 'passing',
        DeregisterCriticalServiceAfter: formatGoDuration(ttlMs),
      },
    };
    return registerWithHeartbeats(this.#held, valid, consulHeartbeats(this.#client, valid.id, body, ttlMs));
  }

  async list(service: string): Promise<ServiceInstance[]> {
    const { body } = await this.#client.json(healthPath(service), { query: { passing: '1' } });
    return instancesOf(body);
  }

  async services(): Promise<string[]> {
    const { body } = await this.#client.json('/v1/catalog/services');
    if (typeof body !== 'object' || body === null)
      throw new RegistryError('consul: catalog/services is not an object');
    return Object.keys(body);
  }

  watch(
    service: string,
    onChange: (instances: ServiceInstance[]) => void,
    onError?: (err: Error) => void,
  ): Watch {
    this.#held.assertOpen();
    return this.#held.watch(new ConsulWatch(this.#client, service, onChange, onError));
  }

  async close(): Promise<void> {
    // Best effort: a lease Consul did not hear the end of still runs out by itself.
    await this.#held.close();
  }
}

function healthPath(service: string): string {
  return `/v1/health/service/${encodeURIComponent(service)}`;
}

function instancesOf(body: unknown): ServiceInstance[] {
  if (!Array.isArray(body)) throw new RegistryError('consul: health/service did not answer a list');
  return body.map(healthEntryToInstance).filter((i): i is ServiceInstance => i !== undefined);
}

/** Consul's answers when it does not know the check: the agent lost the service. */
function lostCheck(status: number, text: string): boolean {
  return status === 404 || (status === 500 && /does not have associated TTL|Unknown check/i.test(text));
}

/**
 * The heartbeats of a Consul service: passing its TTL check `service:<id>` every ttl/3, and
 * registering it again (`body`) when the agent no longer knows the check.
 */
function consulHeartbeats(client: ConsulAgentClient, id: string, body: object, ttlMs: number): Heartbeats {
  const pass = `/v1/agent/check/pass/${encodeURIComponent(`service:${id}`)}`;
  const deregister = `/v1/agent/service/deregister/${encodeURIComponent(id)}`;
  return {
    intervalMs: () => ttlMs / 3,
    async renew() {
      const answer = await client.request('PUT', pass);
      if (lostCheck(answer.status, answer.text)) return false;
      if (answer.status < 200 || answer.status > 299) throw refusal('PUT', pass, answer);
      return true;
    },
    async register() {
      await client.expectOk('PUT', '/v1/agent/service/register', { body });
    },
    async remove() {
      const answer = await client.request('PUT', deregister);
      if (answer.status !== 404 && (answer.status < 200 || answer.status > 299)) {
        throw refusal('PUT', deregister, answer);
      }
    },
  };
}

/**
 * A blocking-query loop on /v1/health/service/<name>?passing, as Consul's docs describe it:
 * the index from the last answer, the index reset when it goes backwards or is not above
 * zero, exponential backoff on errors, and a pause when answers come back early unchanged.
 */
class ConsulWatch implements Watch {
  readonly #client: ConsulAgentClient;
  readonly #service: string;
  readonly #onChange: (instances: ServiceInstance[]) => void;
  readonly #onError: ((err: Error) => void) | undefined;
  readonly #stop = new AbortController();
  readonly #retry = new RetryTimer(WATCH_RETRY);

  constructor(
    client: ConsulAgentClient,
    service: string,
    onChange: (instances: ServiceInstance[]) => void,
    onError: ((err: Error) => void) | undefined,
  ) {
    this.#client = client;
    this.#service = service;
    this.#onChange = onChange;
    this.#onError = onError;
    void this.#run();
  }

  close(): void {
    this.#stop.abort();
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    let index = 0;
    let last: string | undefined;
    while (!signal.aborted) {
      const started = Date.now();
      try {
        const blocking = index > 0;
        const { index: answered, body } = await this.#client.json(healthPath(this.#service), {
          query: {
            passing: '1',
            index: blocking ? String(index) : undefined,
            wait: blocking ? formatGoDuration(BLOCKING_WAIT_MS) : undefined,
          },
          signal,
          timeoutMs: BLOCKING_WAIT_MS + BLOCKING_WAIT_MS / 16 + 10_000,
        });
        if (signal.aborted) return;
        const instances = instancesOf(body);
        this.#retry.succeeded();
        const key = JSON.stringify(instances);
        if (key !== last) {
          last = key;
          this.#push(instances);
        }
        const next = answered === undefined || answered <= 0 ? 1 : answered < index ? 0 : answered;
        if (next === index && Date.now() - started < 1000) await pause(1000, signal);
        index = next;
      } catch (err) {
        if (signal.aborted) return;
        this.#onError?.(err as Error);
        index = 0;
        last = undefined; // once back, push the current list again
        await pause(this.#retry.failed(), signal);
      }
    }
  }

  #push(instances: ServiceInstance[]): void {
    try {
      this.#onChange(instances);
    } catch (err) {
      this.#onError?.(err as Error);
    }
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    timer.unref();
    signal.addEventListener('abort', done, { once: true });
  });
}
