/**
 * The Broker interface on RabbitMQ (issue 4) with amqplib: a topic is a durable topic exchange, a
 * consumer group a durable quorum (or classic) queue bound to it, published with confirms as
 * persistent messages, consumed with manual acks and a prefetch of maxInFlight. Delayed
 * redelivery goes through TTL delay queues that dead-letter back to the group's queue, dead
 * letters to `<topic>.dlq` with the x-death-* headers. docs/brokers/rabbitmq.md tells the whole.
 *
 * What RabbitMQ cannot do without plugins or streams, the capabilities say: no replay (a queue
 * forgets what it delivered, and a new group's queue starts empty) and no dedupe by id.
 */
import { randomUUID } from 'node:crypto';
import type {
  Broker,
  BrokerCapabilities,
  DeliveryHandler,
  OutgoingMessage,
  PublishReceipt,
  SubscribeOptions,
  Subscription,
} from '../broker.ts';
import { resolveSubscribeOptions, validateMessage, validateName } from '../validate.ts';
import { AmqpConnection } from './connection.ts';
import { GroupConsumer } from './consumer.ts';
import { amqpHeaders, assertPublishableHeaders } from './headers.ts';
import { type RabbitBrokerOptions, type ResolvedRabbitOptions, resolveRabbitOptions } from './options.ts';
import { ConfirmPublisher } from './publisher.ts';
import { Topology } from './topology.ts';

/** Quorum queues have message TTLs and at-least-once dead-lettering from 3.10 on. */
const QUORUM_MIN_VERSION = [3, 10];

function versionBelow(version: unknown, min: number[]): boolean {
  if (typeof version !== 'string') return false;
  const parts = version.split('.').map((part) => Number.parseInt(part, 10));
  for (let i = 0; i < min.length; i++) {
    const part = parts[i] ?? 0;
    if (part !== min[i]) return part < min[i]!;
  }
  return false;
}

export class RabbitBroker implements Broker {
  readonly kind = 'rabbitmq';
  readonly capabilities: BrokerCapabilities;
  readonly #options: ResolvedRabbitOptions;
  readonly #connection: AmqpConnection;
  readonly #publisher: ConfirmPublisher;
  readonly #topology: Topology;
  readonly #consumers = new Set<GroupConsumer>();
  #closed = false;
  #closing: Promise<void> | undefined;

  private constructor(options: ResolvedRabbitOptions, connection: AmqpConnection) {
    this.#options = options;
    this.#connection = connection;
    this.#publisher = new ConfirmPublisher(connection, options.publishTimeoutMs);
    const singleActive = options.ordering === 'per-key';
    this.#topology = new Topology(options.namePrefix, options.queueType, singleActive);
    this.capabilities = Object.freeze({
      orderingPerKey: singleActive,
      persistence: true,
      consumerGroups: true,
      replay: false,
      delayedRedelivery: true,
      dedupe: false,
    });
  }

  /** Connects to RabbitMQ; rejects when the first connection cannot be made. */
  static async connect(options: RabbitBrokerOptions): Promise<RabbitBroker> {
    const resolved = resolveRabbitOptions(options);
    const connection = await AmqpConnection.open(resolved);
    const version = connection.session?.model.connection.serverProperties.version;
    if (resolved.queueType === 'quorum' && versionBelow(version, QUORUM_MIN_VERSION)) {
      await connection.close();
      throw new Error(`queueType 'quorum' needs RabbitMQ ≥ 3.10 (this is ${version}); use 'classic'`);
    }
    return new RabbitBroker(resolved, connection);
  }

  async publish(topic: string, message: OutgoingMessage): Promise<PublishReceipt> {
    validateName('topic', topic);
    const valid = validateMessage(message);
    const headers = valid.headers ?? {};
    assertPublishableHeaders(headers);
    const target = this.#topology.topicTarget(topic, valid.key);
    this.#assertOpen();
    const id = valid.id ?? randomUUID();
    const { payload, key } = valid;
    const content = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    // No headers table at all when there is nothing to put in it: amqplib encodes even an empty one.
    const plain = key === undefined && Object.keys(headers).length === 0;
    await this.#publisher.publish(
      target,
      content,
      plain
        ? { persistent: true, messageId: id }
        : { persistent: true, messageId: id, headers: amqpHeaders(headers, key) },
    );
    return { id, duplicate: false };
  }

  async subscribe(topic: string, handler: DeliveryHandler, options: SubscribeOptions): Promise<Subscription> {
    validateName('topic', topic);
    if (typeof handler !== 'function') throw new TypeError('handler must be a function');
    const resolved = resolveSubscribeOptions(options);
    this.#topology.exchange(topic);
    if (resolved.deadLetterTopic) this.#topology.exchange(resolved.deadLetterTopic);
    this.#assertOpen();
    const o = this.#options;
    const session =
      this.#connection.session ?? (await this.#connection.waitForSession(o.publishTimeoutMs, 'subscribe'));
    const consumer = new GroupConsumer(this.#connection, this.#publisher, this.#topology, handler, {
      topic,
      options: resolved,
      prefetch: options.maxInFlight === undefined ? o.prefetch : resolved.maxInFlight,
      requeueCounts: o.queueType === 'quorum',
      singleActive: o.ordering === 'per-key',
      drainTimeoutMs: o.drainTimeoutMs,
      backoffMs: (attempt) => Math.min(30_000, o.retryBackoffMs * 2 ** (attempt - 1)),
      reconnect: o.reconnect,
    });
    this.#consumers.add(consumer); // so that a close() meanwhile closes it too
    try {
      await consumer.start(session).catch((error: unknown) => {
        // A connection lost while declaring is no reason to fail: start again on the next one.
        if (!session.closed || this.#closed) throw error;
        return consumer.startAgain(o.publishTimeoutMs, error);
      });
    } catch (error) {
      await consumer.close();
      this.#consumers.delete(consumer);
      throw error;
    }
    return {
      close: async () => {
        await consumer.close();
        this.#consumers.delete(consumer);
      },
    };
  }

  /** Lets publishes in flight finish, closes the subscriptions (draining), then the connection. */
  close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= (async () => {
      await this.#publisher.idle();
      await Promise.all([...this.#consumers].map((consumer) => consumer.close()));
      await this.#publisher.idle(); // dead letters and retries of the draining handlers
      await this.#connection.close();
    })();
    return this.#closing;
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error(`${this.kind} broker client is closed`);
  }
}
