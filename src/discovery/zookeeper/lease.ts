import type { ServiceInstance } from '../instance.ts';
import { LeaseBase } from '../lease-base.ts';
import { RetryTimer } from '../retry-timer.ts';
import { ZK, type ZkSession, zkCode } from './session.ts';

/** A node that could not be created again in a new session is tried again this often. */
const RECREATE_RETRY_MS = 1000;

/**
 * A registration held by an ephemeral node of a session of its own: the lease ttl is that
 * session's timeout, keeping the session alive is the heartbeat, and a crash (or `abandon()`)
 * leaves the node to the server, which deletes it when the session times out. When the session
 * expires anyway (a partition longer than the ttl), the node is created again in a new session.
 */
export class ZooKeeperLease extends LeaseBase {
  readonly #session: ZkSession;
  readonly #path: string;
  readonly #data: Buffer;
  readonly #unsubscribe: () => void;
  readonly #retry = new RetryTimer();

  constructor(instance: ServiceInstance, session: ZkSession, path: string, data: Buffer, done: () => void) {
    super(instance, done);
    this.#session = session;
    this.#path = path;
    this.#data = data;
    this.#unsubscribe = session.onEvent((event, fresh) => {
      if (event === 'connected' && fresh) this.#recreate();
    });
  }

  /** Creates the node, taking the place of a node another session holds for the same id. */
  async start(): Promise<void> {
    await this.#put(true);
  }

  #recreate(): void {
    this.#retry.cancel();
    if (this.over) return;
    // Only where no node is: one that exists belongs to a registration that replaced ours.
    this.#put(false).catch(() => {
      if (!this.over) this.#retry.after(RECREATE_RETRY_MS, () => this.#recreate());
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

  protected stop(): void {
    this.#retry.cancel();
    this.#unsubscribe();
  }

  protected async remove(): Promise<void> {
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

  protected override leave(): void {
    this.#session.drop();
  }
}
