/**
 * One subscription: a kafkajs consumer in the Kafka consumer group named by `group`. Records
 * are taken as they are fetched and handled concurrently up to maxInFlight, one key at a time
 * (in offset order) within a partition; a partition with too much unsettled is paused. Offsets
 * are committed by us, never by kafkajs: per partition the low-water mark of settled records.
 *
 * Where a group without a committed offset starts ('latest') is fixed when subscribe() is
 * called, from the partitions' high watermarks, and committed at the first assignment: so
 * joining (seconds, in Kafka) need not be awaited, and a rebalance before anything was
 * committed does not move the start past messages published meanwhile.
 */
import {
  type Admin,
  type Consumer,
  type EachBatchPayload,
  type Kafka,
  type PartitionAssigner,
  PartitionAssigners,
} from 'kafkajs';
import type { DeliveryHandler, OutgoingMessage, Subscription } from '../broker.ts';
import type { ResolvedSubscribeOptions } from '../validate.ts';
import { type CommitEntry, Committer } from './committer.ts';
import type { KafkaDelivery } from './delivery.ts';
import { fromRecord } from './envelope.ts';
import { runMessage, type TaskContext } from './message-task.ts';
import { encodeAttempts } from './offset-tracker.ts';
import type { ResolvedKafkaOptions } from './options.ts';
import { PartitionState } from './partition-state.ts';
import { highWatermarks, type PartitionStart, readStarts, type StartQuery } from './start-offsets.ts';
import { Slots } from './waits.ts';

export interface SubscriptionDeps {
  kafka: Kafka;
  admin: Admin;
  options: ResolvedKafkaOptions;
  deadLetter(topic: string, message: OutgoingMessage): Promise<void>;
}

export class KafkaSubscription implements Subscription {
  readonly #topic: string;
  readonly #sub: ResolvedSubscribeOptions;
  readonly #deps: SubscriptionDeps;
  readonly #ctx: TaskContext;
  readonly #slots: Slots;
  readonly #inFlight = new Set<KafkaDelivery>();
  readonly #committer: Committer;
  /** Unsettled records of one partition at which its consumption pauses. */
  readonly #pauseAt: number;
  #consumer: Consumer | undefined;
  #assignment = new Set<number>();
  readonly #states = new Map<number, PartitionState>();
  readonly #loading = new Map<number, Promise<void>>();
  /** High watermarks when subscribe() was called: where 'latest' starts. */
  #latest: Map<number, number> | undefined;
  readonly #startQuery: StartQuery;
  #busy = 0;
  #stopped = false;
  #closing: Promise<void> | undefined;
  #restarts = 0;

