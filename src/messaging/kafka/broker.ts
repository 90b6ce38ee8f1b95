/**
 * The Broker interface over Apache Kafka (kafkajs): topic = Kafka topic, key = record key (so
 * one key stays in one partition, in order), group = Kafka consumer group, id and headers =
 * record headers (see envelope.ts). Publishes resolve on the acks=all acknowledgement.
 * docs/brokers/kafka.md describes the mapping, the commit semantics and the limits.
 */
import { randomUUID } from 'node:crypto';
import { type Admin, Kafka, type Message, type Producer } from 'kafkajs';
import { Status, StatusError } from '../../contract/index.ts';
import type {
  Broker,
  BrokerCapabilities,
  DeliveryHandler,
  OutgoingMessage,
  PublishReceipt,
  SubscribeOptions,
  Subscription,
} from '../broker.ts';
import { resolveSubscribeOptions, validateMessage } from '../validate.ts';
import { assertNoReservedHeader, toRecord, validateTopic } from './envelope.ts';
import {
  type KafkaBrokerOptions,
  kafkaConfig,
  type ResolvedKafkaOptions,
  resolveKafkaOptions,
} from './options.ts';
import { Publisher, stickyPartitioner } from './publisher.ts';
import { KafkaSubscription } from './subscription.ts';

const CAPABILITIES: BrokerCapabilities = Object.freeze({
  orderingPerKey: true,
  persistence: true,
  consumerGroups: true,
  replay: true,
  // nack(delayMs) waits in the subscriber: Kafka has no redelivery of its own.
  delayedRedelivery: false,
  // The idempotent producer drops a producer's own retries, not a second publish of one id.
  dedupe: false,
});

export class KafkaBroker implements Broker {
  readonly kind = 'kafka';
  readonly capabilities = CAPABILITIES;
  /** True when publishes go through the idempotent producer. */
  readonly idempotent: boolean;
  readonly #kafka: Kafka;
  readonly #admin: Admin;
  readonly #producer: Producer;
  readonly #publisher: Publisher;
  readonly #options: ResolvedKafkaOptions;
  readonly #subscriptions = new Set<KafkaSubscription>();
  #closed = false;
  #closing: Promise<void> | undefined;

  private constructor(
    kafka: Kafka,
    admin: Admin,
    producer: Producer,
    publisher: Publisher,
    idempotent: boolean,
    options: ResolvedKafkaOptions,
  ) {
    this.#kafka = kafka;
    this.#admin = admin;
    this.#producer = producer;
    this.#publisher = publisher;
    this.idempotent = idempotent;
    this.#options = options;
  }

  /** Connects to the cluster (failing within seconds when no broker answers). */
  static async connect(options: KafkaBrokerOptions): Promise<KafkaBroker> {
    const o = resolveKafkaOptions(options);
    const kafka = new Kafka(kafkaConfig(o));
    const admin = kafka.admin();
    let producer: Producer | undefined;
    try {
      await admin.connect();
      const idempotent = await idempotence(admin, o.idempotent);
      const chosen = new WeakMap<Message, number>();
      producer = kafka.producer({
        idempotent,
        allowAutoTopicCreation: true,
        createPartitioner: stickyPartitioner(chosen),
      });
      await producer.connect();
      const publisher = new Publisher(producer, chosen, o);
      return new KafkaBroker(kafka, admin, producer, publisher, idempotent, o);
    } catch (err) {
      await Promise.allSettled([admin.disconnect(), producer?.disconnect()]);
      if (err instanceof StatusError) throw err;
      throw new StatusError(
        Status.UNAVAILABLE,
        `could not connect to the Kafka brokers ${o.brokers.join(',')}: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  async publish(topic: string, message: OutgoingMessage): Promise<PublishReceipt> {
    validateTopic('topic', topic);
    const valid = validateMessage(message);
    assertNoReservedHeader(valid);
    this.#assertOpen();
    const id = valid.id ?? randomUUID();
    return this.#publisher.publish(topic, id, toRecord(id, valid));
  }

  async subscribe(topic: string, handler: DeliveryHandler, options: SubscribeOptions): Promise<Subscription> {
    validateTopic('topic', topic);
    if (typeof handler !== 'function') throw new TypeError('handler must be a function');
    const resolved = resolveSubscribeOptions(options);
    if (typeof resolved.deadLetterTopic === 'string')
      validateTopic('deadLetterTopic', resolved.deadLetterTopic);
    this.#assertOpen();
    const deps = {
      kafka: this.#kafka,
      admin: this.#admin,
      options: this.#options,
      // Dead letters keep their id, and skip the check of reserved headers (they carry ours).
      deadLetter: async (to: string, letter: OutgoingMessage) => {
        const id = letter.id ?? randomUUID();
        await this.#publisher.publish(to, id, toRecord(id, letter));
      },
    };
    let subscription: KafkaSubscription;
    try {
      subscription = await KafkaSubscription.start(topic, handler, resolved, deps);
    } catch (err) {
      throw new StatusError(
        Status.UNAVAILABLE,
        `could not subscribe to Kafka topic "${topic}" as group "${resolved.group}": ${(err as Error).message}`,
        { cause: err },
      );
    }
    this.#subscriptions.add(subscription);
    return {
      close: async () => {
        await subscription.close();
        this.#subscriptions.delete(subscription);
      },
    };
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= (async () => {
      await this.#publisher.drained();
      await Promise.all([...this.#subscriptions].map((s) => s.close()));
      await this.#publisher.drained(); // dead letters published while closing
      await Promise.allSettled([this.#producer.disconnect(), this.#admin.disconnect()]);
    })();
    return this.#closing;
  }

  #assertOpen(): void {
    if (this.#closed) throw new StatusError(Status.FAILED_PRECONDITION, 'the Kafka broker client is closed');
  }
}

/**
 * kafkajs asks the cluster's controller for a producer id, so the idempotent producer needs a
 * controller it knows (librdkafka's mock cluster names broker 0, which does not exist).
 */
async function idempotence(admin: Admin, wanted: boolean | 'auto'): Promise<boolean> {
  if (wanted === false) return false;
  const cluster = await admin.describeCluster();
  const known = cluster.brokers.some((b) => b.nodeId === cluster.controller);
  if (known || wanted === 'auto') return known;
  throw new StatusError(
    Status.FAILED_PRECONDITION,
    `the idempotent Kafka producer needs the cluster's controller, but it names broker ${cluster.controller}, ` +
      `which is not among its brokers (${cluster.brokers.map((b) => b.nodeId).join(', ')}); ` +
      "use idempotent: 'auto' or false",
  );
}
