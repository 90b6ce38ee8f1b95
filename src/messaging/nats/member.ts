/**
 * One subscription: a member of a group, pulling from the group's durable consumer with
 * consume(). JetStream bounds what it hands out by the consumer's max_ack_pending; this side
 * runs the handlers, at most `maxInFlight` at once, and keeps order per key within the member:
 * a key's next message waits while an earlier one of that key is running, being dead-lettered
 * or awaiting its redelivery after a nack. Members of one group do not see each other's
 * messages, so across members that order is not guaranteed (capabilities.orderingPerKey).
 */
import type { Consumer, ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import type { DeliveryHandler, Subscription } from '../broker.ts';
import type { ResolvedSubscribeOptions } from '../validate.ts';
import { NatsDelivery, type Outcome, quietly } from './delivery.ts';

export interface MemberSetup {
  topic: string;
  stream: string;
  options: ResolvedSubscribeOptions;
  handler: DeliveryHandler;
  /** Makes sure the group's durable consumer exists; called again if consuming stops by itself. */
  open(): Promise<Consumer>;
  /**
   * Publishes the message to the dead-letter topic (not when that is false) as handled
   * `attempts` times; rejects on failure.
   */
  deadLetter(delivery: NatsDelivery, reason: string, attempts: number): Promise<void>;
  /** The pause before a delivery whose handler threw is redelivered, by attempt. */
  backoffMs(attempt: number): number;
  drainTimeoutMs: number;
  /** Sends what the connection holds (acks and naks) to the server, within a bound. */
  flush(): Promise<void>;
  /** False while the server is out of reach: closing waits for no round trip then. */
  connected(): boolean;
  /** True once the connection is closed for good: nothing to reopen then. */
  connectionClosed(): boolean;
}

const ACK: Outcome = Object.freeze({ kind: 'ack' });

/** The message that holds a key, and when it lets go if its redelivery goes elsewhere. */
interface KeyHold {
  seq: number;
  timer?: NodeJS.Timeout;
}

export class NatsMember implements Subscription {
  /** Delivered and not started (its key is busy, or no room), in delivery order. */
  readonly #waiting: NatsDelivery[] = [];
  readonly #running = new Map<number, NatsDelivery>();
  readonly #keys = new Map<string, KeyHold>();
  /** Dead letters being published. */
  readonly #settling = new Set<Promise<void>>();
  readonly #touchTimer: NodeJS.Timeout;
  #messages: ConsumerMessages | undefined;
  #leaving = false;
  #pumping = false;
  #again = false;
  #closing: Promise<void> | undefined;
  #idle: (() => void) | undefined;
  /** Bound once: a closure per message costs more than the rest of its bookkeeping. */
  readonly #onSettle = (d: NatsDelivery, outcome: Outcome) => this.#settled(d, outcome);

  constructor(readonly setup: MemberSetup) {
    // A waiting delivery is kept alive at the broker, or its ack wait would hand it to another member.
    const every = Math.max(20, Math.floor(setup.options.ackTimeoutMs / 3));
    this.#touchTimer = setInterval(() => {
      const now = Date.now();
      for (const d of this.#waiting) if (now - d.touchedAt >= every) d.touch();
    }, every).unref();
  }

  async start(): Promise<void> {
    try {
      await this.#consume(await this.setup.open());
    } catch (error) {
      clearInterval(this.#touchTimer);
      throw error;
    }
  }

  close(): Promise<void> {
    this.#leaving = true;
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #consume(consumer: Consumer): Promise<void> {
    const { maxInFlight } = this.setup.options;
    const messages = await consumer.consume({
      max_messages: maxInFlight,
      callback: (msg) => this.#arrive(msg),
    });
    if (this.#leaving) {
      // Closed while this was being set up: #close() found nothing to stop.
      await within(messages.close(), this.setup.drainTimeoutMs);
      return;
    }
    this.#messages = messages;
    void messages.closed().then(() => {
      if (!this.#leaving && !this.setup.connectionClosed()) void this.#reopen();
    });
  }

  /** consume() gave up (its consumer was deleted, say): set the consumer up again, with backoff. */
  async #reopen(): Promise<void> {
    for (let attempt = 0; !this.#leaving; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(30_000, 250 * 2 ** attempt)).unref());
      if (this.#leaving || this.setup.connectionClosed()) return;
      try {
        await this.#consume(await this.setup.open());
        return;
      } catch {
        // the server may still be out of reach: try again
      }
    }
  }

  /** Called by the client for each message; never throws, or consume() would stop. */
  #arrive(msg: JsMsg): void {
    let d: NatsDelivery;
    try {
      d = new NatsDelivery(this.setup.topic, this.setup.stream, msg, this.#onSettle);
    } catch {
      return; // not a JetStream delivery at all (no ack subject): nothing to settle
    }
    if (this.#leaving) {
      // Arrived while the subscription drains: goes back with the others once consuming stopped.
      if (this.#messages === undefined) quietly(() => msg.nak());
      else this.#waiting.push(d);
      return;
    }
    // JetStream handed the message out again (its ack wait passed): the new delivery replaces the old.
    const earlier = this.#running.get(d.seq);
    if (earlier) {
      earlier.supersede();
      this.#running.delete(d.seq);
    }
    const queued = this.#waiting.findIndex((w) => w.seq === d.seq);
    if (queued >= 0) this.#waiting.splice(queued, 1)[0]!.supersede();
    if (d.attempt > this.setup.options.maxAttempts) {
      // The previous delivery was the last attempt, and it was never settled.
      const reason = `max attempts reached: attempt ${d.attempt - 1} was not settled in time`;
      this.#deadLetter(d, reason, d.attempt - 1);
      return;
    }
    this.#waiting.push(d);
    this.#pump();
  }

  /**
   * Starts what may start. A handler runs right away, inside the client's callback as a bare
   * consumer's would, so the acks of a batch leave in one write; one that settles at once asks
   * for another round instead of re-entering this one.
   */
  #pump(): void {
    if (this.#leaving) return;
    if (this.#pumping) {
      this.#again = true;
      return;
    }
    this.#pumping = true;
    try {
      do {
        this.#again = false;
        for (const d of this.#startable()) this.#invoke(d);
      } while (this.#again && !this.#leaving);
    } finally {
      this.#pumping = false;
    }
  }

  /** Takes from the waiting list what may run now: room left, and its key free. */
  #startable(): NatsDelivery[] {
    const { maxInFlight, ackTimeoutMs } = this.setup.options;
    const start: NatsDelivery[] = [];
    let i = 0;
    while (i < this.#waiting.length && this.#running.size < maxInFlight) {
      const d = this.#waiting[i]!;
      if (d.key !== undefined) {
        const hold = this.#keys.get(d.key);
        if (hold && hold.seq !== d.seq) {
          i++; // an earlier message of this key is not settled yet
          continue;
        }
        clearTimeout(hold?.timer);
        this.#keys.set(d.key, { seq: d.seq });
      }
      this.#waiting.splice(i, 1);
      this.#running.set(d.seq, d);
      // Its ack wait ran while it waited: give the handler the whole of it.
      if (Date.now() - d.touchedAt > ackTimeoutMs / 4) d.touch();
      start.push(d);
    }
    return start;
  }

  /** Runs the handler; never throws. Resolving (or returning) acks, throwing retries. */
  #invoke(d: NatsDelivery): void {
    let result: unknown;
    try {
      result = this.setup.handler(d);
    } catch (error) {
      this.#failed(d, error);
      return;
    }
    if (!isPromiseLike(result)) d.settle(ACK);
    else
      result.then(
        () => d.settle(ACK),
        (error: unknown) => this.#failed(d, error),
      );
  }

  #failed(d: NatsDelivery, error: unknown): void {
    const reason = error instanceof Error ? error.message : String(error);
    d.settle({ kind: 'retry', delayMs: this.setup.backoffMs(d.attempt), reason });
  }

  #settled(d: NatsDelivery, outcome: Outcome): void {
    if (this.#running.get(d.seq) === d) this.#running.delete(d.seq);
    if (outcome.kind === 'ack') {
      quietly(() => d.msg.ack());
      this.#release(d);
    } else if (outcome.kind === 'term') {
      this.#deadLetter(d, outcome.reason);
    } else if (d.attempt >= this.setup.options.maxAttempts) {
      this.#deadLetter(d, `max attempts reached: ${outcome.reason}`);
    } else {
      this.#retry(d, outcome.delayMs);
    }
    this.#checkIdle();
    this.#pump();
  }

  /** Back to JetStream, redelivered after `delayMs`; the key waits for that redelivery. */
  #retry(d: NatsDelivery, delayMs: number): void {
    quietly(() => d.msg.nak(delayMs));
    const hold = d.key === undefined ? undefined : this.#keys.get(d.key);
    if (d.key === undefined || hold?.seq !== d.seq || this.#leaving) return;
    // JetStream may give the redelivery to another member: then let the key go after a while.
    clearTimeout(hold.timer);
    const wait = delayMs + this.setup.options.ackTimeoutMs;
    this.#keys.set(d.key, { seq: d.seq, timer: setTimeout(() => this.#release(d), wait).unref() });
  }

  #release(d: NatsDelivery): void {
    if (d.key === undefined) return;
    const hold = this.#keys.get(d.key);
    if (hold?.seq !== d.seq) return;
    clearTimeout(hold.timer);
    this.#keys.delete(d.key);
    this.#pump();
  }

  #deadLetter(d: NatsDelivery, reason: string, attempts = d.attempt): void {
    const settling = (async () => {
      try {
        await this.setup.deadLetter(d, reason, attempts);
        quietly(() => d.msg.term());
        this.#release(d);
      } catch {
        // The dead-letter topic is out of reach: the redelivery dead-letters it again.
        this.#retry(d, this.setup.backoffMs(d.attempt));
      }
    })();
    this.#settling.add(settling);
    void settling.finally(() => {
      this.#settling.delete(settling);
      this.#checkIdle();
    });
  }

  #checkIdle(): void {
    if (this.#running.size === 0 && this.#settling.size === 0) this.#idle?.();
  }

  /** Resolves when no handler runs and no dead letter is being published, or after `ms`. */
  #quiet(ms: number): Promise<void> {
    if (this.#running.size === 0 && this.#settling.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#idle = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  async #close(): Promise<void> {
    clearInterval(this.#touchTimer);
    await this.#stopConsuming();
    // What never started goes back at once; the group's other members get it.
    for (const d of this.#waiting.splice(0)) {
      d.supersede();
      quietly(() => d.msg.nak());
    }
    for (const hold of this.#keys.values()) clearTimeout(hold.timer);
    this.#keys.clear();
    await this.#quiet(this.setup.drainTimeoutMs);
    // Handlers still running after the drain timeout: their messages go to another member.
    for (const d of this.#running.values()) {
      d.supersede();
      quietly(() => d.msg.nak());
    }
    this.#running.clear();
    if (this.setup.connected()) await this.setup.flush();
  }

  /**
   * consume().close() unsubscribes at once: a message JetStream sent just before would be
   * dropped by the client and wait out its ack wait (30 s by default) before anyone gets it.
   * Draining its subscription (unsubscribe, then a round trip) lets such messages still
   * arrive, to be given back with the others.
   */
  async #stopConsuming(): Promise<void> {
    const messages = this.#messages;
    if (!messages) return;
    const inner = (messages as unknown as { sub?: { drain?: () => Promise<void> } }).sub;
    if (typeof inner?.drain === 'function' && this.setup.connected()) {
      await within(inner.drain(), this.setup.drainTimeoutMs);
    }
    this.#messages = undefined;
    await within(messages.close(), this.setup.drainTimeoutMs);
  }
}

/** Waits for `promise` at most `ms`; its failure is of no interest to the caller. */
export async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    promise.catch(() => {}),
    new Promise((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}
