/**
 * The Broker over Redis Streams (ioredis): a topic is a stream, a group is a consumer group,
 * each subscription one consumer with a blocking connection of its own. What Redis lacks is
 * built from scripts: publish dedupe, delayed retries, dead letters, stuck-message claiming.
 * docs/brokers/redis.md describes the design and its guarantees.
 */
import type { Redis } from 'ioredis';
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
import { address, commandConnection, explain, PublishGate, whenReady } from './connection.ts';
import { encodeEntry, positionId } from './entry-codec.ts';
import { GroupOps } from './group-ops.ts';
import { consumerName, RedisKeys, validateTopic } from './keys.ts';
import { type RedisBrokerOptions, type ResolvedRedisOptions, resolveRedisOptions } from './options.ts';
import { asArray, asNumber, asText } from './reply.ts';
import { PUBLISH_ONCE } from './scripts.ts';
import { RedisSubscription } from './subscription.ts';

export class RedisBroker implements Broker {
  readonly kind = 'redis';
  readonly capabilities: BrokerCapabilities;
  readonly #client: Redis;
  readonly #options: ResolvedRedisOptions;
  readonly #keys: RedisKeys;
  readonly #gate: PublishGate;
  readonly #subscriptions = new Set<Subscription>();
  /** topic → its stream key, for topics already validated. */
  readonly #streams = new Map<string, string>();
  /** Publishes not answered yet, which close() waits for. */
  #publishing = 0;
  #published: (() => void) | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;

  private constructor(client: Redis, options: ResolvedRedisOptions) {
    this.#client = client;
    this.#options = options;
    this.#keys = new RedisKeys(options.keyPrefix);
    this.#gate = new PublishGate(client, options.publishTimeoutMs, options.maxBufferedPublishes);
    this.capabilities = Object.freeze({
      // Only within one member: members of a group take a key's messages concurrently.
      orderingPerKey: false,
      persistence: options.persistent,
      consumerGroups: true,
      replay: true,
      delayedRedelivery: true,
      dedupe: options.dedupeWindowMs > 0,
    });
  }

  /** Connects, waiting up to publishTimeoutMs for Redis to answer. */
  static async connect(options: RedisBrokerOptions = {}): Promise<RedisBroker> {
    const resolved = resolveRedisOptions(options);
    const client = commandConnection(resolved);
    client.on('error', resolved.onError);
    try {
      await whenReady(client, resolved.publishTimeoutMs);
    } catch (error) {
      client.disconnect();
      throw error;
    }
    return new RedisBroker(client, resolved);
  }

  async publish(topic: string, message: OutgoingMessage): Promise<PublishReceipt> {
    const stream = this.#streamOf(topic);
    const valid = validateMessage(message, { copyPayload: false });
    this.#assertOpen();
    this.#publishing++;
    try {
      if (this.#client.status !== 'ready') await this.#gate.ready();
      return await this.#append(topic, stream, valid);
    } catch (error) {
      throw explain(error, `publish to "${topic}"`, address(this.#client));
    } finally {
      if (--this.#publishing === 0) this.#published?.();
    }
  }

  /** XADD, or the dedupe script when the message has an id of its own. */
  async #append(topic: string, stream: string, message: OutgoingMessage): Promise<PublishReceipt> {
    const fields = encodeEntry(message);
    const maxLen = this.#options.maxLenApprox;
    if (message.id === undefined || !this.capabilities.dedupe) {
      const appended =
        maxLen === undefined
          ? await this.#client.xadd(stream, '*', ...fields)
          : await this.#client.xadd(stream, 'MAXLEN', '~', maxLen, '*', ...fields);
      const position = asText(appended, 'an entry id');
      return { id: message.id ?? positionId(topic, position), position, duplicate: false };
    }
    const keys = [stream, this.#keys.dedupe(topic, message.id)];
    const reply = await PUBLISH_ONCE.run(this.#client, keys, [
      this.#options.dedupeWindowMs,
      maxLen ?? 0,
      ...fields,
    ]);
    const [position, duplicate] = asArray(reply, 'PUBLISH_ONCE');
    return {
      id: message.id,
      position: asText(position, 'an entry id'),
      duplicate: asNumber(duplicate, 'a duplicate flag') === 1,
    };
  }

  /** The topic's stream key, the name checked once (publish runs this per message). */
  #streamOf(topic: string): string {
    let stream = this.#streams.get(topic);
    if (stream === undefined) {
      stream = this.#keys.stream(validateTopic('topic', topic));
      if (this.#streams.size >= 10_000) this.#streams.clear(); // a bound, not an expected size
      this.#streams.set(topic, stream);
    }
    return stream;
  }

  async subscribe(topic: string, handler: DeliveryHandler, options: SubscribeOptions): Promise<Subscription> {
    validateTopic('topic', topic);
    if (typeof handler !== 'function') throw new TypeError('handler must be a function');
    const resolved = resolveSubscribeOptions(options);
    if (typeof resolved.deadLetterTopic === 'string')
      validateTopic('deadLetterTopic', resolved.deadLetterTopic);
    this.#assertOpen();
    const o = this.#options;
    const ops = new GroupOps(this.#client, this.#keys, topic, resolved.group, consumerName(), o.maxLenApprox);
    let member: RedisSubscription;
    try {
      member = await RedisSubscription.start(this.#client, ops, handler, resolved, o);
    } catch (error) {
      throw explain(error, `subscribing to "${topic}"`, address(this.#client));
    }
    const subscription: Subscription = {
      close: () => member.close().finally(() => this.#subscriptions.delete(subscription)),
    };
    this.#subscriptions.add(subscription);
    return subscription;
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    await Promise.all([...this.#subscriptions].map((s) => s.close()));
    if (this.#publishing > 0) {
      await new Promise<void>((resolve) => {
        this.#published = resolve;
      });
    }
    try {
      await this.#client.quit();
    } catch {
      this.#client.disconnect(); // Redis is unreachable: nothing left to say to it
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error(`${this.kind} broker client is closed`);
  }
}
