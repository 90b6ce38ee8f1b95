/**
 * The bare baseline for RabbitMQ: amqplib used directly, as a careful application would without
 * Switchboard. Publishes go through one confirm channel as persistent messages with a message id,
 * each resolving on its confirm; a consumer has a channel of its own with a prefetch and acks
 * every message. The broker does the same work as behind the adapter: a durable topic exchange
 * per topic (`bare.<topic>`) and a durable quorum queue per group (`bare.<topic>><group>`) bound
 * with '#'.
 *
 * RabbitMQ keeps a message only for the queues that exist when it is published, so a group's
 * queue must be there first: consume (and close) once before publishing what it should read
 * (the workload's joinGroupsFirst).
 */
import { randomUUID } from 'node:crypto';
import { type ChannelModel, type ConfirmChannel, connect } from 'amqplib';
import type { Consumption, MessagingDriver } from './driver.ts';
import { DEFAULT_MAX_IN_FLIGHT } from './switchboard-driver.ts';

export interface BareRabbitOptions {
  /** amqp://guest:guest@127.0.0.1:5672 unless set. */
  url?: string;
  /** Unacked messages a consumer may hold: the Switchboard side's maxInFlight unless set. */
  prefetch?: number;
}

export class BareRabbitDriver implements MessagingDriver {
  readonly name = 'bare rabbitmq';
  readonly #connection: ChannelModel;
  readonly #publishing: ConfirmChannel;
  readonly #prefetch: number;
  readonly #exchanges = new Set<string>();

  private constructor(connection: ChannelModel, publishing: ConfirmChannel, prefetch: number) {
    this.#connection = connection;
    this.#publishing = publishing;
    this.#prefetch = prefetch;
  }

  static async connect(options: BareRabbitOptions = {}): Promise<BareRabbitDriver> {
    const connection = await connect(options.url ?? 'amqp://guest:guest@127.0.0.1:5672');
    const publishing = await connection.createConfirmChannel();
    return new BareRabbitDriver(connection, publishing, options.prefetch ?? DEFAULT_MAX_IN_FLIGHT);
  }

  static exchange(topic: string): string {
    return `bare.${topic}`;
  }

  static queue(topic: string, group: string): string {
    return `bare.${topic}>${group}`;
  }

  async prepare(topic: string): Promise<void> {
    await this.#publishing.assertExchange(BareRabbitDriver.exchange(topic), 'topic', { durable: true });
    this.#exchanges.add(topic);
  }

  async publish(topic: string, payload: Uint8Array): Promise<void> {
    if (!this.#exchanges.has(topic)) await this.prepare(topic);
    const content = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    await new Promise<void>((resolve, reject) => {
      const options = { persistent: true, messageId: randomUUID() };
      this.#publishing.publish(BareRabbitDriver.exchange(topic), '', content, options, (error) =>
        error ? reject(error) : resolve(),
      );
    });
  }

  async consume(
    topic: string,
    group: string,
    onMessage: (payload: Uint8Array) => void,
  ): Promise<Consumption> {
    const channel = await this.#connection.createChannel();
    const exchange = BareRabbitDriver.exchange(topic);
    const queue = BareRabbitDriver.queue(topic, group);
    await channel.assertExchange(exchange, 'topic', { durable: true });
    await channel.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await channel.bindQueue(queue, exchange, '#');
    await channel.prefetch(this.#prefetch);
    const { consumerTag } = await channel.consume(queue, (message) => {
      if (message === null) return;
      onMessage(message.content);
      channel.ack(message);
    });
    return {
      // Cancel first: acks sent just before a channel closes may be ignored by a quorum queue
      // (rabbitmq-server#10327), which then delivers those messages again.
      close: async () => {
        await channel.cancel(consumerTag);
        await channel.close();
      },
    };
  }

  /** Deletes the queues of `groups` on `topics` and the topics' exchanges. */
  async cleanup(topics: readonly string[], groups: readonly string[]): Promise<void> {
    const channel = await this.#connection.createChannel();
    try {
      for (const topic of topics) {
        for (const group of groups) await channel.deleteQueue(BareRabbitDriver.queue(topic, group));
        await channel.deleteExchange(BareRabbitDriver.exchange(topic));
        this.#exchanges.delete(topic);
      }
    } finally {
      await channel.close();
    }
  }

  async close(): Promise<void> {
    await this.#connection.close();
  }
}
