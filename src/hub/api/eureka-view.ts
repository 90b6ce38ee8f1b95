import {
  detailsFor,
  type EurekaDetails,
  type EurekaRegistration,
  readEurekaInstance,
  SERVICE_METADATA_KEY,
  sameApp,
  writeEurekaInstance,
} from '../../discovery/eureka/mapping.ts';
import {
  type EurekaActionType,
  type EurekaApplications,
  type EurekaInstance,
  type EurekaStatus,
  reconcileHashCode,
} from '../../discovery/eureka/wire.ts';
import type { ServiceInstance } from '../../discovery/instance.ts';
import type { HealthState, InstanceTable, TableEntry } from '../../discovery/instance-table.ts';
import { RecentChanges, type RecentChangesOptions } from './eureka-recent-changes.ts';

/** What a Eureka registration adds to a table entry; keyed by the entry's instance object. */
interface EurekaRecord {
  readonly details: EurekaDetails;
  /** The status the instance last reported (registration or heartbeat `status`). */
  reported: EurekaStatus;
  dirtyAt: number;
}

/** What the view last saw of an entry, to tell ADDED, MODIFIED and DELETED apart. */
interface Seen {
  readonly entry: TableEntry;
  readonly status: EurekaStatus;
  readonly updatedAt: number;
}

/** The shortest lease honoured; Eureka counts leases in whole seconds. */
const MIN_LEASE_MS = 1000;

/**
 * The hub's instance table seen as a Eureka registry. Instances registered through any hub API
 * appear here; those registered through Eureka keep their Eureka fields (a record tied to the
 * instance object, so a re-registration through another API simply drops it). Every table
 * change is diffed per instance into Eureka's recently-changed queue.
 */
export class EurekaView {
  readonly #table: InstanceTable;
  readonly #records = new WeakMap<ServiceInstance, EurekaRecord>();
  readonly #derived = new WeakMap<ServiceInstance, EurekaDetails>();
  /** Status overrides by "APP\nid", as Eureka keeps them: they outlive re-registration. */
  readonly #overrides = new Map<string, EurekaStatus>();
  readonly #seen = new Map<string, Map<string, Seen>>();
  readonly #changes: RecentChanges;
  readonly #unsubscribe: () => void;

  constructor(table: InstanceTable, options: RecentChangesOptions = {}) {
    this.#table = table;
    this.#changes = new RecentChanges(options);
    for (const service of table.services()) this.#sync(service, false);
    this.#unsubscribe = table.onChange((service) => this.#sync(service, true));
  }

  close(): void {
    this.#unsubscribe();
  }

  /** The entries of `app` (any case), across every service name that spells it. */
  entries(app: string): TableEntry[] {
    return this.#table
      .services()
      .filter((service) => sameApp(service, app))
      .flatMap((service) => this.#table.entries(service));
  }

  /** The service names in the registry. */
  services(): string[] {
    return this.#table.services();
  }

  find(app: string, id: string): TableEntry | undefined {
    return this.entries(app).find((e) => e.instance.id === id);
  }

  findById(id: string): TableEntry | undefined {
    return this.#table.findById(id);
  }

  /** The status Eureka reports: an override, else what the instance reported, else its health. */
  statusOf(entry: TableEntry): EurekaStatus {
    const override = this.#overrides.get(overrideKey(entry.instance));
    if (override) return override;
    const record = this.#records.get(entry.instance);
    if (record) return record.reported;
    return entry.health === 'passing' ? 'UP' : 'DOWN';
  }

  render(entry: TableEntry, actionType?: EurekaActionType): EurekaInstance {
    const { instance } = entry;
    const record = this.#records.get(instance);
    const seen = this.#seen.get(instance.service)?.get(instance.id);
    const renewedAt = Number.isFinite(entry.ttlMs) ? entry.expiresAt - entry.ttlMs : entry.registeredAt;
    const override = this.#overrides.get(overrideKey(instance));
    return writeEurekaInstance(instance, record?.details ?? this.#detailsOf(entry), {
      status: this.statusOf(entry),
      ...(override ? { overriddenStatus: override } : {}),
      registeredAt: entry.registeredAt,
      renewedAt,
      updatedAt: seen?.updatedAt ?? entry.registeredAt,
      dirtyAt: record?.dirtyAt ?? entry.registeredAt,
      ...(actionType ? { actionType } : {}),
    });
  }

