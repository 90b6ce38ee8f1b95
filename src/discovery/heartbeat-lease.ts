import type { ServiceInstance } from './instance.ts';
import { LeaseBase } from './lease-base.ts';
import type { Lease } from './registry.ts';
import type { RegistryHoldings } from './registry-holdings.ts';
import { RetryTimer } from './retry-timer.ts';

/** After a failed heartbeat, the next one comes this soon, doubling up to the cap (and to the interval). */
const RETRY = { baseMs: 100, maxMs: 5000 } as const;

/** What a registry does for a lease kept by heartbeats; the lease decides when. */
export interface Heartbeats {
  /** Time between heartbeats: a third of the ttl last granted, asked before each one. */
  intervalMs(): number;
  /**
   * Renews the lease once: true when renewed, false when the server no longer knows the instance
   * (it restarted without its data, or the lease ran out while the network was down). Rejects
   * when the server cannot be reached or refuses.
   */
  renew(): Promise<boolean>;
  /** Registers the instance again, after `renew()` answered false. */
  register(): Promise<void>;
  /** Removes the instance from the server: `deregister()`. */
  remove(): Promise<void>;
  /** A heartbeat failed; the lease tries again with backoff, within the interval. */
  onError?(err: unknown): void;
}

/**
 * A registration kept alive by heartbeats every interval (Consul's TTL check passes, Eureka's
 * renewals, the hub's heartbeats, the static registry's renewals). When the server has
 * forgotten the instance it is registered again; a failed heartbeat is retried sooner, with
 * backoff, and reported. Never throws into the event loop. `deregister()` waits for a heartbeat
 * in flight, so a re-registration cannot come after the removal.
 */
export class HeartbeatLease extends LeaseBase {
  readonly #heartbeats: Heartbeats;
  readonly #timer = new RetryTimer(RETRY);
  #beating: Promise<void> | undefined;

  constructor(instance: ServiceInstance, heartbeats: Heartbeats, done: () => void) {
    super(instance, done);
    this.#heartbeats = heartbeats;
    this.#schedule(heartbeats.intervalMs());
  }

  protected stop(): void {
    this.#timer.cancel();
  }

  protected async remove(): Promise<void> {
    if (this.#beating) await this.#beating;
    await this.#heartbeats.remove();
  }

  #schedule(delayMs: number): void {
    if (this.over) return;
    this.#timer.after(delayMs, () => {
      this.#beating = this.#beat().then((next) => {
        this.#beating = undefined;
        this.#schedule(next);
      });
    });
  }

  /** One heartbeat; resolves with the wait before the next. */
  async #beat(): Promise<number> {
    const interval = this.#heartbeats.intervalMs();
    try {
      if (!(await this.#heartbeats.renew()) && !this.over) await this.#heartbeats.register();
      this.#timer.succeeded();
      return this.#heartbeats.intervalMs(); // a new registration may have been granted another ttl
    } catch (err) {
      try {
        if (!this.over) this.#heartbeats.onError?.(err);
      } catch {
        // An error handler that throws must not stop the heartbeats.
      }
      return Math.min(interval, this.#timer.failed());
    }
  }
}

/**
 * Registers `instance` (`heartbeats.register()`) for a registry that is open, and keeps it
 * registered with a HeartbeatLease that `held` holds until it ends.
 */
export async function registerWithHeartbeats(
  held: RegistryHoldings,
  instance: ServiceInstance,
  heartbeats: Heartbeats,
): Promise<Lease> {
  held.assertOpen();
  await heartbeats.register();
  const lease: HeartbeatLease = new HeartbeatLease(instance, heartbeats, () => held.release(lease));
  return held.hold(lease);
}
