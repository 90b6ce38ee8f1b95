/**
 * The hub's Consul checks: a TTL check's health and lease live in the InstanceTable entry;
 * this book keeps which instances came through the Consul API and what Consul clients name
 * their check by (CheckID, Name, Notes). Instances registered through other hub APIs show a
 * synthetic "service:<id>" check for their lease.
 */
import type { InstanceTable, TableEntry } from '../../discovery/instance-table.ts';

export interface CheckInfo {
  readonly checkId: string;
  readonly name: string;
  readonly notes: string;
}

/** An instance registered through the Consul API, with its check when it has one. */
interface Registered {
  readonly service: string;
  readonly id: string;
  readonly check: CheckInfo | undefined;
}

/** Consul's default id for the check registered with service `id`. */
export function serviceCheckId(id: string): string {
  return `service:${id}`;
}

function defaultName(service: string): string {
  return `Service '${service}' check`;
}

export class ConsulCheckBook {
  readonly #table: InstanceTable;
  readonly #byCheckId = new Map<string, Registered>();
  /** service → instance id → record, so a change prunes one service's records only. */
  readonly #byService = new Map<string, Map<string, Registered>>();

  constructor(table: InstanceTable) {
    this.#table = table;
    // An entry removed by expiry or by another API takes its check with it.
    table.onChange((service) => this.#prune(service));
  }

  /** Records an instance registered through the Consul API and its check, replacing any it had. */
  set(
    service: string,
    id: string,
    check: { checkId?: string; name?: string; notes?: string } | undefined,
  ): void {
    this.drop(service, id);
    const record: Registered = {
      service,
      id,
      check: check && {
        checkId: check.checkId ?? serviceCheckId(id),
        name: check.name ?? defaultName(service),
        notes: check.notes ?? '',
      },
    };
    if (record.check) {
      const taken = this.#byCheckId.get(record.check.checkId);
      if (taken) this.drop(taken.service, taken.id);
      this.#byCheckId.set(record.check.checkId, record);
    }
    let byId = this.#byService.get(service);
    if (!byId) {
      byId = new Map();
      this.#byService.set(service, byId);
    }
    byId.set(id, record);
  }

  drop(service: string, id: string): void {
    const byId = this.#byService.get(service);
    const record = byId?.get(id);
    if (!byId || !record) return;
    byId.delete(id);
    if (byId.size === 0) this.#byService.delete(service);
    if (record.check) this.#byCheckId.delete(record.check.checkId);
  }

  has(service: string, id: string): boolean {
    return this.#byService.get(service)?.has(id) ?? false;
  }

  /** The check `entry` shows, or undefined for an instance with neither check nor lease. */
  describe(entry: TableEntry): CheckInfo | undefined {
    const { service, id } = entry.instance;
    const record = this.#byService.get(service)?.get(id);
    if (record) return record.check;
    if (Number.isFinite(entry.ttlMs) || entry.health !== 'passing') {
      return { checkId: serviceCheckId(id), name: defaultName(service), notes: '' };
    }
    return undefined;
  }

  /** The entry whose check is `checkId`, as /v1/agent/check/pass/<checkId> finds it. */
  resolve(checkId: string): TableEntry | undefined {
    const record = this.#byCheckId.get(checkId);
    if (record) return this.#table.get(record.service, record.id);
    if (!checkId.startsWith('service:')) return undefined;
    const entry = this.#table.findById(checkId.slice('service:'.length));
    // Through the Consul API, an instance answers only to the check id it was registered with.
    if (!entry || this.has(entry.instance.service, entry.instance.id)) return undefined;
    return this.describe(entry) ? entry : undefined;
  }

  #prune(service: string): void {
    const byId = this.#byService.get(service);
    if (!byId) return;
    for (const id of [...byId.keys()]) if (!this.#table.get(service, id)) this.drop(service, id);
  }
}
