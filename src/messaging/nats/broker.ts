/**
 * The Broker interface over NATS JetStream (docs/brokers/nats.md). One stream per topic, one
 * durable pull consumer per group; a publish resolves on JetStream's PubAck and is deduplicated
 * by its id (Nats-Msg-Id). Dead letters are published by this side — to `<topic>.dlq` unless the
 * subscription names another topic — with the x-death-* headers of the in-process broker,
 * before the original is terminated.
 */
import { randomUUID } from 'node:crypto';
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import type {
  Broker,
  BrokerCapabilities,
  DeliveryHandler,
  OutgoingMessage,
  PublishReceipt,
  SubscribeOptions,
  Subscription,
} from '../broker.ts';
import { type ResolvedSubscribeOptions, resolveSubscribeOptions, validateMessage } from '../validate.ts';
import { ConnectionWatch, NatsUnavailableError, publishFailure } from './connection-watch.ts';
import type { NatsDelivery } from './delivery.ts';
import { assertNatsCarries, ID_HEADER, oneLine, toNatsHeaders } from './headers.ts';
import { NatsMember, within } from './member.ts';
import { consumerName, type TopicNames } from './naming.ts';
import { type NatsBrokerOptions, type ResolvedNatsOptions, resolveNatsOptions } from './options.ts';
import { Provisioner } from './provisioning.ts';

const CAPABILITIES: BrokerCapabilities = Object.freeze({
  // Within one member only: JetStream hands a key's messages to whichever member pulls next.
  orderingPerKey: false,
  persistence: true,
  consumerGroups: true,
  replay: true,
  delayedRedelivery: true,
  dedupe: true,
});

export class NatsBroker implements Broker {
  readonly kind = 'nats';
  readonly capabilities = CAPABILITIES;
  readonly #options: ResolvedNatsOptions;
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #watch: ConnectionWatch;
  readonly #setup: Provisioner;
  readonly #subscriptions = new Set<NatsMember>();
  readonly #publishing = new Set<Promise<unknown>>();
  #closed = false;

  private constructor(options: ResolvedNatsOptions, nc: NatsConnection, jsm: JetStreamManager) {
    this.#options = options;
    this.#nc = nc;
    this.#js = jetstream(nc, { timeout: options.publishTimeoutMs });
    this.#watch = new ConnectionWatch(nc);
    this.#setup = new Provisioner(options, this.#js, jsm, this.#watch);
  }

  /** Connects to the server(s); rejects when none answers or JetStream is not enabled. */
  static async connect(options: NatsBrokerOptions): Promise<NatsBroker> {
    const resolved = resolveNatsOptions(options);
    const where = resolved.servers.join(', ');
    const nc = await connect({
      // The client's async stack traces cost an Error per request (a third of a publish's CPU);
      // our errors name the topic and the cause instead. `connection` may turn them back on.
      noAsyncTraces: true,
      ...resolved.connection,
      servers: resolved.servers,
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: resolved.reconnectTimeWaitMs,
    }).catch((error: unknown) => {
      const cause = error instanceof Error ? error.message : String(error);
      throw new NatsUnavailableError(`NATS server unreachable at ${where}: ${cause}`, { cause: error });
    });
    try {
      const jsm = await jetstreamManager(nc, { timeout: resolved.publishTimeoutMs });
      return new NatsBroker(resolved, nc, jsm);
    } catch (error) {
      await nc.close();
      const cause = error instanceof Error ? error.message : String(error);
      throw new Error(`NATS at ${where} offers no JetStream: ${cause}`, { cause: error });
    }
  }

  /** Where a topic lives: what a foreign NATS client publishes to. */
  topicNames(topic: string): TopicNames {
    return this.#setup.names(topic);
  }

  async publish(topic: string, message: OutgoingMessage): Promise<PublishReceipt> {
    const names = this.topicNames(topic);
    const valid = validateMessage(message);
    assertNatsCarries(valid);
    this.#assertOpen();
    const id = valid.id ?? randomUUID();
    return this.#track(this.#send(topic, names, valid, id, toNatsHeaders(valid)));
  }

