import type { Etcd3, Lease as EtcdLeaseHandle } from 'etcd3';
import type { ServiceInstance } from '../instance.ts';
import { LeaseBase } from '../lease-base.ts';
import { RetryTimer } from '../retry-timer.ts';

/**
 * A registration held by an etcd lease: the key is put with the lease attached, the etcd3
 * client sends keepalives every ttl/3, and etcd deletes the key when the lease expires or is
 * revoked. When the lease is lost (revoked, or expired while the network was down), a new
 * lease is granted and the key put again, unless another registration holds the key by then;
 * while etcd is unreachable that is retried after 250 ms, doubling up to the ttl.
 */
export class EtcdLease extends LeaseBase {
  readonly #client: Etcd3;
  readonly #key: string;
  readonly #value: string;
  readonly #ttlSeconds: number;
  readonly #retry: RetryTimer;
  #lease: EtcdLeaseHandle;
  #renewing = false;

  constructor(
    client: Etcd3,
    instance: ServiceInstance,
    key: string,
    value: string,
    ttlSeconds: number,
    done: () => void,
  ) {
    super(instance, done);
    this.#client = client;
    this.#key = key;
    this.#value = value;
    this.#ttlSeconds = ttlSeconds;
    this.#retry = new RetryTimer({ baseMs: 250, maxMs: ttlSeconds * 1000 });
    this.#lease = client.lease(ttlSeconds, { autoKeepAlive: true });
  }

  /** Grants the lease and puts the key, replacing whatever registration held it. */
  async start(): Promise<void> {
    await this.#lease.put(this.#key).value(this.#value);
    this.#followLoss(this.#lease);
  }

  #followLoss(lease: EtcdLeaseHandle): void {
    lease.on('lost', () => {
      if (lease === this.#lease && !this.over && !this.#renewing) void this.#renew();
    });
  }

  async #renew(): Promise<void> {
    this.#renewing = true;
    try {
      while (!this.over) {
        const lease = this.#client.lease(this.#ttlSeconds, { autoKeepAlive: true });
        this.#lease = lease;
        try {
          const id = await lease.grant();
          // Only where no key is: a key that exists belongs to a registration that replaced ours.
          await this.#client
            .if(this.#key, 'Create', '==', 0)
            .then(this.#client.put(this.#key).value(this.#value).lease(id))
            .commit();
          if (!this.over) this.#followLoss(lease); // else deregister() revokes it, abandon() released it
          this.#retry.succeeded();
          break;
        } catch {
          lease.release();
          await new Promise<void>((resolve) => this.#retry.retry(resolve));
        }
      }
    } finally {
      this.#renewing = false;
    }
    // Lost again while the new key was being put: go round once more.
    if (!this.over && this.#lease.revoked()) void this.#renew();
  }

  protected stop(): void {
    this.#retry.cancel();
  }

  protected async remove(): Promise<void> {
    try {
      await this.#lease.revoke(); // deletes the keys the lease holds, at once
    } catch {
      this.#lease.release(); // unreachable server: the lease expires by itself
    }
  }

  protected override leave(): void {
    this.#lease.release(); // stops keepalives; etcd drops the key when the ttl runs out
  }
}
