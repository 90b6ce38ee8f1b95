import type { EurekaActionType, EurekaInstance } from '../../discovery/eureka/wire.ts';

/**
 * Eureka's recently-changed queue: what `GET /apps/delta` answers. Every change is kept for a
 * retention window (Eureka's default is 3 minutes) and the queue holds at most `maxItems`, the
 * oldest going first. A delta is the whole window, each instance once with its latest action,
 * so a client polling more often than the window sees every change; one that polls less often
 * (or misses items the bound dropped) notices through apps__hashcode and fetches in full.
 */
export interface RecentChangesOptions {
  /** How long a change stays in deltas. Default 180 000 ms. */
  retentionMs?: number;
  /** Most changes kept. Default 10 000. */
  maxItems?: number;
  now?: () => number;
}

export const DEFAULT_DELTA_RETENTION_MS = 180_000;
export const DEFAULT_DELTA_MAX_ITEMS = 10_000;

interface Change {
  readonly at: number;
  readonly key: string;
  readonly instance: EurekaInstance;
}

export class RecentChanges {
  readonly #retentionMs: number;
  readonly #maxItems: number;
  readonly #now: () => number;
  /** A ring would save the shifts; at 10 000 items the array is simpler and fast enough. */
  #items: Change[] = [];
  #head = 0;
  #version = 0;

  constructor(options: RecentChangesOptions = {}) {
    this.#retentionMs = options.retentionMs ?? DEFAULT_DELTA_RETENTION_MS;
    this.#maxItems = Math.max(1, options.maxItems ?? DEFAULT_DELTA_MAX_ITEMS);
    this.#now = options.now ?? Date.now;
  }

  /** Grows with every recorded change (the delta's versions__delta). */
  get version(): number {
    return this.#version;
  }

  get size(): number {
    this.#prune();
    return this.#items.length - this.#head;
  }

  /** Records `instance` (its app and id, already upper-cased app) with its action. */
  record(action: EurekaActionType, instance: EurekaInstance): void {
    const key = `${instance.app}\n${instance.instanceId}`;
    this.#items.push({ at: this.#now(), key, instance: { ...instance, actionType: action } });
    this.#version++;
    this.#prune();
  }

  /** The instances changed within the window, each once with its latest action, oldest first. */
  latest(): EurekaInstance[] {
    this.#prune();
    const byKey = new Map<string, EurekaInstance>();
    for (let i = this.#head; i < this.#items.length; i++) {
      const item = this.#items[i] as Change;
      byKey.delete(item.key);
      byKey.set(item.key, item.instance);
    }
    return [...byKey.values()];
  }

  #prune(): void {
    const oldest = this.#now() - this.#retentionMs;
    while (
      this.#head < this.#items.length &&
      ((this.#items[this.#head] as Change).at < oldest || this.#items.length - this.#head > this.#maxItems)
    ) {
      this.#head++;
    }
    // Compact once the dropped prefix is large, so the array does not grow without end.
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }
}
