/**
 * The entries one member holds, and what happens to each: it waits its turn (at most
 * maxInFlight handlers run, and a key's next entry waits until the previous one of that key
 * is settled here), runs the handler, and is settled in Redis — acked, delayed, delivered again
 * here, or dead-lettered. Only this member's entries are ordered: see docs/brokers/redis.md.
 */
import type { DeliveryHandler } from '../broker.ts';
import type { ResolvedSubscribeOptions } from '../validate.ts';
import { type Outcome, RedisDelivery } from './delivery.ts';
import { type DecodedEntry, decodeEntry, encodeEntry } from './entry-codec.ts';
import { AckError, type GroupOps } from './group-ops.ts';
import type { RawEntry } from './reply.ts';

export interface DispatchSettings {
  retryBackoffMs: number;
  onError: (error: Error) => void;
  /** Called after a delayed retry is parked, with its delay, so the member claims it when due. */
  onDelayed: (delayMs: number) => void;
}

const ACK: Outcome = Object.freeze({ kind: 'ack' });

function ignore(): void {}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

export class Dispatcher {
  /** Deliveries waiting for a free handler or for their key; in arrival order. */
  readonly #waiting: RedisDelivery[] = [];
  /** entry id → its current delivery, while a handler has it. */
  readonly #running = new Map<string, RedisDelivery>();
  /** key → entry id of the entry holding it (running, or being delivered again here). */
  readonly #keyHolder = new Map<string, string>();
  /** Entries on their way back here after a nack(0) or an ack timeout. */
  readonly #returning = new Set<string>();
  /** Entries whose delay, redelivery or dead letter Redis has not confirmed yet. */
  readonly #settling = new Map<string, Promise<void>>();
  /** Entries a handler saw whose settlement failed: still pending, and not to be counted twice. */
  readonly #unsettled = new Set<string>();
  /** The XACK batch being filled or sent (GroupOps.ack): closing waits for it. */
  #acks: Promise<void> | undefined;
  #stopped = false;
  #onRoom: (() => void) | undefined;
  #onIdle: (() => void) | undefined;
  /** One function for every delivery's settlement, rather than a closure per delivery. */
  readonly #onSettle = (delivery: RedisDelivery, outcome: Outcome) => this.#settled(delivery, outcome);

  constructor(
    readonly topic: string,
    readonly handler: DeliveryHandler,
    readonly options: ResolvedSubscribeOptions,
    readonly ops: GroupOps,
    readonly settings: DispatchSettings,
  ) {}

  /** How many more entries this member may take. */
  get room(): number {
    return this.options.maxInFlight - this.#running.size - this.#waiting.length - this.#returning.size;
  }

  /** True when this member has the entry in hand or on its way to Redis. */
  knows(entryId: string): boolean {
    return (
      this.#running.has(entryId) ||
      this.#returning.has(entryId) ||
      this.#settling.has(entryId) ||
      this.#waiting.some((d) => d.entry.entryId === entryId)
    );
  }