  /** Stores a registration, replacing any instance with its id under another spelling of its app. */
  register(registration: EurekaRegistration, ttlMs?: number): TableEntry {
    const { details } = registration;
    let { instance } = registration;
    const previous = this.find(instance.service, instance.id);
    // A client that does not carry the exact name keeps the one the instance has.
    if (previous && details.metadata[SERVICE_METADATA_KEY] === undefined) {
      instance = { ...instance, service: previous.instance.service };
    }
    const key = overrideKey(instance);
    const override = this.#overrides.get(key);
    for (const entry of this.entries(instance.service)) {
      if (entry.instance.id === instance.id && entry.instance.service !== instance.service) {
        this.#table.remove(entry.instance.service, entry.instance.id);
      }
    }
    // Eureka keeps a status override across re-registration; the removal above forgot it.
    if (override) this.#overrides.set(key, override);
    this.#records.set(instance, {
      details,
      reported: details.status,
      dirtyAt: details.lastDirtyTimestamp ?? Date.now(),
    });
    const lease = ttlMs ?? Math.max(MIN_LEASE_MS, details.durationInSecs * 1000);
    const entry = this.#table.upsert(instance, lease);
    this.#applyHealth(entry);
    return entry;
  }

  /**
   * A heartbeat: 'renewed', or 'unknown' when the instance is not here, or 'stale' when the
   * client's lastDirtyTimestamp is newer than what it registered (it re-registers then).
   */
  renew(entry: TableEntry, status?: EurekaStatus, lastDirty?: number): 'renewed' | 'stale' {
    const record = this.#records.get(entry.instance);
    if (record && lastDirty !== undefined && lastDirty > record.dirtyAt) return 'stale';
    if (record && status) record.reported = status;
    this.#applyHealth(entry);
    return 'renewed';
  }

  cancel(entry: TableEntry): void {
    this.#table.remove(entry.instance.service, entry.instance.id);
  }

  setOverride(entry: TableEntry, status: EurekaStatus): void {
    this.#overrides.set(overrideKey(entry.instance), status);
    this.#applyHealth(entry);
  }

  /** Removes the override; `fallback`, when given, becomes the instance's own status. */
  clearOverride(entry: TableEntry, fallback?: EurekaStatus): void {
    this.#overrides.delete(overrideKey(entry.instance));
    const record = this.#records.get(entry.instance);
    if (record) {
      if (fallback) record.reported = fallback;
      this.#applyHealth(entry);
      return;
    }
    // Registered through another API: its health was the override's; back to passing (or
    // the fallback) until that API's next heartbeat says otherwise.
    this.#setHealth(entry, fallback ?? 'UP');
  }

  /** Merges `changes` into the instance's metadata, keeping its lease and status. */
  updateMetadata(entry: TableEntry, changes: Record<string, string>): void {
    const record = this.#records.get(entry.instance);
    const details = record?.details ?? this.#detailsOf(entry);
    // Without a record the health may be an override's doing: the instance itself counts as UP then.
    const overridden = this.#overrides.has(overrideKey(entry.instance));
    const reported = record?.reported ?? (overridden || entry.health === 'passing' ? 'UP' : 'DOWN');
    const written = writeEurekaInstance(entry.instance, details, {
      status: reported,
      registeredAt: entry.registeredAt,
      renewedAt: entry.registeredAt,
      updatedAt: entry.registeredAt,
      dirtyAt: record?.dirtyAt ?? entry.registeredAt,
    });
    const registration = readEurekaInstance({ ...written, metadata: { ...written.metadata, ...changes } });
    this.register(registration, entry.ttlMs);
  }

  /** `GET /apps`: every instance of every app, whatever its status. */
  applications(filter: (instance: EurekaInstance) => boolean = () => true): EurekaApplications {
    const all = this.#table.all();
    const apps = new Map<string, EurekaInstance[]>();
    for (const entry of all) {
      const rendered = this.render(entry);
      if (!filter(rendered)) continue;
      const list = apps.get(rendered.app);
      if (list) list.push(rendered);
      else apps.set(rendered.app, [rendered]);
    }
    return this.#body(apps, all);
  }

  /** `GET /apps/delta`: the recently changed instances with their actions. */
  delta(): EurekaApplications {
    const apps = new Map<string, EurekaInstance[]>();
    for (const instance of this.#changes.latest()) {
      const list = apps.get(instance.app);
      if (list) list.push(instance);
      else apps.set(instance.app, [instance]);
    }
    return this.#body(apps, this.#table.all());
  }

  #body(apps: Map<string, EurekaInstance[]>, all: TableEntry[]): EurekaApplications {
    return {
      applications: {
        versions__delta: String(this.#changes.version),
        apps__hashcode: reconcileHashCode(all.map((e) => this.statusOf(e))),
        application: [...apps.keys()].sort().map((name) => ({ name, instance: apps.get(name) ?? [] })),
      },
    };
  }

  #detailsOf(entry: TableEntry): EurekaDetails {
    let details = this.#derived.get(entry.instance);
    if (!details) {
      details = detailsFor(entry.instance, entry.ttlMs);
      this.#derived.set(entry.instance, details);
    }
    return details;
  }

  /** Brings the table's health in line with the Eureka status (only UP is passing), then diffs. */
  #applyHealth(entry: TableEntry): void {
    this.#setHealth(entry, this.statusOf(entry));
  }

  #setHealth(entry: TableEntry, status: EurekaStatus): void {
    const { service, id } = entry.instance;
    const health: HealthState = status === 'UP' ? 'passing' : 'critical';
    // Through renew, which also extends the lease: a status change is a sign of life.
    this.#table.renew(service, id, health, status === 'UP' ? '' : `Eureka status ${status}`);
    this.#sync(service, true);
  }

  /** Records what changed in `service` since last seen. */
  #sync(service: string, record: boolean): void {
    const before = this.#seen.get(service) ?? new Map<string, Seen>();
    const after = new Map<string, Seen>();
    const now = Date.now();
    const changed: [EurekaActionType, TableEntry][] = [];
    const reassert: TableEntry[] = [];
    for (const entry of this.#table.entries(service)) {
      const status = this.statusOf(entry);
      const old = before.get(entry.instance.id);
      const same = old !== undefined && old.entry.instance === entry.instance && old.status === status;
      after.set(entry.instance.id, { entry, status, updatedAt: same ? old.updatedAt : now });
      if (!same) changed.push([old ? 'MODIFIED' : 'ADDED', entry]);
      // Another API's heartbeat may have made an instance taken out of service passing again.
      // (An override to UP is not forced on: that could keep an expired lease alive.)
      if (status !== 'UP' && entry.health === 'passing' && this.#overrides.has(overrideKey(entry.instance))) {
        reassert.push(entry);
      }
    }
    if (after.size > 0) this.#seen.set(service, after);
    else this.#seen.delete(service);
    if (record) for (const [action, entry] of changed) this.#changes.record(action, this.render(entry));
    for (const [id, old] of before) {
      if (after.has(id)) continue;
      if (record) this.#changes.record('DELETED', this.#renderGone(old));
      if (!this.find(service, id)) this.#overrides.delete(overrideKey(old.entry.instance));
    }
    // Not from inside the table's change notification: the other listeners see this change first.
    if (reassert.length > 0)
      queueMicrotask(() => {
        for (const entry of reassert) this.#reassert(entry);
      });
  }

  #reassert(entry: TableEntry): void {
    const current = this.#table.get(entry.instance.service, entry.instance.id);
    if (current === entry) this.#applyHealth(entry);
  }

  #renderGone(seen: Seen): EurekaInstance {
    const { entry } = seen;
    const record = this.#records.get(entry.instance);
    return writeEurekaInstance(entry.instance, record?.details ?? this.#detailsOf(entry), {
      status: seen.status,
      registeredAt: entry.registeredAt,
      renewedAt: entry.registeredAt,
      updatedAt: Date.now(),
      dirtyAt: record?.dirtyAt ?? entry.registeredAt,
    });
  }
}

function overrideKey(instance: ServiceInstance): string {
  return `${instance.service.toUpperCase()}\n${instance.id}`;
}