  async subscribe(topic: string, handler: DeliveryHandler, options: SubscribeOptions): Promise<Subscription> {
    const names = this.topicNames(topic);
    if (typeof handler !== 'function') throw new TypeError('handler must be a function');
    const resolved = resolveSubscribeOptions(options);
    const durable = consumerName(resolved.group);
    this.#assertOpen();
    const member: NatsMember = new NatsMember({
      topic,
      stream: names.stream,
      options: resolved,
      handler,
      open: () => this.#setup.openConsumer(topic, durable, resolved),
      deadLetter: (delivery, reason, attempts) => this.#deadLetter(delivery, reason, attempts, resolved),
      backoffMs: (attempt) => Math.min(30_000, this.#options.retryBackoffMs * 2 ** (attempt - 1)),
      drainTimeoutMs: this.#options.drainTimeoutMs,
      flush: () => within(this.#nc.flush(), this.#options.publishTimeoutMs),
      connected: () => this.#watch.connected,
      connectionClosed: () => this.#nc.isClosed(),
    });
    // Tracked from the start, so a broker closed meanwhile closes this member too.
    this.#subscriptions.add(member);
    try {
      await member.start();
    } catch (error) {
      this.#subscriptions.delete(member);
      throw error;
    }
    return { close: () => member.close().finally(() => this.#subscriptions.delete(member)) };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#subscriptions].map((s) => s.close()));
    await Promise.allSettled(this.#publishing);
    // drain() flushes what is buffered (acks among it); a server that is gone cannot hold us up.
    if (this.#watch.connected) await within(this.#nc.drain(), this.#options.publishTimeoutMs);
    if (!this.#nc.isClosed()) await this.#nc.close();
  }

  async #send(
    topic: string,
    names: TopicNames,
    message: OutgoingMessage,
    msgID: string,
    headers: MsgHdrs | undefined,
    id = msgID,
  ): Promise<PublishReceipt> {
    const deadline = Date.now() + this.#options.publishTimeoutMs;
    for (let attempt = 1; ; attempt++) {
      // The common case (a known stream, a live connection) goes straight to the publish.
      if (!this.#setup.ready(topic)) await this.#setup.ensureStream(topic, deadline);
      if (!this.#watch.connected) {
        const what = `publish to topic "${topic}" not sent`;
        await this.#watch.connectedWithin(Math.max(0, deadline - Date.now()), what);
      }
      try {
        const ack = await this.#js.publish(names.subject, message.payload, {
          msgID,
          headers,
          timeout: Math.max(1, deadline - Date.now()),
        });
        return { id, position: String(ack.seq), duplicate: ack.duplicate };
      } catch (error) {
        // No stream took the subject: someone deleted it since we looked. Create it again, once.
        // (The client reports "no responders" as JetStreamNotEnabled, which it does not export.)
        if (error instanceof Error && error.name === 'JetStreamNotEnabled' && attempt === 1) {
          this.#setup.forget(topic);
          continue;
        }
        throw publishFailure(topic, error, this.#nc.info?.max_payload);
      }
    }
  }

  #track<T>(work: Promise<T>): Promise<T> {
    this.#publishing.add(work);
    const done = () => this.#publishing.delete(work);
    work.then(done, done);
    return work;
  }

  async #deadLetter(
    delivery: NatsDelivery,
    reason: string,
    attempts: number,
    o: ResolvedSubscribeOptions,
  ): Promise<void> {
    if (o.deadLetterTopic === false) return;
    const { group } = o;
    const topic = o.deadLetterTopic ?? `${delivery.topic}.dlq`;
    const message: OutgoingMessage = {
      key: delivery.key,
      headers: delivery.headers,
      payload: delivery.payload,
    };
    const headers = toNatsHeaders(message, {
      [ID_HEADER]: delivery.id,
      'x-death-reason': oneLine(reason),
      'x-death-attempts': String(attempts),
      'x-death-topic': delivery.topic,
      'x-death-group': group,
    });
    // Per group, so each group's dead letter lands, and a repeated one (term lost) does not.
    const msgID = `${group}/${delivery.id}`;
    await this.#track(this.#send(topic, this.topicNames(topic), message, msgID, headers, delivery.id));
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error(`${this.kind} broker client is closed`);
  }
}
