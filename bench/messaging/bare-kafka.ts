/**
 * The bare baseline for Kafka: kafkajs used directly, as a careful application would without
 * Switchboard. A publish is one producer.send() with acks=all that resolves on the broker's
 * acknowledgement; a consumer is a consumer-group member with eachMessage, whose offsets
 * kafkajs commits after the messages were processed (autoCommit: resolved offsets only).
 * Topics are created on first use (auto-creation), as behind the adapter. The fetch wait is the
 * adapter's default (500 ms) rather than kafkajs's 5 s, so both sides poll alike.
 */
import { type Consumer, Kafka, logLevel, type Producer } from 'kafkajs';
import type { Consumption, MessagingDriver } from './driver.ts';

export interface BareKafkaOptions {
  /** Bootstrap servers, "host:port". */
  brokers: readonly string[];
  /** Partitions handled at once by one consumer (each in order). 4 unless set: the mock's partitions. */
  partitionsConsumedConcurrently?: number;
  /** The longest a fetch waits at the broker for data. 500 ms unless set. */
  fetchMaxWaitMs?: number;
}

export class BareKafkaDriver implements MessagingDriver {
  readonly name = 'bare kafka';
  readonly #kafka: Kafka;
  readonly #producer: Producer;
  readonly #options: Required<Omit<BareKafkaOptions, 'brokers'>>;
  readonly #consumers = new Set<Consumer>();

  private constructor(kafka: Kafka, producer: Producer, options: BareKafkaOptions) {
    this.#kafka = kafka;
    this.#producer = producer;
    this.#options = {
      partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 4,
      fetchMaxWaitMs: options.fetchMaxWaitMs ?? 500,
    };
  }

  static async connect(options: BareKafkaOptions): Promise<BareKafkaDriver> {
    const kafka = new Kafka({
      clientId: 'bare-kafka',
      brokers: [...options.brokers],
      logLevel: logLevel.NOTHING,
    });
    const producer = kafka.producer({ allowAutoTopicCreation: true });
    await producer.connect();
    return new BareKafkaDriver(kafka, producer, options);
  }

  async publish(topic: string, payload: Uint8Array): Promise<void> {
    const value = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    await this.#producer.send({ topic, acks: -1, messages: [{ value }] });
  }

  async consume(
    topic: string,
    group: string,
    onMessage: (payload: Uint8Array) => void,
  ): Promise<Consumption> {
    const consumer = this.#kafka.consumer({ groupId: group, maxWaitTimeInMs: this.#options.fetchMaxWaitMs });
    this.#consumers.add(consumer);
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      partitionsConsumedConcurrently: this.#options.partitionsConsumedConcurrently,
      eachMessage: async ({ message }) => {
        if (message.value) onMessage(message.value);
      },
    });
    return {
      close: async () => {
        this.#consumers.delete(consumer);
        await consumer.disconnect();
      },
    };
  }

  async close(): Promise<void> {
    await Promise.all([...this.#consumers].map((c) => c.disconnect()));
    this.#consumers.clear();
    await this.#producer.disconnect();
  }
}
