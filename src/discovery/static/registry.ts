import { parseEndpoint, type ServiceInstance, validateInstance } from '../instance.ts';
import { InstanceTable } from '../instance-table.ts';
import {
  DEFAULT_LEASE_TTL_MS,
  type Lease,
  type RegisterOptions,
  type Registry,
  type Watch,
} from '../registry.ts';

/** One service's fixed instances in configuration: targets like "grpc://10.0.0.5:50051". */
export interface StaticService {
  service: string;
  /** One entry per instance; an instance may list several targets, space-separated. */
  instances: readonly (string | ServiceInstance)[];
}

/**
 * A registry that lives in this process: the fixed endpoints from configuration, plus whatever
 * registers at run time (leases expire as anywhere else). For a non-Switchboard service at a
 * known address, for tests, and for single-process systems.
 */
export class StaticRegistry implements Registry {
  readonly kind = 'static';
  readonly #table: InstanceTable;
  readonly #leases = new Set<StaticLease>();
  readonly #watchers = new Set<() => void>();
  readonly #sweeper: NodeJS.Timeout;

  /** `table` lets several registries share one set of instances (one per simulated process). */
  constructor(services: readonly StaticService[] = [], options: { table?: InstanceTable } = {}) {
    this.#table = options.table ?? new InstanceTable();
    for (const { service, instances } of services) {
      instances.forEach((entry, i) => {
        const instance =
          typeof entry === 'string'
            ? {
                service,
                id: `static-${i}`,
                endpoints: entry.split(/\s+/).filter(Boolean).map(parseEndpoint),
                metadata: {},
              }
            : entry;
        this.#table.upsert(validateInstance(instance), Number.POSITIVE_INFINITY);
      });
    }
    this.#sweeper = setInterval(() => this.#table.sweep(), 100);
    this.#sweeper.unref();
  }

  async register(instance: ServiceInstance, options: RegisterOptions = {}): Promise<Lease> {
    const valid = validateInstance(instance);
    const ttlMs = options.ttlMs ?? DEFAULT_LEASE_TTL_MS;
    this.#table.upsert(valid, ttlMs);
    const lease = new StaticLease(this.#table, valid, ttlMs, () => this.#leases.delete(lease));
    this.#leases.add(lease);
    return lease;
  }

  async list(service: string): Promise<ServiceInstance[]> {
    return this.#table.list(service);
  }

  async services(): Promise<string[]> {
    return this.#table.services();
  }

  watch(service: string, onChange: (instances: ServiceInstance[]) => void): Watch {
    let closed = false;
    const unsubscribe = this.#table.onChange((changed) => {
      if (changed === service) onChange(this.#table.list(service));
    });
    queueMicrotask(() => {
      if (!closed) onChange(this.#table.list(service));
    });
    const close = () => {
      closed = true;
      unsubscribe();
      this.#watchers.delete(close);
    };
    this.#watchers.add(close);
    return { close };
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    await Promise.all([...this.#leases].map((l) => l.deregister()));
    for (const close of [...this.#watchers]) close();
  }
}

class StaticLease implements Lease {
  readonly instance: ServiceInstance;
  readonly #table: InstanceTable;
  readonly #timer: NodeJS.Timeout;
  readonly #done: () => void;
  #over = false;

  constructor(table: InstanceTable, instance: ServiceInstance, ttlMs: number, done: () => void) {
    this.instance = instance;
    this.#table = table;
    this.#done = done;
    // Heartbeats as a remote registry would need them, so expiry behaves the same in process.
    this.#timer = setInterval(() => {
      if (!table.renew(instance.service, instance.id)) table.upsert(instance, ttlMs);
    }, ttlMs / 3);
    this.#timer.unref();
  }

  async deregister(): Promise<void> {
    if (this.#over) return;
    this.abandon();
    const current = this.#table.get(this.instance.service, this.instance.id);
    if (current?.instance === this.instance) this.#table.remove(this.instance.service, this.instance.id);
  }

  abandon(): void {
    this.#over = true;
    clearInterval(this.#timer);
    this.#done();
  }
}
