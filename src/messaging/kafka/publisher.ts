/**
 * Publishes through one kafkajs producer with acks=all. Publishes made while a produce request
 * is in flight wait and go together in the next one (one request in flight at a time, so the
 * order of publishes is the order in the log, per partition, even across retries). Every
 * publish has a deadline and the number waiting is capped: a dead cluster fails publishes
 * within publishTimeoutMs instead of buffering them.
 *
 * The partitioner is kafkajs's default (murmur2 of the key, as the Java client) wrapped so that
 * a message keeps its first partition when kafkajs retries, which also tells each publish its
 * offset: the partition's base offset plus its place among that partition's messages.
 */
import { type Message, Partitioners, type Producer, type ProducerBatch, type RecordMetadata } from 'kafkajs';
import { Status, StatusError } from '../../contract/index.ts';
import type { PublishReceipt } from '../broker.ts';

interface Pending {
  readonly topic: string;
  readonly id: string;
  readonly record: Message;
  readonly bytes: number;
  readonly resolve: (receipt: PublishReceipt) => void;
  readonly reject: (err: Error) => void;
  timer: NodeJS.Timeout | undefined;
  done: boolean;
}

export interface PublisherOptions {
  publishTimeoutMs: number;
  maxPendingPublishes: number;
  maxBatchBytes: number;
}

/** A partitioner for kafka.producer({ createPartitioner }) that remembers its choice per message. */
export function stickyPartitioner(chosen: WeakMap<Message, number>) {
  return () => {
    const inner = Partitioners.DefaultPartitioner();
    return (args: Parameters<ReturnType<typeof Partitioners.DefaultPartitioner>>[0]): number => {
      const known = chosen.get(args.message);
      if (known !== undefined) return known;
      const partition = inner(args);
      chosen.set(args.message, partition);
      return partition;
    };
  };
}

/** About the bytes a record takes in a request (string lengths stand for their UTF-8 size). */
function recordSize(record: Message): number {
  let size =
    64 + (record.value as Buffer).byteLength + (typeof record.key === 'string' ? record.key.length : 0);
  for (const [name, value] of Object.entries(record.headers ?? {})) {
    size += name.length + (typeof value === 'string' ? value.length : 0);
  }
  return size;
}

export class Publisher {
  readonly #queue: Pending[] = [];
  #waiting = 0;
  #sending = false;
  #scheduled = false;
  #idle: (() => void)[] = [];

  constructor(
    readonly producer: Producer,
    readonly chosen: WeakMap<Message, number>,
    readonly options: PublisherOptions,
  ) {}

  publish(topic: string, id: string, record: Message): Promise<PublishReceipt> {
    if (this.#waiting >= this.options.maxPendingPublishes) {
      return Promise.reject(
        new StatusError(
          Status.RESOURCE_EXHAUSTED,
          `${this.#waiting} Kafka publishes are waiting for their acknowledgement (maxPendingPublishes)`,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const bytes = recordSize(record);
      const pending: Pending = { topic, id, record, bytes, resolve, reject, timer: undefined, done: false };
      pending.timer = setTimeout(() => {
        this.#finish(
          pending,
          new StatusError(
            Status.DEADLINE_EXCEEDED,
            `publish to Kafka topic "${topic}" was not acknowledged within ${this.options.publishTimeoutMs} ms ` +
              '(are the brokers reachable?); it may still have been written',
          ),
        );
      }, this.options.publishTimeoutMs);
      this.#waiting++;
      this.#queue.push(pending);
      this.#schedule();
    });
  }

  /** Resolves once nothing is queued or in flight (each publish ends by its deadline at the latest). */
  drained(): Promise<void> {
    if (this.#waiting === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #schedule(): void {
    if (this.#sending || this.#scheduled) return;
    this.#scheduled = true;
    // Publishes made in the same tick share the request.
    queueMicrotask(() => {
      this.#scheduled = false;
      void this.#sendNext();
    });
  }

  #takeBatch(): Pending[] {
    const batch: Pending[] = [];
    let bytes = 0;
    let taken = 0;
    for (; taken < this.#queue.length; taken++) {
      const next = this.#queue[taken]!;
      if (next.done) continue; // timed out while queued
      if (batch.length > 0 && bytes + next.bytes > this.options.maxBatchBytes) break;
      batch.push(next);
      bytes += next.bytes;
    }
    this.#queue.splice(0, taken);
    return batch;
  }

  async #sendNext(): Promise<void> {
    const batch = this.#takeBatch();
    if (batch.length === 0) return;
    this.#sending = true;
    try {
      const byTopic = new Map<string, Message[]>();
      for (const p of batch) {
        const list = byTopic.get(p.topic);
        if (list) list.push(p.record);
        else byTopic.set(p.topic, [p.record]);
      }
      const request: ProducerBatch = {
        acks: -1,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      };
      const results = await this.producer.sendBatch(request);
      this.#acknowledge(batch, results);
    } catch (err) {
      const cause = err as Error;
      for (const p of batch) {
        this.#finish(
          p,
          new StatusError(
            Status.UNAVAILABLE,
            `publish to Kafka topic "${p.topic}" failed: ${cause.message}`,
            {
              cause,
            },
          ),
        );
      }
    } finally {
      this.#sending = false;
      if (this.#queue.length > 0) this.#schedule();
    }
  }

  #acknowledge(batch: Pending[], results: RecordMetadata[]): void {
    const base = new Map<string, number>();
    for (const r of results) base.set(`${r.topicName}/${r.partition}`, Number(r.baseOffset));
    const seen = new Map<string, number>();
    for (const p of batch) {
      const partition = this.chosen.get(p.record);
      const slot = `${p.topic}/${partition}`;
      const index = seen.get(slot) ?? 0;
      seen.set(slot, index + 1);
      const first = base.get(slot);
      const position = first === undefined || first < 0 ? undefined : `${partition}/${first + index}`;
      this.#finish(p, { id: p.id, position, duplicate: false });
    }
  }

  #finish(p: Pending, outcome: PublishReceipt | Error): void {
    if (p.done) return;
    p.done = true;
    clearTimeout(p.timer);
    this.#waiting--;
    if (outcome instanceof Error) p.reject(outcome);
    else p.resolve(outcome);
    if (this.#waiting === 0) for (const resolve of this.#idle.splice(0)) resolve();
  }
}
