import type { Etcd3, IKeyValue, IWatchResponse, Watcher } from 'etcd3';
import type { ServiceInstance } from '../instance.ts';
import { RegistryError, type Watch } from '../registry.ts';
import { RetryTimer } from '../retry-timer.ts';
import { decodeInstance, parseKey } from './stored-instance.ts';

/**
 * Follows the keys of one service: lists them, then watches from the revision after the
 * list's, so no change between the two is lost. The etcd3 watcher resumes by itself after a
 * reconnect; the list is read again then anyway (and pushed), and events at or below the
 * revision of that read are ignored. When etcd cancels the watch (its start revision was
 * compacted away, ErrCompacted) the watch starts over with a new list.
 */
export class EtcdWatch implements Watch {
  readonly #client: Etcd3;
  readonly #prefix: string;
  readonly #keyPrefix: string;
  readonly #service: string;
  readonly #onChange: (instances: ServiceInstance[]) => void;
  readonly #onError: (err: Error) => void;
  readonly #instances = new Map<string, ServiceInstance>();
  /** The revision of the last list: events at or below it are already in the map. */
  #revision = 0n;
  #watcher: Watcher | undefined;
  #closed = false;
  #disconnected = false;
  /** Listing again after a failure: 250 ms, doubling up to 5 s. */
  readonly #retry = new RetryTimer({ baseMs: 250, maxMs: 5000 });
  #listing = 0;
  /** Watch responses held back while a list is in flight. */
  #held: IWatchResponse[] | undefined;

  constructor(
    client: Etcd3,
    prefix: string,
    service: string,
    onChange: (instances: ServiceInstance[]) => void,
    onError: (err: Error) => void,
  ) {
    this.#client = client;
    this.#prefix = prefix;
    this.#keyPrefix = `${prefix}/${service}/`;
    this.#service = service;
    this.#onChange = onChange;
    this.#onError = onError;
    void this.#start();
  }

  close(): void {
    this.#closed = true;
    this.#retry.cancel();
    this.#stopWatcher();
  }

  /** Lists, pushes, and (re)creates the etcd watcher from the revision after the list. */
  async #start(): Promise<void> {
    this.#stopWatcher();
    try {
      await this.#relist();
    } catch (err) {
      this.#fail(err as Error);
      return;
    }
    if (this.#closed) return;
    this.#disconnected = false;
    const watcher = this.#client
      .watch()
      .prefix(this.#keyPrefix)
      .startRevision((this.#revision + 1n).toString())
      .watcher();
    this.#watcher = watcher;
    watcher.on('data', (res: IWatchResponse) => {
      if (watcher === this.#watcher) this.#onData(res);
    });
    watcher.on('disconnected', (err: Error) => {
      if (watcher !== this.#watcher || this.#closed || this.#disconnected) return;
      this.#disconnected = true;
      this.#onError(
        new RegistryError('etcd watch disconnected; it resumes when etcd is back', { cause: err }),
      );
    });
    watcher.on('connected', () => {
      if (watcher !== this.#watcher || !this.#disconnected) return;
      this.#disconnected = false;
      this.#relist().catch((err: unknown) => {
        if (watcher === this.#watcher) this.#fail(err as Error);
      });
    });
    // etcd cancelled the watch, most often because its revision was compacted: start over.
    watcher.on('error', (err: Error) => {
      if (watcher !== this.#watcher) return;
      this.#fail(
        new Error(`etcd cancelled the watch (its revision compacted away?): ${err.message}`, { cause: err }),
      );
    });
  }

  #fail(err: Error): void {
    this.#stopWatcher();
    if (this.#closed) return;
    this.#onError(
      new RegistryError(`etcd watch of ${this.#service}: ${err.message}; listing again`, { cause: err }),
    );
    this.#retry.retry(() => void this.#start());
  }

  #stopWatcher(): void {
    const watcher = this.#watcher;
    this.#watcher = undefined;
    watcher?.cancel().catch(() => {});
  }

  /**
   * Reads every key of the service and pushes the list (a full push, even if unchanged).
   * Watch responses that arrive meanwhile wait, and are applied after it when they are newer.
   */
  async #relist(): Promise<void> {
    const serial = ++this.#listing;
    const held: IWatchResponse[] = [];
    this.#held = held;
    try {
      const res = await this.#client.getAll().prefix(this.#keyPrefix).exec();
      if (this.#closed || serial !== this.#listing) return;
      this.#instances.clear();
      for (const kv of res.kvs) this.#put(kv);
      this.#revision = BigInt(res.header.revision);
      this.#held = undefined;
      for (const later of held) this.#apply(later);
      this.#retry.succeeded();
      this.#push();
    } finally {
      if (this.#held === held) this.#held = undefined;
    }
  }

  #onData(res: IWatchResponse): void {
    if (this.#held) this.#held.push(res);
    else if (this.#apply(res) && !this.#closed) this.#push();
  }

  /** Applies the events of one watch response; true when the instances changed. */
  #apply(res: IWatchResponse): boolean {
    let changed = false;
    for (const event of res.events) {
      // Already in the last list (several events of one transaction share a revision).
      if (BigInt(event.kv.mod_revision) <= this.#revision) continue;
      const key = event.kv.key.toString();
      if (event.type === 'Delete') changed = this.#instances.delete(key) || changed;
      else changed = this.#put(event.kv) || changed;
    }
    return changed;
  }

  /** Adds the instance a key holds; a malformed one is reported and left out. */
  #put(kv: IKeyValue): boolean {
    const key = kv.key.toString();
    const where = parseKey(this.#prefix, key);
    if (where?.service !== this.#service) return false; // a deeper service such as "<service>/x"
    try {
      this.#instances.set(key, decodeInstance(this.#prefix, key, kv.value));
      return true;
    } catch (err) {
      this.#onError(
        new RegistryError(`skipped a malformed instance: ${(err as Error).message}`, { cause: err }),
      );
      return this.#instances.delete(key);
    }
  }

  #push(): void {
    const list = [...this.#instances.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    this.#onChange(list);
  }
}