  private constructor(
    topic: string,
    handler: DeliveryHandler,
    sub: ResolvedSubscribeOptions,
    deps: SubscriptionDeps,
  ) {
    this.#topic = topic;
    this.#sub = sub;
    this.#deps = deps;
    this.#slots = new Slots(sub.maxInFlight);
    this.#pauseAt = Math.max(4 * sub.maxInFlight, 256);
    const { options } = deps;
    this.#ctx = {
      handler,
      options: sub,
      slots: this.#slots,
      deliver: {
        ackTimeoutMs: sub.ackTimeoutMs,
        backoffMs: (attempt) => Math.min(30_000, options.retryBackoffMs * 2 ** (attempt - 1)),
        inFlight: this.#inFlight,
      },
      deadLetter: deps.deadLetter,
      changed: (state, urgent) => this.#changed(state, urgent),
      busy: async (work) => {
        this.#busy++;
        try {
          return await work;
        } finally {
          this.#busy--;
        }
      },
      onError: options.onError,
    };
    this.#startQuery = {
      admin: deps.admin,
      group: sub.group,
      topic,
      startAt: sub.startAt,
      latest: async () => {
        this.#latest ??= await highWatermarks(deps.admin, topic).catch(() => new Map<number, number>());
        return this.#latest;
      },
      stopped: () => this.#stopped,
    };
    this.#committer = new Committer(
      () => this.#commitEntries(),
      (entries) => this.#commit(entries),
      options.onError,
      options.commitIntervalMs,
    );
  }

  static async start(
    topic: string,
    handler: DeliveryHandler,
    sub: ResolvedSubscribeOptions,
    deps: SubscriptionDeps,
  ): Promise<KafkaSubscription> {
    const subscription = new KafkaSubscription(topic, handler, sub, deps);
    await subscription.#startConsumer();
    return subscription;
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #startConsumer(): Promise<void> {
    const o = this.#deps.options;
    const consumer = this.#deps.kafka.consumer({
      groupId: this.#sub.group,
      sessionTimeout: o.sessionTimeoutMs,
      rebalanceTimeout: o.rebalanceTimeoutMs,
      heartbeatInterval: o.heartbeatIntervalMs,
      maxWaitTimeInMs: o.fetchMaxWaitMs,
      maxBytesPerPartition: o.maxBytesPerPartition,
      allowAutoTopicCreation: true,
      partitionAssigners: o.leaderAssignDelayMs > 0 ? [delayedRoundRobin(o.leaderAssignDelayMs)] : undefined,
      // After a failure kafkajs leaves the group and starts over, as long as we are open.
      retry: {
        retries: 5,
        initialRetryTime: 100,
        maxRetryTime: 1000,
        restartOnFailure: async () => !this.#stopped,
      },
    });
    this.#consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      if (this.#consumer === consumer) this.#assigned(event.payload.memberAssignment[this.#topic] ?? []);
    });
    consumer.on(consumer.events.CRASH, (event) => {
      this.#crashed(consumer, event.payload.error, event.payload.restart);
    });
    try {
      await consumer.connect();
      // Creates the topic where the cluster auto-creates topics.
      await consumer.subscribe({ topics: [this.#topic], fromBeginning: true });
      if (this.#sub.startAt === 'latest' && this.#latest === undefined) {
        this.#latest = await highWatermarks(this.#deps.admin, this.#topic);
      }
    } catch (err) {
      this.#consumer = undefined;
      await consumer.disconnect().catch(() => {});
      throw err;
    }
    if (this.#stopped) {
      await consumer.disconnect().catch(() => {}); // closed while a replacement started
      return;
    }
    // Resolves once joined (or failed: CRASH tells). Joining is not awaited: see the top.
    consumer
      .run({
        autoCommit: false,
        partitionsConsumedConcurrently: 4,
        eachBatch: (p) => this.#onBatch(consumer, p),
      })
      .catch((err: Error) => this.#crashed(consumer, err, false));
  }

  #crashed(consumer: Consumer, error: Error, restarting: boolean): void {
    if (consumer !== this.#consumer || this.#stopped) return;
    const what = `Kafka consumer of "${this.#topic}" in group "${this.#sub.group}"`;
    const next = restarting ? 'restarts' : 'is replaced';
    this.#deps.options.onError(new Error(`${what} failed and ${next}: ${error.message}`, { cause: error }));
    // It left the group: its partitions go to whoever the next assignment names.
    this.#assigned([]);
    if (restarting) return;
    this.#consumer = undefined;
    void consumer.disconnect().catch(() => {});
    this.#replaceConsumer();
  }

  /** A new consumer after one kafkajs gave up on, with a growing pause between tries. */
  #replaceConsumer(): void {
    const delay = Math.min(30_000, 200 * 2 ** this.#restarts++);
    setTimeout(async () => {
      if (this.#stopped) return;
      try {
        await this.#startConsumer();
        this.#restarts = 0;
      } catch (err) {
        this.#deps.options.onError(err as Error);
        this.#replaceConsumer();
      }
    }, delay).unref();
  }

  #assigned(partitions: readonly number[]): void {
    this.#assignment = new Set(partitions);
    for (const [partition, state] of this.#states) {
      if (this.#assignment.has(partition)) continue;
      state.revoke();
      this.#states.delete(partition);
    }
    const added = partitions.filter((p) => !this.#states.has(p) && !this.#loading.has(p));
    if (added.length === 0 || this.#stopped) return;
    // kafkajs may still hold a pause of ours from an earlier assignment of these partitions.
    this.#consumer?.resume([{ topic: this.#topic, partitions: added }]);
    const loading = this.#load(added).finally(() => {
      for (const p of added) this.#loading.delete(p);
    });
    for (const p of added) this.#loading.set(p, loading);
  }

  /** Makes the states of newly assigned partitions; pins 'latest' where nothing is committed. */
  async #load(partitions: number[]): Promise<void> {
    let starts: PartitionStart[];
    try {
      starts = await readStarts(this.#startQuery, partitions);
    } catch (err) {
      this.#deps.options.onError(err as Error);
      return; // the batches of these partitions fail, and kafkajs starts over
    }
    for (const s of starts) {
      if (!this.#assignment.has(s.partition) || this.#states.has(s.partition) || this.#stopped) continue;
      const state = new PartitionState(s.partition, s.start, s.prior);
      if (s.committed !== undefined) state.committed = s.committed;
      this.#states.set(s.partition, state);
      if (!s.pin) continue;
      // kafkajs reads from the earliest offset until told otherwise; the commit pins the start.
      try {
        this.#consumer?.seek({ topic: this.#topic, partition: s.partition, offset: String(s.start) });
      } catch {
        // not running: the next consumer reads the pinned offset once it is committed
      }
    }
    if (starts.some((s) => s.pin)) this.#committer.request(true);
  }

  async #onBatch(consumer: Consumer, { batch, pause }: EachBatchPayload): Promise<void> {
    if (consumer !== this.#consumer || this.#stopped) return; // nothing taken, nothing committed
    const partition = batch.partition;
    let state = this.#states.get(partition);
    if (!state) {
      await this.#loading.get(partition);
      state = this.#states.get(partition);
    }
    if (!state) {
      if (!this.#assignment.has(partition) || this.#stopped) return;
      // Throwing keeps kafkajs from moving past the batch; it retries, then starts over.
      throw new Error(`partition ${partition} of "${this.#topic}" is not ready`);
    }
    const { tracker } = state;
    for (const record of batch.messages) {
      const offset = Number(record.offset);
      if (tracker.known(offset)) continue; // read again after a rebalance, or before our start
      tracker.add(offset, state.prior.get(offset) ?? 0);
      const message = fromRecord(this.#topic, partition, record);
      runMessage(this.#ctx, state, message).catch((err: Error) => this.#deps.options.onError(err));
    }
    tracker.skipTo(Number(batch.lastOffset()) + 1);
    if (tracker.unsettled >= this.#pauseAt && state.resume === undefined) state.resume = pause();
  }

  #changed(state: PartitionState, urgent = false): void {
    this.#committer.request(urgent);
    if (state.resume && state.tracker.unsettled < this.#pauseAt / 2) {
      state.resume();
      state.resume = undefined;
    }
  }

  #commitEntries(): CommitEntry[] {
    const entries: CommitEntry[] = [];
    for (const state of this.#states.values()) {
      const offset = state.tracker.mark;
      if (!state.live || offset === undefined) continue;
      const metadata = encodeAttempts(state.tracker.attemptsInFlight());
      const key = `${offset}|${metadata}`;
      if (key === state.committed) continue;
      entries.push({
        partition: state.partition,
        offset,
        metadata,
        committed: () => {
          state.committed = key;
        },
      });
    }
    return entries;
  }

  async #commit(entries: CommitEntry[]): Promise<void> {
    const consumer = this.#consumer;
    if (!consumer) throw new Error('the Kafka consumer is restarting');
    await consumer.commitOffsets(
      entries.map((e) => ({
        topic: this.#topic,
        partition: e.partition,
        offset: String(e.offset),
        metadata: e.metadata,
      })),
    );
  }

  async #close(): Promise<void> {
    this.#stopped = true;
    this.#slots.close(); // records waiting for a handler slot give up, unsettled
    for (const state of this.#states.values()) state.sleeps.cancel(); // so do pending redeliveries
    const until = Date.now() + this.#deps.options.drainTimeoutMs;
    while ((this.#inFlight.size > 0 || this.#busy > 0) && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    // Handlers still running lose their record: it stays uncommitted, for the next member.
    for (const delivery of [...this.#inFlight]) delivery.settle({ kind: 'abandoned' });
    await bounded(this.#committer.flush(), 2 * this.#deps.options.requestTimeoutMs);
    this.#committer.close();
    for (const state of this.#states.values()) state.revoke();
    this.#states.clear();
    const consumer = this.#consumer;
    this.#consumer = undefined;
    if (consumer) await bounded(consumer.disconnect(), 2 * this.#deps.options.requestTimeoutMs);
  }
}

/**
 * kafkajs's round-robin assignment, handed out after `ms` (see leaderAssignDelayMs). It keeps
 * the assigner's name, so plain kafkajs members of the group still agree on the protocol.
 */
function delayedRoundRobin(ms: number): PartitionAssigner {
  return (config) => {
    const inner = PartitionAssigners.roundRobin(config);
    return {
      ...inner,
      assign: async (group) => {
        await new Promise((resolve) => setTimeout(resolve, ms));
        return inner.assign(group);
      },
    };
  };
}

/** Waits for `work` at most `ms`; its failure is not ours to report here. */
async function bounded(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    work.catch(() => {}),
    new Promise((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}
