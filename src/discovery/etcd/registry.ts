import { Etcd3 } from 'etcd3';
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
import { EtcdLease } from './lease.ts';
import {
  decodeInstance,
  encodeInstance,
  instanceKey,
  parseKey,
  serviceKeyPrefix,
} from './stored-instance.ts';
import { EtcdWatch } from './watch.ts';

export interface EtcdRegistryOptions {
  /** etcd endpoints, "host:port" or "http://host:port". Default "127.0.0.1:2379". */
  hosts?: string | string[];
  /** Key prefix of the registry. Default "/switchboard/services". */
  prefix?: string;
  /** Deadline of each unary request (not of watches and keepalive streams). Default 10 s. */
  requestTimeoutMs?: number;
  /** A client to use instead of one of our own; `close()` leaves it open. */
  client?: Etcd3;
}

/**
 * Service discovery on etcd v3: `<prefix>/<service>/<id>` holds the instance as JSON, put with
 * a lease of ceil(ttl / 1 s) seconds that the client keeps alive.
 */
export class EtcdRegistry implements Registry {
  readonly kind = 'etcd';
  readonly #client: Etcd3;
  readonly #ownClient: boolean;
  readonly #prefix: string;
  readonly #held = new RegistryHoldings('the etcd registry is closed');

  constructor(options: EtcdRegistryOptions = {}) {
    const prefix = options.prefix ?? '/switchboard/services';
    if (prefix.length === 0 || prefix.endsWith('/')) {
      throw new TypeError(
        `prefix ${JSON.stringify(prefix)}: expected a non-empty prefix without a trailing "/"`,
      );
    }
    this.#prefix = prefix;
    const timeoutMs = options.requestTimeoutMs ?? 10_000;
    this.#ownClient = options.client === undefined;
    this.#client =
      options.client ??
      new Etcd3({
        hosts: options.hosts ?? '127.0.0.1:2379',
        // Streams (watches, keepalives) live on; every other call gets a deadline.
        defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + timeoutMs }),
      });
  }

  async register(instance: ServiceInstance, options: RegisterOptions = {}): Promise<Lease> {
    const valid = validateInstance(instance);
    this.#held.assertOpen();
    const ttlSeconds = Math.max(1, Math.ceil((options.ttlMs ?? DEFAULT_LEASE_TTL_MS) / 1000));
    const key = instanceKey(this.#prefix, valid.service, valid.id);
    const lease = new EtcdLease(this.#client, valid, key, encodeInstance(valid), ttlSeconds, () =>
      this.#held.release(lease),
    );
    try {
      await lease.start();
    } catch (err) {
      void lease.deregister();
      throw new RegistryError(
        `etcd refused the registration of ${valid.service}/${valid.id}: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    return this.#held.hold(lease);
  }

  /** The instances stored now; keys holding anything but a valid instance are skipped. */
  async list(service: string): Promise<ServiceInstance[]> {
    this.#held.assertOpen();
    const res = await this.#client.getAll().prefix(serviceKeyPrefix(this.#prefix, service)).exec();
    const out: ServiceInstance[] = [];
    for (const kv of res.kvs) {
      const key = kv.key.toString();
      if (parseKey(this.#prefix, key)?.service !== service) continue; // a deeper service
      try {
        out.push(decodeInstance(this.#prefix, key, kv.value));
      } catch {
        // malformed: not an instance anyone can call
      }
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async services(): Promise<string[]> {
    this.#held.assertOpen();
    const res = await this.#client.getAll().prefix(`${this.#prefix}/`).exec();
    const names = new Set<string>();
    for (const kv of res.kvs) {
      const key = kv.key.toString();
      const where = parseKey(this.#prefix, key);
      if (!where || names.has(where.service)) continue;
      try {
        decodeInstance(this.#prefix, key, kv.value);
        names.add(where.service);
      } catch {
        // malformed keys do not make a service live
      }
    }
    return [...names].sort();
  }

  watch(
    service: string,
    onChange: (instances: ServiceInstance[]) => void,
    onError: (err: Error) => void = () => {},
  ): Watch {
    this.#held.assertOpen();
    const watch = new EtcdWatch(this.#client, this.#prefix, service, onChange, onError);
    return this.#held.watch(watch);
  }

  async close(): Promise<void> {
    if (this.#held.closed) return;
    const [failed] = await this.#held.close();
    if (this.#ownClient) this.#client.close();
    if (failed) throw failed;
  }
}
