import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { type ServiceInstance, validateInstance } from '../discovery/instance.ts';
import {
  type ExpiryAction,
  type HealthState,
  type InstanceTable,
  TableFullError,
} from '../discovery/instance-table.ts';

/** What the hub keeps of each instance across a restart; the lease itself starts afresh. */
interface SavedEntry {
  instance: ServiceInstance;
  /** null for a lease that never expires (a Consul service without a TTL check). */
  ttlMs: number | null;
  health: HealthState;
  output: string;
  onExpiry?: ExpiryAction;
  removeAfterCriticalMs?: number;
}

interface SavedRegistry {
  format: 'switchboard-registry';
  version: 1;
  savedAt: string;
  instances: SavedEntry[];
}

export interface RegistryFileOptions {
  /** Why a file could not be read or written. */
  log: (message: string) => void;
  /** A change is on disk this long after it happened, at the latest (unless writes take longer). */
  debounceMs?: number;
}

const FILE = 'registry.json';
const HEALTH: readonly HealthState[] = ['passing', 'warning', 'critical'];

/**
 * The registry on disk: `<dir>/registry.json`, rewritten whole (temporary file, fsync,
 * rename, so a crash leaves the old file or the new one, never half of one) shortly after each
 * change. Restored instances get a fresh lease: live ones keep heartbeating and stay; dead
 * ones expire within their ttl as if the hub had never stopped.
 */
export class RegistryFile {
  readonly path: string;
  readonly #dir: string;
  readonly #table: InstanceTable;
  readonly #options: RegistryFileOptions;
  #unsubscribe: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> | undefined;
  #dirty = false;
  /** The last write's duration: a huge registry is not rewritten faster than it can be. */
  #lastWriteMs = 0;

  constructor(dir: string, table: InstanceTable, options: RegistryFileOptions) {
    this.#dir = dir;
    this.path = path.join(dir, FILE);
    this.#table = table;
    this.#options = options;
  }

  /**
   * Puts the saved instances into the table; resolves with how many. A file that cannot be
   * read as a registry is set aside as registry.json.corrupt and the hub starts empty.
   */
  async load(): Promise<number> {
    await mkdir(this.#dir, { recursive: true });
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw new Error(`hub: cannot read ${this.path}: ${(err as Error).message}`);
    }
    let entries: SavedEntry[];
    try {
      entries = this.#parse(text);
    } catch (err) {
      const aside = `${this.path}.corrupt`;
      const kept = await rename(this.path, aside).then(
        () => `the file is kept as ${aside}`,
        (failed: Error) => `it could not be set aside (${failed.message}) and will be overwritten`,
      );
      this.#options.log(
        `hub: ${this.path} is not a readable registry (${(err as Error).message}); starting empty, ${kept}`,
      );
      return 0;
    }
    let restored = 0;
    for (const entry of entries) {
      try {
        this.#table.upsert(entry.instance, entry.ttlMs ?? Number.POSITIVE_INFINITY, {
          health: entry.health,
          output: entry.output,
          onExpiry: entry.onExpiry,
          removeAfterCriticalMs: entry.removeAfterCriticalMs,
        });
      } catch (err) {
        if (!(err instanceof TableFullError)) throw err;
        this.#options.log(`hub: restored ${restored} of ${entries.length} instances: ${err.message}`);
        break;
      }
      restored++;
    }
    return restored;
  }

  /** Writes the table after every change from now on. */
  start(): void {
    this.#unsubscribe ??= this.#table.onChange(() => {
      this.#dirty = true;
      this.#schedule();
    });
  }

  /** Stops watching the table and writes what is not on disk yet. */
  async close(): Promise<void> {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#writing;
    if (this.#dirty) await this.#flush();
  }

  #schedule(): void {
    if (this.#timer || this.#writing || !this.#unsubscribe) return;
    const delay = Math.max(this.#options.debounceMs ?? 100, 2 * this.#lastWriteMs);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#flush();
    }, delay);
    this.#timer.unref();
  }

  #flush(): Promise<void> {
    this.#dirty = false;
    const started = Date.now();
    this.#writing = this.#write()
      .catch((err: Error) => {
        this.#dirty = true;
        this.#options.log(`hub: could not save the registry to ${this.path}: ${err.message}`);
      })
      .finally(() => {
        this.#lastWriteMs = Date.now() - started;
        this.#writing = undefined;
        if (this.#dirty) this.#schedule();
      });
    return this.#writing;
  }

  async #write(): Promise<void> {
    const saved: SavedRegistry = {
      format: 'switchboard-registry',
      version: 1,
      savedAt: new Date().toISOString(),
      instances: this.#table.all().map((e) => ({
        instance: e.instance,
        ttlMs: Number.isFinite(e.ttlMs) ? e.ttlMs : null,
        health: e.health,
        output: e.output,
        ...(e.onExpiry === undefined ? {} : { onExpiry: e.onExpiry }),
        ...(e.removeAfterCriticalMs === undefined ? {} : { removeAfterCriticalMs: e.removeAfterCriticalMs }),
      })),
    };
    const temp = `${this.path}.${process.pid}.tmp`;
    const file = await open(temp, 'w');
    try {
      await file.writeFile(JSON.stringify(saved));
      await file.sync();
    } finally {
      await file.close();
    }
    try {
      await rename(temp, this.path);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }

  /** The entries of a saved registry, all checked before any is used. */
  #parse(text: string): SavedEntry[] {
    const saved = JSON.parse(text) as Partial<SavedRegistry> | null;
    if (typeof saved !== 'object' || saved === null || saved.format !== 'switchboard-registry') {
      throw new Error('not a Switchboard registry file');
    }
    if (saved.version !== 1) throw new Error(`unknown version ${JSON.stringify(saved.version)}`);
    if (!Array.isArray(saved.instances)) throw new Error('instances: expected an array');
    return saved.instances.map((raw: unknown, i) => {
      const e = (typeof raw === 'object' && raw !== null ? raw : {}) as Partial<SavedEntry>;
      let instance: ServiceInstance;
      try {
        instance = validateInstance(e.instance);
      } catch (err) {
        throw new Error(`instances[${i}]: ${(err as Error).message}`);
      }
      if (e.ttlMs !== null && !positive(e.ttlMs)) {
        throw new Error(`instances[${i}].ttlMs: expected a positive number or null`);
      }
      if (e.removeAfterCriticalMs !== undefined && !positive(e.removeAfterCriticalMs)) {
        throw new Error(`instances[${i}].removeAfterCriticalMs: expected a positive number`);
      }
      return {
        instance,
        ttlMs: e.ttlMs,
        health: HEALTH.includes(e.health as HealthState) ? (e.health as HealthState) : 'passing',
        output: typeof e.output === 'string' ? e.output : '',
        onExpiry: e.onExpiry === 'critical' ? 'critical' : undefined,
        removeAfterCriticalMs: e.removeAfterCriticalMs,
      };
    });
  }
}

function positive(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0;
}