  /** Resolves when room frees up (or at once if there is some). */
  roomFreed(): Promise<void> {
    if (this.room > 0 || this.#stopped) return Promise.resolve();
    return new Promise((resolve) => {
      this.#onRoom = resolve;
    });
  }

  /**
   * Takes entries with how often the group delivered each (this delivery included); without
   * counts they are new entries of the stream (delivered once), which this member cannot hold.
   */
  accept(entries: readonly RawEntry[], counts?: readonly number[]): void {
    for (let i = 0; i < entries.length; i++) {
      const raw = entries[i]!;
      const count = counts ? counts[i]! : 1;
      if (raw.fields === null) {
        this.reportLost(1, 'pending');
        void this.#ack(raw.entryId);
        continue;
      }
      const entry = decodeEntry(this.topic, raw.entryId, raw.fields);
      if (counts && this.knows(entry.entryId)) continue;
      if (count > this.options.maxAttempts) {
        // Delivered that often without being settled: its consumers died or hung on it.
        const reason = `max attempts reached: delivered ${count - 1} times without being settled`;
        void this.#deadLetter(entry, count - 1, reason);
        continue;
      }
      this.#waiting.push(new RedisDelivery(this.topic, entry, count, this.#onSettle));
    }
    this.#pump();
  }

  /** Gives the deliveries past their ack timeout to new deliveries, as a nack(0) would. */
  expire(now: number): void {
    for (const delivery of [...this.#running.values()]) {
      if (now - delivery.startedAt >= this.options.ackTimeoutMs) {
        void delivery.settle({ kind: 'retry', delayMs: 0, reason: 'ack timeout' });
      }
    }
  }

  /** Trimming deleted entries the group had not settled: never silently. */
  reportLost(count: number, which: 'pending' | 'unread'): void {
    const what = `${count} ${which} message(s) of topic "${this.topic}", group "${this.options.group}"`;
    this.settings.onError(new Error(`${what} were trimmed from the stream before being settled`));
  }

  /** Starts no more handlers; running ones finish, and what waits stays in Redis for release. */
  stop(): void {
    this.#stopped = true;
    this.#waiting.length = 0;
    this.#onRoom?.();
  }

  /** Resolves when no handler runs and nothing is on its way back, or after `ms`. */
  async idle(ms: number): Promise<void> {
    if (this.#running.size + this.#returning.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
      this.#onIdle = resolve;
    });
    clearTimeout(timer);
  }

  /**
   * Abandons the running deliveries and waits for the settlements on their way to Redis.
   * Returns the entries a handler saw that may still be pending in this member's name.
   */
  async abandon(): Promise<string[]> {
    const seen = [...this.#running.keys()];
    for (const delivery of this.#running.values()) delivery.abandon();
    this.#running.clear();
    await Promise.allSettled([...this.#settling.values(), this.#acks]);
    return [...seen, ...this.#unsettled];
  }

  #pump(): void {
    const waiting = this.#waiting;
    const started: RedisDelivery[] = [];
    const now = Date.now();
    let kept = 0;
    let i = 0;
    for (; i < waiting.length && this.#running.size < this.options.maxInFlight && !this.#stopped; i++) {
      const next = waiting[i]!;
      const { key, entryId } = next.entry;
      const holder = key === undefined ? undefined : this.#keyHolder.get(key);
      if (holder !== undefined && holder !== entryId) {
        waiting[kept++] = next; // an earlier entry of this key is not settled here yet
      } else {
        if (key !== undefined) this.#keyHolder.set(key, entryId);
        next.startedAt = now;
        this.#running.set(entryId, next);
        started.push(next);
      }
    }
    if (started.length === 0) return;
    waiting.copyWithin(kept, i);
    waiting.length -= i - kept;
    // Handlers run after this dispatch, never inside it.
    queueMicrotask(() => {
      for (const delivery of started) this.#run(delivery);
    });
  }

  /** Returning acks, throwing retries with backoff; a handler that returns no promise is not awaited. */
  #run(delivery: RedisDelivery): void {
    let result: unknown;
    try {
      result = this.handler(delivery);
    } catch (error) {
      this.#failed(delivery, error);
      return;
    }
    if (!isThenable(result)) void delivery.settle(ACK);
    else
      result.then(
        () => void delivery.settle(ACK),
        (error: unknown) => this.#failed(delivery, error),
      );
  }

  #failed(delivery: RedisDelivery, error: unknown): void {
    const reason = error instanceof Error ? error.message : String(error);
    const delayMs = Math.min(30_000, this.settings.retryBackoffMs * 2 ** (delivery.attempt - 1));
    void delivery.settle({ kind: 'retry', delayMs, reason });
  }

  /**
   * Every promise this returns has a rejection handler already (#ack, #track), so a
   * settlement nobody awaits never becomes an unhandled rejection.
   */
  #settled(delivery: RedisDelivery, outcome: Outcome): Promise<void> {
    const { entry } = delivery;
    if (this.#running.get(entry.entryId) !== delivery) return Promise.resolve(); // abandoned
    this.#running.delete(entry.entryId);
    let done: Promise<void>;
    if (outcome.kind === 'ack') {
      if (this.#unsettled.size > 0) this.#unsettled.delete(entry.entryId);
      done = this.#ack(entry.entryId);
    } else if (outcome.kind === 'term') {
      done = this.#deadLetter(entry, delivery.attempt, outcome.reason);
    } else if (delivery.attempt >= this.options.maxAttempts) {
      done = this.#deadLetter(entry, delivery.attempt, `max attempts reached: ${outcome.reason}`);
    } else if (outcome.delayMs > 0 || this.#stopped) {
      done = this.#delay(entry, outcome.delayMs);
    } else {
      done = this.#again(entry); // keeps the key held
      this.#freed();
      return done;
    }
    this.#release(entry);
    return done;
  }

  /** Acks in the current XACK batch; a failed batch is reported once. */
  #ack(entryId: string): Promise<void> {
    const batch = this.ops.ack(entryId);
    if (batch !== this.#acks) {
      this.#acks = batch;
      batch.catch((error: unknown) => {
        if (error instanceof AckError) for (const id of error.entryIds) this.#unsettled.add(id);
        this.#report(`acking entries of "${this.topic}"`, error);
      });
    }
    return batch;
  }

  /** A nack(0) or an ack timeout: the same member delivers it again, keeping its key. */
  #again(entry: DecodedEntry): Promise<void> {
    this.#returning.add(entry.entryId);
    const redelivered = this.ops.redeliver([entry.entryId]).then(
      (counts) => {
        this.#returning.delete(entry.entryId);
        const count = counts.get(entry.entryId);
        if (count === undefined || this.#stopped) {
          this.#release(entry); // another member claimed it meanwhile, or this one is leaving
        } else {
          this.#waiting.unshift(new RedisDelivery(this.topic, entry, count, this.#onSettle));
          this.#pump();
        }
      },
      (error: unknown) => {
        // Still pending in Redis: the idle sweep of this member recovers it.
        this.#returning.delete(entry.entryId);
        this.#release(entry);
        throw error;
      },
    );
    return this.#track(entry.entryId, redelivered);
  }

  #delay(entry: DecodedEntry, delayMs: number): Promise<void> {
    const parked = this.ops.delay(entry.entryId, delayMs).then((ours) => {
      if (ours) this.settings.onDelayed(delayMs);
    });
    return this.#track(entry.entryId, parked);
  }

  #deadLetter(entry: DecodedEntry, attempts: number, reason: string): Promise<void> {
    const deadTopic = this.options.deadLetterTopic ?? `${this.topic}.dlq`;
    if (deadTopic === false) return this.#ack(entry.entryId);
    const headers = {
      ...entry.headers,
      'x-death-reason': reason,
      'x-death-attempts': String(attempts),
      'x-death-topic': this.topic,
      'x-death-group': this.options.group,
    };
    const fields = encodeEntry({ id: entry.id, key: entry.key, headers, payload: entry.payload });
    return this.#track(entry.entryId, this.ops.deadLetter(entry.entryId, deadTopic, fields));
  }

