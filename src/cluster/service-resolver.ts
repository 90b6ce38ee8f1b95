import { StatusError } from '../contract/errors.ts';
import { Status } from '../contract/status.ts';
import type { ServiceInstance } from '../discovery/instance.ts';
import type { Registry, Watch } from '../discovery/registry.ts';

export interface ServiceResolverOptions {
  /**
   * How long an empty answer may not replace a non-empty list. A registry that restarted
   * without its state answers [] until instances heartbeat again; in that window the
   * last-known-good instances are still the best guess (dead ones fail fast and are ejected).
   * Default 15 s: longer than the default lease, so live instances are back by then.
   */
  emptyGraceMs?: number;
  onError?: (err: Error) => void;
}

/**
 * The live instances of one service, kept current by a registry watch. When the registry is
 * unreachable the watch reports errors and pushes nothing, so the last-known-good list stays:
 * calls keep flowing to the cached instances through a registry outage.
 */
export class ServiceResolver {
  readonly service: string;
  readonly #watch: Watch;
  readonly #emptyGraceMs: number;
  readonly #listeners = new Set<(instances: readonly ServiceInstance[]) => void>();
  #instances: readonly ServiceInstance[] | undefined;
  #waiters: (() => void)[] = [];
  #emptyTimer: NodeJS.Timeout | undefined;
  #lastError: Error | undefined;

  constructor(registry: Registry, service: string, options: ServiceResolverOptions = {}) {
    this.service = service;
    this.#emptyGraceMs = options.emptyGraceMs ?? 15_000;
    this.#watch = registry.watch(
      service,
      (instances) => this.#update(instances),
      (err) => {
        this.#lastError = err;
        options.onError?.(err);
      },
    );
  }

  /** The current instances; undefined until the registry first answered. */
  get instances(): readonly ServiceInstance[] | undefined {
    return this.#instances;
  }

  /** The instances once the registry has answered, or UNAVAILABLE at the call's deadline/abort. */
  ready(deadline: number, signal?: AbortSignal): Promise<readonly ServiceInstance[]> {
    if (this.#instances) return Promise.resolve(this.#instances);
    return new Promise((resolve, reject) => {
      const fail = () => {
        cleanup();
        const why = this.#lastError ? `: ${this.#lastError.message}` : '';
        reject(
          new StatusError(Status.UNAVAILABLE, `no answer from the registry for ${this.service}${why}`, {
            unprocessed: true,
          }),
        );
      };
      const timer =
        deadline === Number.POSITIVE_INFINITY
          ? undefined
          : setTimeout(fail, Math.max(0, deadline - Date.now()));
      const waiter = () => {
        cleanup();
        resolve(this.#instances ?? []);
      };
      const cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', fail);
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
      };
      signal?.addEventListener('abort', fail, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /** Called after every change of the list. Returns the unsubscribe. */
  onChange(listener: (instances: readonly ServiceInstance[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  close(): void {
    this.#watch.close();
    clearTimeout(this.#emptyTimer);
    this.#listeners.clear();
  }

  #update(instances: ServiceInstance[]): void {
    this.#lastError = undefined;
    if (instances.length === 0 && this.#instances && this.#instances.length > 0) {
      // Hold the last-known-good list for the grace period, then accept the empty answer.
      if (this.#emptyTimer === undefined) {
        this.#emptyTimer = setTimeout(() => this.#set([]), this.#emptyGraceMs);
        this.#emptyTimer.unref();
      }
      return;
    }
    this.#set(instances);
  }

  #set(instances: readonly ServiceInstance[]): void {
    clearTimeout(this.#emptyTimer);
    this.#emptyTimer = undefined;
    this.#instances = instances;
    for (const waiter of this.#waiters.splice(0)) waiter();
    for (const listener of this.#listeners) listener(instances);
  }
}
