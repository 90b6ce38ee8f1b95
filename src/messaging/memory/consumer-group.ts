/**
 * One consumer group of one topic: the messages it has yet to process (its backlog, in publish
 * order), who holds each key, and its members. Every member gets its share; a key's next message
 * waits until the previous one is settled, so order per key holds across members and retries.
 */
import type { DeliveryHandler, OutgoingMessage } from '../broker.ts';
import type { ResolvedSubscribeOptions } from '../validate.ts';
import { MemoryDelivery, type Outcome } from './delivery.ts';
import type { StoredMessage } from './topic.ts';

export type DeadLetterSink = (topic: string, message: OutgoingMessage) => void;

/** A subscription's place in its group. */
export class GroupMember {
  readonly inFlight = new Map<MemoryDelivery, NodeJS.Timeout>();
  leaving = false;
  #drained: (() => void) | undefined;

  constructor(
    readonly handler: DeliveryHandler,
    readonly options: ResolvedSubscribeOptions,
    /** The pause before a delivery whose handler threw is retried, by attempt. */
    readonly backoffMs: (attempt: number) => number,
  ) {}

  get hasRoom(): boolean {
    return !this.leaving && this.inFlight.size < this.options.maxInFlight;
  }

  /** Resolves when no delivery is in flight, or after `ms`. */
  drained(ms: number): Promise<void> {
    if (this.inFlight.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#drained = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  released(delivery: MemoryDelivery): void {
    clearTimeout(this.inFlight.get(delivery));
    this.inFlight.delete(delivery);
    if (this.inFlight.size === 0) this.#drained?.();
  }
}

interface Pending {
  readonly message: StoredMessage;
  /** Deliveries so far. */
  attempts: number;
}

export class ConsumerGroup {
  readonly #backlog: Pending[] = [];
  /** key → seq of the message holding it (in flight or waiting for its redelivery). */
  readonly #keyHolder = new Map<string, number>();
  readonly #members: GroupMember[] = [];
  #turn = 0;
  #dispatching = false;
  #again = false;
  /** For stats(): messages offered to the group, settled by it, and dead-lettered. */
  #offered = 0;
  #done = 0;
  #deadLettered = 0;

  constructor(
    readonly topic: string,
    readonly name: string,
    readonly deadLetter: DeadLetterSink,
  ) {}

  /** Messages offered and not yet settled: waiting, in flight or waiting for a redelivery. */
  get lag(): number {
    return this.#offered - this.#done;
  }

  get deadLettered(): number {
    return this.#deadLettered;
  }

  offer(message: StoredMessage): void {
    this.#offered++;
    this.#backlog.push({ message, attempts: 0 });
    this.#dispatch();
  }

  join(member: GroupMember): void {
    this.#members.push(member);
    this.#dispatch();
  }

  /** Waits up to `drainMs` for the member's handlers, then gives what is left to the others. */
  async leave(member: GroupMember, drainMs: number): Promise<void> {
    member.leaving = true;
    await member.drained(drainMs);
    for (const delivery of [...member.inFlight.keys()]) {
      delivery.settle({ kind: 'retry', delayMs: 0, reason: 'consumer left without settling' });
    }
    this.#members.splice(this.#members.indexOf(member), 1);
    this.#dispatch();
  }

  #dispatch(): void {
    // Settling inside a dispatch (a leave, a dead letter to this topic) must not re-enter it.
    if (this.#dispatching) {
      this.#again = true;
      return;
    }
    this.#dispatching = true;
    try {
      do {
        this.#again = false;
        this.#dispatchOnce();
      } while (this.#again);
    } finally {
      this.#dispatching = false;
    }
  }

  #dispatchOnce(): void {
    let i = 0;
    while (i < this.#backlog.length) {
      const member = this.#memberWithRoom();
      if (!member) return;
      const pending = this.#backlog[i]!;
      const { key, seq } = pending.message;
      const holder = key === undefined ? undefined : this.#keyHolder.get(key);
      if (holder !== undefined && holder !== seq) {
        i++; // an earlier message of this key is not settled yet
        continue;
      }
      this.#backlog.splice(i, 1);
      if (key !== undefined) this.#keyHolder.set(key, seq);
      this.#start(member, pending);
    }
  }

  #memberWithRoom(): GroupMember | undefined {
    const count = this.#members.length;
    for (let n = 0; n < count; n++) {
      const member = this.#members[(this.#turn + n) % count]!;
      if (member.hasRoom) {
        this.#turn = (this.#turn + n + 1) % count;
        return member;
      }
    }
    return undefined;
  }

  #start(member: GroupMember, pending: Pending): void {
    pending.attempts++;
    const delivery = new MemoryDelivery(this.topic, pending.message, pending.attempts, (d, outcome) => {
      member.released(d);
      this.#settled(member, pending, outcome);
    });
    const timer = setTimeout(
      () => delivery.settle({ kind: 'retry', delayMs: 0, reason: 'ack timeout' }),
      member.options.ackTimeoutMs,
    );
    member.inFlight.set(delivery, timer.unref());
    // Handlers run after this dispatch, never inside it.
    queueMicrotask(() => void this.#run(member, delivery));
  }

  async #run(member: GroupMember, delivery: MemoryDelivery): Promise<void> {
    try {
      await member.handler(delivery);
      delivery.settle({ kind: 'ack' });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      delivery.settle({ kind: 'retry', delayMs: member.backoffMs(delivery.attempt), reason });
    }
  }

  #settled(member: GroupMember, pending: Pending, outcome: Outcome): void {
    if (outcome.kind === 'ack') {
      this.#release(pending);
    } else if (outcome.kind === 'term') {
      this.#release(pending);
      this.#toDeadLetter(member, pending, outcome.reason);
    } else if (pending.attempts >= member.options.maxAttempts) {
      this.#release(pending);
      this.#toDeadLetter(member, pending, `max attempts reached: ${outcome.reason}`);
    } else if (outcome.delayMs > 0) {
      // The key stays held meanwhile, so later messages of the key wait for this one.
      setTimeout(() => this.#requeue(pending), outcome.delayMs).unref();
    } else {
      this.#requeue(pending);
      return;
    }
    this.#dispatch();
  }

  #requeue(pending: Pending): void {
    let at = this.#backlog.length;
    while (at > 0 && this.#backlog[at - 1]!.message.seq > pending.message.seq) at--;
    this.#backlog.splice(at, 0, pending);
    this.#dispatch();
  }

  #release(pending: Pending): void {
    this.#done++;
    const { key, seq } = pending.message;
    if (key !== undefined && this.#keyHolder.get(key) === seq) this.#keyHolder.delete(key);
  }

  #toDeadLetter(member: GroupMember, pending: Pending, reason: string): void {
    const topic = member.options.deadLetterTopic;
    if (topic === false) return;
    this.#deadLettered++;
    const { id, key, headers, payload } = pending.message;
    this.deadLetter(topic ?? `${this.topic}.dlq`, {
      id,
      key,
      headers: {
        ...headers,
        'x-death-reason': reason,
        'x-death-attempts': String(pending.attempts),
        'x-death-topic': this.topic,
        'x-death-group': this.name,
      },
      payload,
    });
  }
}
