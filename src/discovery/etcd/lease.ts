import type { Etcd3, Lease as EtcdLeaseHandle } from 'etcd3';
import type { ServiceInstance } from '../instance.ts';
import type { Lease } from '../registry.ts';

/**
 * A registration held by an etcd lease: the key is put with the lease attached, the etcd3
 * client sends keepalives every ttl/3, and etcd deletes the key when the lease expires or is
 * revoked. When the lease is lost (revoked, or expired while the network was down), a new
 * lease is granted and the key put again, unless another registration holds the key by then.
 */
export class EtcdLease implements Lease {
  readonly instance: ServiceInstance;
  readonly #client: Etcd3;
  readonly #key: string;
  readonly #value: string;
  readonly #ttlSeconds: number;
  readonly #done: () => void;
  #lease: EtcdLeaseHandle;
  #over = false;
  #renewing = false;
  #wait: NodeJS.Timeout | undefined;

  constructor(
    client: Etcd3,
    instance: ServiceInstance,
    key: string,
    value: string,
    ttlSeconds: number,
    done: () => void,
  ) {
    this.instance = instance;
    this.#client = client;
    this.#key = key;
    this.#value = value;
    this.#ttlSeconds = ttlSeconds;
    this.#done = done;
    this.#lease = client.lease(ttlSeconds, { autoKeepAlive: true });
  }

  /** Grants the lease and puts the key, replacing whatever registration held it. */
  async start(): Promise<void> {
    await this.#lease.put(this.#key).value(this.#value);
    this.#followLoss(this.#lease);
  }

  #followLoss(lease: EtcdLeaseHandle): void {
    lease.on('lost', () => {
      if (lease === this.#lease && !this.#over && !this.#renewing) void this.#renew();
    });
  }

  async #renew(): Promise<void> {
    this.#renewing = true;
    let delayMs = 250;
    try {
      while (!this.#over) {
        const lease = this.#client.lease(this.#ttlSeconds, { autoKeepAlive: true });
        this.#lease = lease;
        try {
          const id = await lease.grant();
          // Only where no key is: a key that exists belongs to a registration that replaced ours.
          await this.#client
            .if(this.#key, 'Create', '==', 0)
            .then(this.#client.put(this.#key).value(this.#value).lease(id))
            .commit();
          if (!this.#over) this.#followLoss(lease); // else deregister() revokes it, abandon() released it
          return;
        } catch {
          lease.release();
          await new Promise<void>((resolve) => {
            this.#wait = setTimeout(resolve, delayMs);
            this.#wait.unref();
          });
          delayMs = Math.min(delayMs * 2, this.#ttlSeconds * 1000);
        }
      }
    } finally {
      this.#renewing = false;
    }
    // Lost again while the new key was being put: go round once more.
    if (!this.#over && this.#lease.revoked()) void this.#renew();
  }

  async deregister(): Promise<void> {
    if (this.#over) return;
    this.#end();
    try {
      await this.#lease.revoke(); // deletes the keys the lease holds, at once
    } catch {
      this.#lease.release(); // unreachable server: the lease expires by itself
    }
  }

  abandon(): void {
    if (this.#over) return;
    this.#end();
    this.#lease.release(); // stops keepalives; etcd drops the key when the ttl runs out
  }

  #end(): void {
    this.#over = true;
    clearTimeout(this.#wait);
    this.#done();
  }
}
