/**
 * What the adapter declares on RabbitMQ, and the names it gives them:
 *
 * - a topic is a durable topic exchange `<prefix><topic>`; a message's routing key is its key
 *   (so a foreign consumer may bind to some keys only), and every group binds with `#`;
 * - a consumer group is a durable queue `<prefix><topic>><group>` bound to it ('>' cannot appear
 *   in a topic or group name, so two pairs never share a queue);
 * - a delayed redelivery waits in a delay queue `<prefix>switchboard.delay.<ms>ms`, one per
 *   delay, shared by every group: its queue TTL expires messages in arrival order (a per-message
 *   TTL would wait behind a longer one at the head), and expired messages are dead-lettered to the
 *   default exchange under their routing key, the name of their group's queue.
 *
 * Names longer than AMQP's 255 bytes keep their start and end with a hash of the whole.
 */
import { createHash } from 'node:crypto';
import type { Channel } from 'amqplib';
import { MAX_TIMER_MS } from '../validate.ts';
import { routingKey } from './headers.ts';
import type { PublishTarget } from './publisher.ts';

const MAX_NAME_BYTES = 255;

/** Delays are rounded up to 1, 1.5, 2, 3, 4, 5, 6 or 8 × 10^n ms, to bound the delay queues. */
const STEPS = [10, 15, 20, 30, 40, 50, 60, 80];

/** The delay queue's TTL for a wait of at least `ms` (at most a timer's longest delay, about 24.8 days). */
export function delayBucket(ms: number): number {
  if (ms >= MAX_TIMER_MS) return MAX_TIMER_MS;
  for (let scale = 1; ; scale *= 10) {
    for (const step of STEPS) {
      const bucket = step * scale;
      if (bucket >= ms) return Math.min(bucket, MAX_TIMER_MS);
    }
  }
}

/** `name` when AMQP takes it, else its start, '~' and a hash of it, within 255 bytes. */
export function amqpName(name: string): string {
  if (Buffer.byteLength(name) <= MAX_NAME_BYTES) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 16);
  let head = name.slice(0, MAX_NAME_BYTES - hash.length - 1);
  while (Buffer.byteLength(head) > MAX_NAME_BYTES - hash.length - 1) head = head.slice(0, -1);
  return `${head}~${hash}`;
}

export class Topology {
  /** Publish targets by topic, as every publish needs one. */
  readonly #exchanges = new Map<string, PublishTarget>();

  constructor(
    readonly prefix: string,
    readonly queueType: 'quorum' | 'classic',
    readonly singleActiveConsumer: boolean,
  ) {}

  exchange(topic: string): string {
    const name = amqpName(this.prefix + topic);
    // RabbitMQ refuses to declare names in its own namespace.
    if (name.startsWith('amq.')) throw new TypeError(`topic "${topic}" is reserved by RabbitMQ (amq.*)`);
    return name;
  }

  groupQueue(topic: string, group: string): string {
    return amqpName(`${this.prefix}${topic}>${group}`);
  }

  delayName(bucketMs: number): string {
    return `${this.prefix}switchboard.delay.${bucketMs}ms`;
  }

  /** A message of `key` to `topic`'s exchange. */
  topicTarget(topic: string, key: string | undefined): PublishTarget {
    let exchange = this.#exchanges.get(topic);
    if (!exchange) {
      const name = this.exchange(topic);
      exchange = {
        exchange: name,
        routingKey: '',
        declaration: `exchange:${name}`,
        declare: (channel) => channel.assertExchange(name, 'topic', { durable: true }),
      };
      if (this.#exchanges.size >= 10_000) this.#exchanges.clear(); // topics made up per message
      this.#exchanges.set(topic, exchange);
    }
    return key === undefined ? exchange : { ...exchange, routingKey: routingKey(key) };
  }

  /** A message for `queue` only, after waiting `bucketMs` in the delay queue (0: at once). */
  retryTarget(queue: string, bucketMs: number): PublishTarget {
    if (bucketMs === 0) {
      // The default exchange routes by queue name and needs no declaration.
      return { exchange: '', routingKey: queue, declaration: '', declare: async () => {} };
    }
    const exchange = this.delayName(bucketMs);
    return {
      exchange,
      routingKey: queue,
      declaration: `delay:${exchange}`,
      declare: (channel) => this.declareDelay(channel, bucketMs),
    };
  }

  async declareTopic(channel: Channel, topic: string): Promise<void> {
    await channel.assertExchange(this.exchange(topic), 'topic', { durable: true });
  }

  /** The group's queue, bound to every routing key of the topic. Returns its name. */
  async declareGroup(channel: Channel, topic: string, group: string): Promise<string> {
    const queue = this.groupQueue(topic, group);
    await this.declareTopic(channel, topic);
    await channel.assertQueue(queue, {
      durable: true,
      arguments: {
        'x-queue-type': this.queueType,
        'x-single-active-consumer': this.singleActiveConsumer,
      },
    });
    await channel.bindQueue(queue, this.exchange(topic), '#');
    return queue;
  }

  /** A fanout exchange and its queue: publish there with the target queue as routing key. */
  async declareDelay(channel: Channel, bucketMs: number): Promise<void> {
    const name = this.delayName(bucketMs);
    const quorum = this.queueType === 'quorum';
    await channel.assertExchange(name, 'fanout', { durable: true });
    await channel.assertQueue(name, {
      durable: true,
      arguments: {
        'x-queue-type': this.queueType,
        'x-message-ttl': bucketMs,
        'x-dead-letter-exchange': '',
        // A quorum queue keeps a message until its target queue confirms it (else at most once).
        ...(quorum ? { 'x-dead-letter-strategy': 'at-least-once', 'x-overflow': 'reject-publish' } : {}),
      },
    });
    await channel.bindQueue(name, name, '');
  }
}
