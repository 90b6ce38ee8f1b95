import type { ServiceInstance } from '../instance.ts';
import { RegistryError, type Watch } from '../registry.ts';
import type { EurekaHttp } from './http.ts';
import { readEurekaInstance } from './mapping.ts';
import { isObject, readApplications, readHashCode, reconcileHashCode } from './wire.ts';

/** What the local copy keeps of an instance: its status (for the hash) and, if it maps, the instance. */
interface Cached {
  readonly status: string;
  readonly instance: ServiceInstance | undefined;
}

interface WatchState {
  readonly app: string;
  readonly onChange: (instances: ServiceInstance[]) => void;
  readonly onError: ((err: Error) => void) | undefined;
  /** The list last pushed, serialised; undefined pushes the next list whatever it is. */
  last: string | undefined;
  closed: boolean;
}

/**
 * Watches by polling, as Eureka clients do: one full fetch of `/apps`, then `/apps/delta`
 * every interval, applied to a local copy of the registry. When the copy's hash code differs
 * from the server's `apps__hashcode` (a missed change) or a delta fails, the next fetch is full.
 * One poller serves every watch of a registry; a watch is pushed only when its list changed.
 */
export class EurekaWatcher {
  readonly #http: EurekaHttp;
  readonly #intervalMs: number;
  readonly #apps = new Map<string, Map<string, Cached>>();
  readonly #watches = new Set<WatchState>();
  #timer: NodeJS.Timeout | undefined;
  #polling = false;
  #fresh = false;
  #needsFull = true;
  #failing = false;
  /** Grows on close, so a poll in flight then leaves the fresh state alone. */
  #generation = 0;

  constructor(http: EurekaHttp, intervalMs: number) {
    this.#http = http;
    this.#intervalMs = intervalMs;
  }

  watch(
    service: string,
    onChange: (instances: ServiceInstance[]) => void,
    onError?: (err: Error) => void,
  ): Watch {
    const state: WatchState = {
      app: service.toUpperCase(),
      onChange,
      onError,
      last: undefined,
      closed: false,
    };
    this.#watches.add(state);
    if (this.#fresh) queueMicrotask(() => this.#push(state));
    if (!this.#polling && this.#timer === undefined) this.#schedule(this.#fresh ? this.#intervalMs : 0);
    return {
      close: () => {
        state.closed = true;
        this.#watches.delete(state);
        if (this.#watches.size === 0) this.close();
      },
    };
  }

  /** Stops polling and forgets the local copy; a later watch starts with a full fetch. */
  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#generation++;
    for (const state of this.#watches) state.closed = true;
    this.#watches.clear();
    this.#apps.clear();
    this.#fresh = false;
    this.#needsFull = true;
    this.#failing = false;
  }

  #schedule(delayMs: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#poll();
    }, delayMs);
    this.#timer.unref();
  }

  async #poll(): Promise<void> {
    if (this.#watches.size === 0) return;
    const generation = this.#generation;
    this.#polling = true;
    let error: Error | undefined;
    try {
      await this.#fetch(generation);
    } catch (err) {
      error =
        err instanceof RegistryError
          ? err
          : new RegistryError(`eureka ${this.#http.base}: unreadable answer: ${(err as Error).message}`, {
              cause: err,
            });
    }
    this.#polling = false;
    // Closed meanwhile: what came back belongs to no one.
    if (generation === this.#generation) this.#settle(error);
    if (this.#watches.size > 0 && this.#timer === undefined) {
      this.#schedule(generation === this.#generation ? this.#intervalMs : 0);
    }
  }

  async #fetch(generation: number): Promise<void> {
    if (!this.#needsFull) {
      // A server with deltas disabled answers 403: fetch in full instead.
      const delta = await this.#http.getJson('/apps/delta').catch(() => undefined);
      if (generation !== this.#generation) return;
      if (delta !== undefined) {
        this.#apply(readApplications(delta), true);
        const statuses = [...this.#apps.values()].flatMap((byId) => [...byId.values()].map((c) => c.status));
        if (reconcileHashCode(statuses) === readHashCode(delta)) return;
      }
    }
    const full = await this.#http.getJson('/apps');
    if (generation !== this.#generation) return;
    this.#apps.clear();
    if (full !== undefined) this.#apply(readApplications(full), false);
    this.#needsFull = false;
  }

  #settle(error: Error | undefined): void {
    if (!error) {
      this.#failing = false;
      this.#fresh = true;
      for (const state of this.#watches) this.#push(state);
      return;
    }
    this.#needsFull = true;
    this.#fresh = false;
    // One report per outage; every watch gets its list again once the server is back.
    for (const state of this.#watches) {
      state.last = undefined;
      if (!this.#failing) state.onError?.(error);
    }
    this.#failing = true;
  }

  #apply(apps: { name: string; instances: unknown[] }[], delta: boolean): void {
    for (const app of apps) {
      for (const raw of app.instances) {
        if (!isObject(raw)) continue;
        const name = String(raw.app ?? app.name).toUpperCase();
        const id = String(raw.instanceId ?? raw.hostName ?? '');
        let byId = this.#apps.get(name);
        if (delta && raw.actionType === 'DELETED') {
          byId?.delete(id);
          if (byId?.size === 0) this.#apps.delete(name);
          continue;
        }
        if (!byId) {
          byId = new Map();
          this.#apps.set(name, byId);
        }
        byId.set(id, { status: String(raw.status ?? 'UP').toUpperCase(), instance: mapped(raw) });
      }
    }
  }

  /** The UP instances of an app in the local copy, by id. */
  list(app: string): ServiceInstance[] {
    const byId = this.#apps.get(app.toUpperCase());
    if (!byId) return [];
    const out: ServiceInstance[] = [];
    for (const cached of byId.values()) {
      if (cached.status === 'UP' && cached.instance) out.push(cached.instance);
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  #push(state: WatchState): void {
    if (state.closed || !this.#fresh) return;
    const list = this.list(state.app);
    const text = JSON.stringify(list);
    if (text === state.last) return;
    state.last = text;
    state.onChange(list);
  }
}

/** The instance, or undefined when it does not map (a foreign server may hold anything). */
function mapped(raw: unknown): ServiceInstance | undefined {
  try {
    return readEurekaInstance(raw).instance;
  } catch {
    return undefined;
  }
}