  /** Remembers a settlement until Redis confirms it; a failure goes to onError. */
  #track(entryId: string, operation: Promise<unknown>): Promise<void> {
    const tracked: Promise<void> = operation.then(
      () => {
        if (this.#settling.get(entryId) === tracked) this.#settling.delete(entryId);
      },
      (error: unknown) => {
        if (this.#settling.get(entryId) === tracked) this.#settling.delete(entryId);
        this.#unsettled.add(entryId);
        this.#report(`settling ${entryId} of "${this.topic}"`, error);
        throw error;
      },
    );
    tracked.catch(ignore); // reported above; a caller awaiting nack() or term() still sees it
    this.#settling.set(entryId, tracked);
    return tracked;
  }

  #report(what: string, error: unknown): void {
    const cause = error instanceof Error ? error : new Error(String(error));
    this.settings.onError(new Error(`${what} failed: ${cause.message}`, { cause }));
  }

  /** The entry left this member: its key's next entry may run. */
  #release(entry: DecodedEntry): void {
    if (entry.key !== undefined && this.#keyHolder.get(entry.key) === entry.entryId) {
      this.#keyHolder.delete(entry.key);
    }
    this.#freed();
  }

  #freed(): void {
    if (this.#waiting.length > 0) this.#pump();
    if (this.room > 0) {
      const wake = this.#onRoom;
      this.#onRoom = undefined;
      wake?.();
    }
    if (this.#running.size + this.#returning.size === 0) this.#onIdle?.();
  }
}
