import type { ServiceInstance } from './instance.ts';

/**
 * The live instances of every service with their leases: the state of an in-process registry
 * (static, tests) and of the hub. Pure logic: time comes from `now()`, expiry happens when
 * `sweep()` runs, and every change bumps a global index for blocking queries and watches.
 */

export type HealthState = 'passing' | 'warning' | 'critical';

export interface TableEntry {
  readonly instance: ServiceInstance;
  readonly ttlMs: number;
  expiresAt: number;
  health: HealthState;
  /** Why the health is what it is (a Consul TTL check's note). */
  output: string;
  readonly registeredAt: number;
  /** The table index at this entry's last change. */
  modifyIndex: number;
  /** What an expired lease does: 'remove' (the default) or 'critical' (a Consul TTL check). */
  readonly onExpiry?: ExpiryAction;
  /** Once critical this long, the entry is removed (Consul's DeregisterCriticalServiceAfter). */
  readonly removeAfterCriticalMs?: number;
  /** When the entry last turned critical; unset while it is not. */
  criticalSince?: number;
}

export type ExpiryAction = 'remove' | 'critical';

/** How `upsert` treats a lease beyond its ttl; the defaults are those of a plain lease. */
export interface UpsertOptions {
  /** Default 'remove'. With 'critical' the entry stays, unhealthy, until renewed or removed. */
  onExpiry?: ExpiryAction;
  /** Removes an entry that has been critical this long (for whatever reason). Default: never. */
  removeAfterCriticalMs?: number;
  /** Health on registration; default 'passing' (a Consul TTL check starts 'critical'). */
  health?: HealthState;
  output?: string;
}

export interface InstanceTableOptions {
  now?: () => number;
  /** Registrations beyond this are refused with TableFullError. */
  maxInstances?: number;
}

export class TableFullError extends Error {
  constructor(limit: number) {
    super(`the registry holds its limit of ${limit} instances`);
    this.name = 'TableFullError';
  }
}

type ChangeListener = (service: string, index: number) => void;

/** When a critical entry is due for removal; Infinity when it is not critical or may stay. */
function criticalDeadline(entry: TableEntry): number {
  if (entry.criticalSince === undefined || entry.removeAfterCriticalMs === undefined) {
    return Number.POSITIVE_INFINITY;
  }
  return entry.criticalSince + entry.removeAfterCriticalMs;
}

export class InstanceTable {
  readonly #now: () => number;
  readonly #max: number;
  readonly #services = new Map<string, Map<string, TableEntry>>();
  readonly #listeners = new Set<ChangeListener>();
  /** The index of each service's last change, for blocking queries on one service. */
  readonly #lastChanged = new Map<string, number>();
  #size = 0;
  #index = 1;

  constructor(options: InstanceTableOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#max = options.maxInstances ?? 100_000;
  }

  /** Grows by one on every change; never goes back (Consul's X-Consul-Index). */
  get index(): number {
    return this.#index;
  }

  get size(): number {
    return this.#size;
  }

