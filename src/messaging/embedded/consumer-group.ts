/**
 * One consumer group of one topic in the embedded broker. Its cursors read the partitions;
 * messages ready for delivery wait in two queues (redeliveries first); members are served
 * round-robin, each up to its maxInFlight. A key's next message is offered only once the
 * previous one is settled (the cursor sees to it), so order per key holds across members
 * and retries, while other keys go on.
 */
import type { OutgoingMessage } from '../broker.ts';
import type { PartitionedLog } from '../log/index.ts';
import { ACK, MemoryDelivery, type Outcome } from '../memory/delivery.ts';
import type { GroupMember } from './member.ts';
import { type LogBrokerSettings, retryDelay } from './options.ts';
import { type CursorHost, type HeldMessage, PartitionCursor } from './partition-cursor.ts';
import { Queue } from './queue.ts';

/** What a group needs from its broker. */
export interface GroupContext {
  readonly settings: LogBrokerSettings;
  /** Appends a dead letter; resolves once it is durable. */
  deadLetter(topic: string, message: OutgoingMessage): Promise<unknown>;
  /** The group's low-water marks may have moved: commit them (batched). */
  progressed(group: ConsumerGroup): void;
}

const DEAD_LETTER_RETRY_MS = 1000;

export class ConsumerGroup implements CursorHost {
  readonly cursors: PartitionCursor[];
  readonly #ready = new Queue<HeldMessage>();
  readonly #retries = new Queue<HeldMessage>();
  readonly #members: GroupMember[] = [];
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #deadLetters = new Set<Promise<void>>();
  limits: { messages: number; bytes: number };
  /** Messages this group dead-lettered since the broker opened: for stats(). */
  deadLettered = 0;
  /** Deliveries started by a dispatch, whose handlers run together once it is over. */
  #starting: [GroupMember, MemoryDelivery][] = [];
  #turn = 0;
  #dispatching = false;
  #again = false;
  #closed = false;

  constructor(
    readonly topic: string,
    readonly name: string,
    log: PartitionedLog,
    starts: readonly number[],
    readonly context: GroupContext,
  ) {
    this.cursors = starts.map((start, i) => new PartitionCursor(i, log.partition(i), start, this));
    this.limits = { messages: context.settings.readAheadMessages, bytes: context.settings.readAheadBytes };
  }

  get active(): boolean {
    return !this.#closed && this.#members.length > 0;
  }

  offer(message: HeldMessage): void {
    this.#ready.push(message);
    this.#dispatch();
  }

  moved(): void {
    this.context.progressed(this);
  }

  failed(err: Error): void {
    this.context.settings.onError(err);
  }

  /** New records in `partition`: read them if there is room. */
  appended(partition: number): void {
    this.cursors[partition]?.wake();
  }

  join(member: GroupMember): void {
    this.#members.push(member);
    this.#resize();
    this.#dispatch();
    for (const cursor of this.cursors) cursor.wake();
  }

  /** Waits up to `drainMs` for the member's handlers, then gives what is left to the others. */
  async leave(member: GroupMember, drainMs: number): Promise<void> {
    member.leaving = true;
    await member.drained(drainMs);
    member.abandon('consumer left without settling');
    this.#members.splice(this.#members.indexOf(member), 1);
    this.#resize();
    this.#dispatch();
  }

  /**
   * Stops the group: timers cleared, dead letters in progress awaited. What is still held
   * stays below the low-water mark, so the next open delivers it again.
   */
  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    while (this.#deadLetters.size > 0) await Promise.allSettled([...this.#deadLetters]);
  }

