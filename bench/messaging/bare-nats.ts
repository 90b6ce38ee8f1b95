/**
 * The bare baseline for NATS JetStream: @nats-io/jetstream used directly, as a careful
 * application would without Switchboard. A publish awaits its PubAck and carries a message id
 * (Nats-Msg-Id, deduplicated by the stream); a consumer is a durable pull consumer with
 * explicit acks, read with consume() and acking every message. The server does the same work
 * as behind the adapter: one file-stored stream per topic (`bare_<topic>` on subject
 * `bare.<topic>`) and one durable consumer per group, max_ack_pending as the adapter's window.
 */
import { randomUUID } from 'node:crypto';
import {
  AckPolicy,
  type ConsumerMessages,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  StorageType,
} from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Consumption, MessagingDriver } from './driver.ts';

export interface BareNatsOptions {
  /** 127.0.0.1:4222 unless set. */
  servers?: string;
  /** Unacked messages a consumer may hold (max_ack_pending, and the pull batch). 64, the adapter's default. */
  maxAckPending?: number;
  /** "file" unless set, as the adapter's default. */
  storage?: 'file' | 'memory';
  /**
   * The client's async stack traces (an Error made per request), on as the client's default.
   * The adapter turns them off; set false here for a like-for-like comparison.
   */
  asyncTraces?: boolean;
}

export class BareNatsDriver implements MessagingDriver {
  readonly name = 'bare nats';
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #options: Required<BareNatsOptions>;
  readonly #streams = new Set<string>();
  readonly #consuming = new Set<ConsumerMessages>();

  private constructor(nc: NatsConnection, jsm: JetStreamManager, options: Required<BareNatsOptions>) {
    this.#nc = nc;
    this.#js = jetstream(nc);
    this.#jsm = jsm;
    this.#options = options;
  }

  static async connect(options: BareNatsOptions = {}): Promise<BareNatsDriver> {
    const resolved = {
      servers: '127.0.0.1:4222',
      maxAckPending: 64,
      storage: 'file' as const,
      asyncTraces: true,
      ...options,
    };
    const nc = await connect({ servers: resolved.servers, noAsyncTraces: !resolved.asyncTraces });
    return new BareNatsDriver(nc, await jetstreamManager(nc), resolved);
  }

  /** The stream of a topic: names of letters, digits, "_" and "-" only, to stay a baseline. */
  static stream(topic: string): string {
    if (!/^[A-Za-z0-9_-]+$/.test(topic))
      throw new TypeError(`topic "${topic}": letters, digits, _ and - only`);
    return `bare_${topic}`;
  }

  async prepare(topic: string): Promise<void> {
    const name = BareNatsDriver.stream(topic);
    try {
      await this.#jsm.streams.info(name);
    } catch {
      const storage = this.#options.storage === 'memory' ? StorageType.Memory : StorageType.File;
      await this.#jsm.streams.add({ name, subjects: [`bare.${topic}`], storage });
    }
    this.#streams.add(topic);
  }

  async publish(topic: string, payload: Uint8Array): Promise<void> {
    if (!this.#streams.has(topic)) await this.prepare(topic);
    await this.#js.publish(`bare.${topic}`, payload, { msgID: randomUUID() });
  }

  async consume(
    topic: string,
    group: string,
    onMessage: (payload: Uint8Array) => void,
  ): Promise<Consumption> {
    if (!this.#streams.has(topic)) await this.prepare(topic);
    const stream = BareNatsDriver.stream(topic);
    const { maxAckPending } = this.#options;
    try {
      await this.#jsm.consumers.info(stream, group);
    } catch {
      await this.#jsm.consumers.add(stream, {
        durable_name: group,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        max_ack_pending: maxAckPending,
      });
    }
    const consumer = await this.#js.consumers.get(stream, group);
    const messages = await consumer.consume({
      max_messages: maxAckPending,
      callback: (m) => {
        onMessage(m.data);
        m.ack();
      },
    });
    this.#consuming.add(messages);
    return {
      close: async () => {
        this.#consuming.delete(messages);
        await messages.close();
      },
    };
  }

  /** Deletes the streams of `topics`, and with them the groups' consumers. */
  async cleanup(topics: readonly string[], _groups: readonly string[]): Promise<void> {
    for (const topic of topics) {
      await this.#jsm.streams.delete(BareNatsDriver.stream(topic)).catch(() => false);
      this.#streams.delete(topic);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.#consuming].map((m) => m.close()));
    this.#consuming.clear();
    await this.#nc.drain();
  }
}