  /** Adds or replaces an instance (same service and id) with a fresh lease. */
  upsert(instance: ServiceInstance, ttlMs: number, options: UpsertOptions = {}): TableEntry {
    let byId = this.#services.get(instance.service);
    const existing = byId?.get(instance.id);
    if (!existing && this.#size >= this.#max) throw new TableFullError(this.#max);
    if (!byId) {
      byId = new Map();
      this.#services.set(instance.service, byId);
    }
    const now = this.#now();
    const health = options.health ?? 'passing';
    const entry: TableEntry = {
      instance,
      ttlMs,
      expiresAt: now + ttlMs,
      health,
      output: options.output ?? '',
      registeredAt: existing?.registeredAt ?? now,
      modifyIndex: 0,
      // Set only when asked, so a plain lease's entry looks as it always has.
      ...(options.onExpiry === 'critical' ? { onExpiry: 'critical' } : {}),
      ...(options.removeAfterCriticalMs === undefined
        ? {}
        : { removeAfterCriticalMs: options.removeAfterCriticalMs }),
      ...(health === 'critical' ? { criticalSince: now } : {}),
    };
    byId.set(instance.id, entry);
    if (!existing) this.#size++;
    this.#changed(instance.service, entry);
    return entry;
  }

  /**
   * Extends the lease (a heartbeat). Returns false for an unknown instance, so the caller
   * registers again. A heartbeat that changes health is a change; one that does not is not.
   */
  renew(service: string, id: string, health: HealthState = 'passing', output = ''): boolean {
    const entry = this.#services.get(service)?.get(id);
    if (!entry) return false;
    const now = this.#now();
    entry.expiresAt = now + entry.ttlMs;
    if (entry.health !== health || entry.output !== output) {
      if (health !== 'critical') delete entry.criticalSince;
      else if (entry.health !== 'critical') entry.criticalSince = now;
      entry.health = health;
      entry.output = output;
      this.#changed(service, entry);
    }
    return true;
  }

  remove(service: string, id: string): boolean {
    const byId = this.#services.get(service);
    if (!byId?.delete(id)) return false;
    this.#size--;
    if (byId.size === 0) this.#services.delete(service);
    this.#changed(service);
    return true;
  }

  get(service: string, id: string): TableEntry | undefined {
    return this.#services.get(service)?.get(id);
  }

  /** Finds an instance by id alone (Consul and Eureka address instances that way). */
  findById(id: string): TableEntry | undefined {
    for (const byId of this.#services.values()) {
      const entry = byId.get(id);
      if (entry) return entry;
    }
    return undefined;
  }

  entries(service: string): TableEntry[] {
    const byId = this.#services.get(service);
    return byId ? [...byId.values()] : [];
  }

  /** Instances of `service` whose health is in `states` (passing only, unless asked). */
  list(service: string, states: readonly HealthState[] = ['passing']): ServiceInstance[] {
    return this.entries(service)
      .filter((e) => states.includes(e.health))
      .map((e) => e.instance);
  }

  services(): string[] {
    return [...this.#services.keys()];
  }

  all(): TableEntry[] {
    const out: TableEntry[] = [];
    for (const byId of this.#services.values()) out.push(...byId.values());
    return out;
  }

  /**
   * Removes every instance whose lease has run out, or turns it critical when it was
   * registered so, and removes those critical for longer than they may be; returns how many went.
   */
  sweep(): number {
    const now = this.#now();
    let removed = 0;
    for (const [service, byId] of this.#services) {
      for (const [id, entry] of byId) {
        if (entry.expiresAt <= now) {
          if (entry.onExpiry !== 'critical') {
            if (this.remove(service, id)) removed++;
            continue;
          }
          if (entry.health !== 'critical') {
            entry.health = 'critical';
            entry.output = 'TTL expired';
            entry.criticalSince = entry.expiresAt;
            this.#changed(service, entry);
          }
        }
        if (now >= criticalDeadline(entry) && this.remove(service, id)) removed++;
      }
    }
    return removed;
  }

  /** When `sweep` next has something to do, for scheduling it; Infinity when never. */
  nextExpiry(): number {
    let next = Number.POSITIVE_INFINITY;
    for (const byId of this.#services.values()) {
      for (const entry of byId.values()) {
        // A critical entry that stays when expired has nothing to do at its expiry.
        const idleExpiry = entry.onExpiry === 'critical' && entry.health === 'critical';
        const at = Math.min(idleExpiry ? Number.POSITIVE_INFINITY : entry.expiresAt, criticalDeadline(entry));
        if (at < next) next = at;
      }
    }
    return next;
  }

  /** Called with the service name and new index after every change. Returns the unsubscribe. */
  onChange(listener: ChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Resolves with the index once `service` (or any service, for undefined) changes after
   * `afterIndex`, or after `waitMs` with the current index: a Consul-style blocking query.
   */
  waitForChange(
    service: string | undefined,
    afterIndex: number,
    waitMs: number,
    signal?: AbortSignal,
  ): Promise<number> {
    if (afterIndex < this.#lastChange(service)) return Promise.resolve(this.#index);
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        unsubscribe();
        signal?.removeEventListener('abort', finish);
        resolve(this.#index);
      };
      const timer = setTimeout(finish, waitMs);
      const unsubscribe = this.onChange((changed) => {
        if (service === undefined || changed === service) finish();
      });
      signal?.addEventListener('abort', finish, { once: true });
    });
  }

  #lastChange(service: string | undefined): number {
    return service === undefined ? this.#index : (this.#lastChanged.get(service) ?? 0);
  }

  #changed(service: string, entry?: TableEntry): void {
    const index = ++this.#index;
    if (entry) entry.modifyIndex = index;
    this.#lastChanged.set(service, index);
    for (const listener of this.#listeners) listener(service, index);
  }
}
