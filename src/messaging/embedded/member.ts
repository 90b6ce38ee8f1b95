/**
 * A subscription's place in its consumer group: its handler and options, the deliveries it
 * holds, and their ack deadlines. Deadlines are swept by one timer per member rather than one
 * per delivery: every delivery of a member has the same timeout, so the deliveries held in
 * start order are also in deadline order and the sweep only ever looks at the oldest.
 */
import type { DeliveryHandler } from '../broker.ts';
import type { MemoryDelivery } from '../memory/delivery.ts';
import type { ResolvedSubscribeOptions } from '../validate.ts';

export class GroupMember {
  /** Deliveries not yet settled, in start order, with their ack deadlines. */
  readonly #inFlight = new Map<MemoryDelivery, number>();
  #timer: NodeJS.Timeout | undefined;
  #drained: (() => void) | undefined;
  leaving = false;

  constructor(
    readonly handler: DeliveryHandler,
    readonly options: ResolvedSubscribeOptions,
  ) {}

  get hasRoom(): boolean {
    return !this.leaving && this.#inFlight.size < this.options.maxInFlight;
  }

  /** Starts the ack clock of a delivery handed to this member. */
  hold(delivery: MemoryDelivery): void {
    this.#inFlight.set(delivery, Date.now() + this.options.ackTimeoutMs);
    if (this.#timer === undefined) this.#arm(this.options.ackTimeoutMs);
  }

  released(delivery: MemoryDelivery): void {
    this.#inFlight.delete(delivery);
    if (this.#inFlight.size === 0) this.#drained?.();
  }

  /** Resolves when no delivery is in flight, or after `ms`. */
  drained(ms: number): Promise<void> {
    if (this.#inFlight.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#drained = done;
    });
  }

  /** Settles everything still held as a retry (the member left without settling it). */
  abandon(reason: string): void {
    for (const delivery of [...this.#inFlight.keys()]) delivery.settle({ kind: 'retry', delayMs: 0, reason });
    this.stop();
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(ms: number): void {
    this.#timer = setTimeout(() => this.#sweep(), Math.max(ms, 1));
    this.#timer.unref();
  }

  #sweep(): void {
    this.#timer = undefined;
    const now = Date.now();
    const expired: MemoryDelivery[] = [];
    for (const [delivery, deadline] of this.#inFlight) {
      if (deadline > now) {
        this.#arm(deadline - now);
        break;
      }
      expired.push(delivery);
    }
    // Settled after the loop: a settlement may start new deliveries, which hold() then times.
    // The first settlement wins, so a late ack from the handler is ignored.
    for (const delivery of expired) delivery.settle({ kind: 'retry', delayMs: 0, reason: 'ack timeout' });
  }
}