  /** The group holds at least what its members may have in flight. */
  #resize(): void {
    const inFlight = this.#members.reduce((sum, m) => sum + m.options.maxInFlight, 0);
    this.limits = {
      messages: Math.max(this.context.settings.readAheadMessages, inFlight),
      bytes: this.context.settings.readAheadBytes,
    };
  }

  #dispatch(): void {
    // A settlement inside a dispatch (a member leaving) must not re-enter it.
    if (this.#dispatching) {
      this.#again = true;
      return;
    }
    this.#dispatching = true;
    try {
      do {
        this.#again = false;
        while (!this.#closed) {
          const queue = this.#retries.length > 0 ? this.#retries : this.#ready;
          if (queue.length === 0) break;
          const member = this.#memberWithRoom();
          if (!member) break;
          this.#start(member, queue.shift()!);
        }
      } while (this.#again);
    } finally {
      this.#dispatching = false;
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

  #start(member: GroupMember, message: HeldMessage): void {
    message.attempts++;
    const delivery = new MemoryDelivery(this.topic, message, message.attempts, (d, outcome) => {
      member.released(d);
      this.#settled(member, message, outcome);
    });
    member.hold(delivery);
    // Handlers run after this dispatch, never inside it: one microtask starts all it started.
    if (this.#starting.push([member, delivery]) === 1) queueMicrotask(this.#runStarted);
  }

  readonly #runStarted = (): void => {
    const starting = this.#starting;
    this.#starting = [];
    for (const [member, delivery] of starting) this.#run(member, delivery);
  };

  /** The handler; resolving acks (if it did not settle), throwing retries with backoff. */
  #run(member: GroupMember, delivery: MemoryDelivery): void {
    let result: Promise<void> | void;
    try {
      result = member.handler(delivery);
    } catch (error) {
      this.#handlerFailed(delivery, error);
      return;
    }
    if (result === undefined || typeof (result as Promise<void>).then !== 'function') {
      this.#handled(delivery);
      return;
    }
    (result as Promise<void>).then(
      () => this.#handled(delivery),
      (error: unknown) => this.#handlerFailed(delivery, error),
    );
  }

  #handled(delivery: MemoryDelivery): void {
    try {
      delivery.settle(ACK);
    } catch (error) {
      this.#handlerFailed(delivery, error);
    }
  }

  #handlerFailed(delivery: MemoryDelivery, error: unknown): void {
    const reason = error instanceof Error ? error.message : String(error);
    const delayMs = retryDelay(this.context.settings, delivery.attempt);
    delivery.settle({ kind: 'retry', delayMs, reason });
  }

  #settled(member: GroupMember, message: HeldMessage, outcome: Outcome): void {
    // Closed: the message stays held, below the committed low-water mark, for the next open.
    if (this.#closed) return;
    if (outcome.kind === 'ack') {
      this.#finish(message);
    } else if (outcome.kind === 'term') {
      this.#deadLetter(member, message, outcome.reason);
    } else if (message.attempts >= member.options.maxAttempts) {
      this.#deadLetter(member, message, `max attempts reached: ${outcome.reason}`);
    } else if (outcome.delayMs > 0) {
      // The message keeps its key meanwhile, so the key's later messages wait for it.
      this.#later(outcome.delayMs, () => this.#redeliver(message));
    } else {
      this.#redeliver(message);
      return;
    }
    this.#dispatch();
  }

  #redeliver(message: HeldMessage): void {
    this.#retries.push(message);
    this.#dispatch();
  }

  #finish(message: HeldMessage): void {
    message.cursor.settle(message);
    this.context.progressed(this);
  }

  /** The message stays held until its dead letter is durable, so a crash cannot lose it. */
  #deadLetter(member: GroupMember, message: HeldMessage, reason: string): void {
    const target = member.options.deadLetterTopic;
    if (target === false) {
      this.#finish(message);
      return;
    }
    const { id, key, headers, payload } = message;
    const letter: OutgoingMessage = {
      id,
      key,
      headers: {
        ...headers,
        'x-death-reason': reason,
        'x-death-attempts': String(message.attempts),
        'x-death-topic': this.topic,
        'x-death-group': this.name,
      },
      payload,
    };
    const sent: Promise<void> = this.context.deadLetter(target ?? `${this.topic}.dlq`, letter).then(
      () => {
        this.#deadLetters.delete(sent);
        this.deadLettered++;
        this.#finish(message);
        this.#dispatch();
      },
      (err: Error) => {
        this.#deadLetters.delete(sent);
        if (this.#closed) return;
        this.context.settings.onError(err);
        this.#later(DEAD_LETTER_RETRY_MS, () => this.#deadLetter(member, message, reason));
      },
    );
    this.#deadLetters.add(sent);
  }

  #later(ms: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (!this.#closed) run();
    }, ms);
    timer.unref();
    this.#timers.add(timer);
  }
}
