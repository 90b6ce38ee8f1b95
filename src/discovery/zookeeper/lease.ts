import type { ServiceInstance } from '../instance.ts';
import type { Lease } from '../registry.ts';
import { ZK, type ZkSession, zkCode } from './session.ts';

/**
 * A registration held by an ephemeral node of a session of its own: the lease ttl is that
 * session's timeout, keeping the session alive is the heartbeat, and a crash (or `abandon()`)
 * leaves the node to the server, which deletes it when the session times out. When the session
 * expires anyway (a partition longer than the ttl), the node is created again in a new session.
 */
export class ZooKeeperLease implements Lease {
  readonly instance: ServiceInstance;
  readonly #session: ZkSession;
  readonly #path: string;
  readonly #data: Buffer;
  readonly #done: () => void;
  readonly #unsubscribe: () => void;
  #over = false;
  #retry: NodeJS.Timeout | undefined;

  constructor(instance: ServiceInstance, session: ZkSession, path: string, data: Buffer, done: () => void) {
    this.instance = instance;
    this.#session = session;
    this.#path = path;
    this.#data = data;
    this.#done = done;
    this.#unsubscribe = session.onEvent((event, fresh) => {
      if (event === 'connected' && fresh) this.#recreate();
    });
  }

  /** Creates the node, taking the place of a node another session holds for the same id. */
  async start(): Promise<void> {
    await this.#put(true);
  }

  #recreate(): void {
    clearTimeout(this.#retry);
    if (this.#over) return;
    // Only where no node is: one that exists belongs to a registration that replaced ours.
    this.#put(false).catch(() => {
      if (this.#over) return;
      this.#retry = setTimeout(() => this.#recreate(), 1000);
      this.#retry.unref();
    });
  }

  async #put(replace: boolean): Promise<void> {
    const parent = this.#path.slice(0, this.#path.lastIndexOf('/'));
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#session.createEphemeral(this.#path, this.#data);
        return;
      } catch (err) {
        const code = zkCode(err);
        if (attempt >= 5 || (code !== ZK.NO_NODE && code !== ZK.NODE_EXISTS)) throw err;
        if (code === ZK.NO_NODE) {
          await this.#session.mkdirp(parent);
          continue;
        }
        const stat = await this.#session.exists(this.#path);
        if (!stat) continue;
        if (stat.ephemeralOwner.toString('hex') === this.#session.sessionId || !replace) return;
        try {
          await this.#session.replaceEphemeral(this.#path, stat.version, this.#data);
          return;
        } catch (replaceErr) {
          const again = zkCode(replaceErr);
          if (again !== ZK.NO_NODE && again !== ZK.BAD_VERSION && again !== ZK.NODE_EXISTS) throw replaceErr;
        }
      }
    }
  }

  async deregister(): Promise<void> {
    if (this.#over) return;
    this.#end();
    try {
      const stat = await this.#session.exists(this.#path);
      if (stat && stat.ephemeralOwner.toString('hex') === this.#session.sessionId) {
        await this.#session.remove(this.#path, stat.version);
        // Service nodes are persistent (this client cannot create Curator's container nodes):
        // remove this one when it is left empty. Fails harmlessly when other instances remain.
        await this.#session.remove(this.#path.slice(0, this.#path.lastIndexOf('/'))).catch(() => {});
      }
    } catch {
      // Unreachable server: closing the session below (or its timeout) removes the node.
    }
    await this.#session.close();
  }

  abandon(): void {
    if (this.#over) return;
    this.#end();
    this.#session.drop();
  }

  #end(): void {
    this.#over = true;
    clearTimeout(this.#retry);
    this.#unsubscribe();
    this.#done();
  }
}
