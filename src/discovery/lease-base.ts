import type { ServiceInstance } from './instance.ts';
import type { Lease } from './registry.ts';

/**
 * The two ways every lease ends, in one place: `deregister()` removes the instance from the
 * server (once: later calls share the first one's promise), `abandon()` leaves it to expire as
 * a crash would. Either one first stops the lease's own work (`stop()`: heartbeats, retries,
 * subscriptions) and tells its registry (`done`); after either, both do nothing more.
 */
export abstract class LeaseBase implements Lease {
  readonly instance: ServiceInstance;
  readonly #done: () => void;
  #over = false;
  #deregistering: Promise<void> | undefined;

  constructor(instance: ServiceInstance, done: () => void) {
    this.instance = instance;
    this.#done = done;
  }

  /** The lease has ended: work in flight must not register the instance again. */
  protected get over(): boolean {
    return this.#over;
  }

  deregister(): Promise<void> {
    if (!this.#deregistering) {
      if (this.#over) this.#deregistering = Promise.resolve();
      else {
        this.#end();
        this.#deregistering = this.remove();
      }
    }
    return this.#deregistering;
  }

  abandon(): void {
    if (this.#over) return;
    this.#end();
    this.leave();
  }

  #end(): void {
    this.#over = true;
    this.stop();
    this.#done();
  }

  /** Stops the lease's own work: timers, retries, subscriptions. */
  protected abstract stop(): void;

  /** Removes the instance from the server, once the lease's work has stopped. */
  protected abstract remove(): Promise<void>;

  /** Leaves the instance to expire on the server; nothing more to do unless overridden. */
  protected leave(): void {}
}
