import { type Heartbeats, registerWithHeartbeats } from '../heartbeat-lease.ts';
import { parseEndpoint, type ServiceInstance, validateInstance } from '../instance.ts';
import { InstanceTable } from '../instance-table.ts';
import {
  DEFAULT_LEASE_TTL_MS,
  type Lease,
  type RegisterOptions,
  type Registry,
  type Watch,
} from '../registry.ts';
import { RegistryHoldings } from '../registry-holdings.ts';

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
  readonly #held = new RegistryHoldings('the static registry is closed');
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
    return registerWithHeartbeats(this.#held, valid, tableHeartbeats(this.#table, valid, ttlMs));
  }

  async list(service: string): Promise<ServiceInstance[]> {
    return this.#table.list(service);
  }

  async services(): Promise<string[]> {
    return this.#table.services();
  }

  watch(service: string, onChange: (instances: ServiceInstance[]) => void): Watch {
    this.#held.assertOpen();
    let closed = false;
    const unsubscribe = this.#table.onChange((changed) => {
      if (changed === service) onChange(this.#table.list(service));
    });
    queueMicrotask(() => {
      if (!closed) onChange(this.#table.list(service));
    });
    return this.#held.watch({
      close: () => {
        closed = true;
        unsubscribe();
      },
    });
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    const [failed] = await this.#held.close();
    if (failed) throw failed;
  }
}

/** Heartbeats as a remote registry would need them, so expiry behaves the same in process. */
function tableHeartbeats(table: InstanceTable, instance: ServiceInstance, ttlMs: number): Heartbeats {
  const { service, id } = instance;
  return {
    intervalMs: () => ttlMs / 3,
    renew: async () => table.renew(service, id),
    register: async () => {
      table.upsert(instance, ttlMs);
    },
    remove: async () => {
      // A later registration of the same id is not ours to remove.
      if (table.get(service, id)?.instance === instance) table.remove(service, id);
    },
  };
}
