import type { ServiceInstance } from '../instance.ts';
import { RegistryError, type Watch } from '../registry.ts';
import { RetryTimer } from '../retry-timer.ts';
import { fromCuratorJson } from './curator-instance.ts';
import { type Stat, ZK, type ZkSession, zkCode } from './session.ts';

/** A read that failed while connected is tried again this soon (a reconnect reads anyway). */
const READ_RETRY_MS = 1000;

/**
 * Follows one service node. ZooKeeper watches fire once, so every read re-arms them: the
 * children of the service node (instances come and go), the data of each instance (Curator's
 * updateService rewrites a node in place), and the service node's existence while it has none.
 * Every event, reconnect or new session leads to a fresh read of the whole service; reads are
 * coalesced so a burst of events costs one or two reads.
 */
export class ZooKeeperWatch implements Watch {
  readonly #session: ZkSession;
  readonly #service: string;
  readonly #path: string;
  readonly #onChange: (instances: ServiceInstance[]) => void;
  readonly #onError: (err: Error) => void;
  readonly #unsubscribe: () => void;
  /** Instance nodes whose data watch is armed on the current session. */
  readonly #armed = new Set<string>();
  /** Malformed nodes already reported (path@mzxid), so each bad version is reported once. */
  #reported = new Set<string>();
  #closed = false;
  #reading = false;
  #again = false;
  #force = true;
  #last: string | undefined;
  readonly #retry = new RetryTimer();

  constructor(
    session: ZkSession,
    service: string,
    path: string,
    onChange: (instances: ServiceInstance[]) => void,
    onError: (err: Error) => void,
  ) {
    this.#session = session;
    this.#service = service;
    this.#path = path;
    this.#onChange = onChange;
    this.#onError = onError;
    this.#unsubscribe = session.onEvent((event, fresh) => {
      if (event === 'disconnected') {
        this.#onError(new RegistryError('ZooKeeper connection lost; the watch resumes when it is back'));
      } else if (event === 'connected') {
        // A new session has none of our watches; push the list again after any reconnect.
        if (fresh) this.#armed.clear();
        this.#force = true;
        this.#refresh();
      }
    });
    this.#refresh();
  }

  close(): void {
    this.#closed = true;
    this.#retry.cancel();
    this.#unsubscribe();
  }

  readonly #watcher = (event: { getPath(): string }): void => {
    this.#armed.delete(event.getPath());
    this.#refresh();
  };

  #refresh(): void {
    if (this.#closed) return;
    if (this.#reading) {
      this.#again = true;
      return;
    }
    this.#reading = true;
    this.#retry.cancel();
    void this.#readLoop();
  }

  async #readLoop(): Promise<void> {
    try {
      do {
        this.#again = false;
        const instances = await this.#read();
        if (this.#closed) return;
        const key = JSON.stringify(instances);
        if (this.#force || key !== this.#last) {
          this.#force = false;
          this.#last = key;
          this.#onChange(instances);
        }
      } while (this.#again && !this.#closed);
    } catch (err) {
      if (this.#closed) return;
      this.#onError(err as Error);
      // A reconnect triggers a read as well; this covers a request that failed while connected.
      this.#retry.after(READ_RETRY_MS, () => this.#refresh());
    } finally {
      this.#reading = false;
    }
  }

  async #read(): Promise<ServiceInstance[]> {
    let children: string[];
    try {
      [children] = await this.#session.getChildren(this.#path, this.#watcher);
    } catch (err) {
      if (zkCode(err) !== ZK.NO_NODE) throw err;
      // No service node yet: watch for its creation. If it appeared meanwhile, read again.
      if (await this.#session.exists(this.#path, this.#watcher)) this.#again = true;
      return [];
    }
    const reads = children.sort().map(async (id) => {
      const path = `${this.#path}/${id}`;
      let data: Buffer | null;
      let stat: Stat;
      // Marked before the request: its watch may fire in the same tick as its answer.
      const arm = !this.#armed.has(path);
      if (arm) this.#armed.add(path);
      try {
        [data, stat] = await this.#session.getData(path, arm ? this.#watcher : undefined);
      } catch (err) {
        if (arm) this.#armed.delete(path);
        if (zkCode(err) === ZK.NO_NODE) return undefined; // gone meanwhile; the child watch fires
        throw err;
      }
      try {
        return fromCuratorJson(this.#service, id, data);
      } catch (err) {
        const version = `${path}@${stat.mzxid.toString('hex')}`;
        if (!this.#reported.has(version)) {
          this.#reported.add(version);
          const message = `skipped the malformed instance node ${path}: ${(err as Error).message}`;
          this.#onError(new RegistryError(message, { cause: err }));
        }
        return undefined;
      }
    });
    const instances = (await Promise.all(reads)).filter((i): i is ServiceInstance => i !== undefined);
    // Forget reports of nodes that are gone, so the set stays as small as the service.
    const present = new Set(children.map((id) => `${this.#path}/${id}@`));
    this.#reported = new Set(
      [...this.#reported].filter((v) => present.has(v.slice(0, v.lastIndexOf('@') + 1))),
    );
    return instances;
  }
}
