/**
 * A Broker that counts what passes through another: publishes and their duration, deliveries
 * by how they were settled, dead letters; and, when the inner broker can tell (`stats()`),
 * each group's lag, read at scrape time. Wraps any adapter, so every broker is measured alike.
 */

import type { Counter, Histogram } from 'prom-client';
import type {
  Broker,
  BrokerStats,
  Delivery,
  DeliveryHandler,
  OutgoingMessage,
  PublishReceipt,
  SubscribeOptions,
  Subscription,
} from '../../messaging/broker.ts';
import type { Metrics } from './metrics.ts';

/** How a delivery ended for the subscriber: settled by the handler, or the handler threw. */
export type ConsumeOutcome = 'ack' | 'nack' | 'term' | 'error';

/** The brokers whose stats() each Metrics reads at scrape time: one gauge family, many brokers. */
const statsSources = new WeakMap<Metrics, Set<() => Promise<BrokerStats>>>();

export class MeteredBroker implements Broker {
  readonly kind: string;
  readonly capabilities: Broker['capabilities'];
  readonly inner: Broker;
  /** The inner broker's, where it has them: absent otherwise, as Broker.stats is optional. */
  readonly stats?: () => Promise<BrokerStats>;
  readonly #published: Counter<'topic' | 'outcome'>;
  readonly #publishDuration: Histogram<'topic'>;
  readonly #consumed: Counter<'topic' | 'group' | 'outcome'>;
  readonly #deadLetters: Counter<'topic' | 'group'>;
  readonly #unwatch: (() => void) | undefined;

  constructor(inner: Broker, metrics: Metrics) {
    this.inner = inner;
    this.kind = inner.kind;
    this.capabilities = inner.capabilities;
    this.#published = metrics.counter(
      'switchboard_messages_published_total',
      'Messages published, by outcome: ok, duplicate (dropped by the dedupe window) or error.',
      ['topic', 'outcome'],
    );
    this.#publishDuration = metrics.histogram(
      'switchboard_publish_duration_seconds',
      'Time until the broker acknowledged a publish (as durable as it makes it).',
      ['topic'],
    );
    this.#consumed = metrics.counter(
      'switchboard_messages_consumed_total',
      'Deliveries handled by this process, by how they ended: ack, nack, term, or error (the handler threw).',
      ['topic', 'group', 'outcome'],
    );
    this.#deadLetters = metrics.counter(
      'switchboard_dead_letters_total',
      'Deliveries this process sent to the dead-letter topic: terminated, or failed on their last attempt.',
      ['topic', 'group'],
    );
    if (inner.stats) {
      const stats = inner.stats.bind(inner);
      this.stats = stats;
      this.#unwatch = watchBrokerStats(metrics, stats);
    }
  }

  async publish(topic: string, message: OutgoingMessage): Promise<PublishReceipt> {
    const started = performance.now();
    try {
      const receipt = await this.inner.publish(topic, message);
      this.#publishDuration.observe({ topic }, (performance.now() - started) / 1000);
      this.#published.inc({ topic, outcome: receipt.duplicate ? 'duplicate' : 'ok' });
      return receipt;
    } catch (err) {
      this.#published.inc({ topic, outcome: 'error' });
      throw err;
    }
  }

  subscribe(topic: string, handler: DeliveryHandler, options: SubscribeOptions): Promise<Subscription> {
    const group = options.group;
    const maxAttempts = options.maxAttempts ?? 5;
    const deadLettering = options.deadLetterTopic !== false;
    const count = (outcome: ConsumeOutcome, delivery: Delivery) => {
      this.#consumed.inc({ topic, group, outcome });
      const dies = outcome === 'term' || (outcome !== 'ack' && delivery.attempt >= maxAttempts);
      if (dies && deadLettering) this.#deadLetters.inc({ topic, group });
    };
    return this.inner.subscribe(
      topic,
      async (delivery) => {
        let settled: ConsumeOutcome | undefined;
        const watched: Delivery = {
          get topic() {
            return delivery.topic;
          },
          id: delivery.id,
          key: delivery.key,
          headers: delivery.headers,
          payload: delivery.payload,
          attempt: delivery.attempt,
          ack: () => {
            settled ??= 'ack';
            return delivery.ack();
          },
          nack: (delayMs?: number) => {
            settled ??= 'nack';
            return delivery.nack(delayMs);
          },
          term: (reason?: string) => {
            settled ??= 'term';
            return delivery.term(reason);
          },
        };
        try {
          await handler(watched);
        } catch (err) {
          count(settled ?? 'error', delivery);
          throw err;
        }
        // Returning without settling acks (the Broker contract).
        count(settled ?? 'ack', delivery);
      },
      options,
    );
  }

  close(): Promise<void> {
    this.#unwatch?.();
    return this.inner.close();
  }
}

/**
 * Reads `stats` whenever `metrics` is scraped, into the broker gauges: per topic the messages
 * published, per group its lag and dead letters. Several brokers may feed one Metrics (their
 * series add up); the hub feeds its own broker this way. Returns the function that stops it.
 */
export function watchBrokerStats(metrics: Metrics, stats: () => Promise<BrokerStats>): () => void {
  let sources = statsSources.get(metrics);
  if (!sources) {
    const all = new Set<() => Promise<BrokerStats>>();
    sources = all;
    statsSources.set(metrics, all);
    registerBrokerGauges(metrics, () => Promise.all([...all].map((read) => read())));
  }
  sources.add(stats);
  const watched = sources;
  return () => watched.delete(stats);
}

function registerBrokerGauges(metrics: Metrics, read: () => Promise<readonly BrokerStats[]>): void {
  // One read per scrape, shared by the three gauges (each one's collect runs in turn).
  let pending: Promise<readonly BrokerStats[]> | undefined;
  const snapshot = () => {
    pending ??= read().finally(() => {
      setImmediate(() => {
        pending = undefined;
      });
    });
    return pending;
  };
  metrics.gauge(
    'switchboard_topic_messages',
    'Messages ever published to the topic, as the broker counts them.',
    ['topic'],
    async function () {
      this.reset();
      for (const stats of await snapshot())
        for (const topic of stats.topics) this.inc({ topic: topic.name }, topic.published);
    },
  );
  metrics.gauge(
    'switchboard_consumer_lag',
    'Messages published to the topic and not yet settled by the group.',
    ['topic', 'group'],
    async function () {
      this.reset();
      for (const stats of await snapshot())
        for (const topic of stats.topics)
          for (const group of topic.groups) this.inc({ topic: topic.name, group: group.name }, group.lag);
    },
  );
  metrics.gauge(
    'switchboard_consumer_dead_lettered',
    'Messages the group settled by dead-lettering them, as the broker counts them.',
    ['topic', 'group'],
    async function () {
      this.reset();
      for (const stats of await snapshot())
        for (const topic of stats.topics)
          for (const group of topic.groups)
            this.inc({ topic: topic.name, group: group.name }, group.deadLettered);
    },
  );
}
