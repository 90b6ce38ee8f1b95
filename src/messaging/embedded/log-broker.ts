/**
 * The embedded broker: a durable, in-process Broker over the segment log. Each topic is a
 * PartitionedLog under `<dir>/topics/<topic>`, consumer-group positions live in an
 * OffsetStore under `<dir>/offsets`, and reopening the directory resumes where it stopped.
 * docs/messaging.md ("The embedded broker") describes options, layout and guarantees.
 *
 * One process owns a directory at a time.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type {
  Broker,
  BrokerCapabilities,
  BrokerStats,
  DeliveryHandler,
  OutgoingMessage,
  PublishReceipt,
  SubscribeOptions,
  Subscription,
} from '../broker.ts';
import { OffsetStore } from '../log/index.ts';
import { resolveSubscribeOptions, validateMessage } from '../validate.ts';
import type { ConsumerGroup, GroupContext } from './consumer-group.ts';
import { MAX_ID_BYTES } from './envelope.ts';
import { GroupMember } from './member.ts';
import { OffsetCommitter } from './offset-committer.ts';
import { type LogBrokerOptions, type LogBrokerSettings, settleOptions } from './options.ts';
import { embeddedStats } from './stats.ts';
import { EmbeddedTopic } from './topic.ts';
import { assertUtf8, validateTopicName } from './topic-name.ts';

const CAPABILITIES: BrokerCapabilities = Object.freeze({
  orderingPerKey: true,
  persistence: true,
  consumerGroups: true,
  replay: true,
  delayedRedelivery: true,
  dedupe: true,
});

export class LogBroker implements Broker {
  readonly kind = 'embedded';
  readonly capabilities = CAPABILITIES;
  readonly #topics = new Map<string, Promise<EmbeddedTopic>>();
  readonly #subscriptions = new Set<Subscription>();
  readonly #publishing = new Set<Promise<unknown>>();
  readonly #committer: OffsetCommitter;
  readonly #context: GroupContext;
  readonly #settings: LogBrokerSettings;
  readonly #offsets: OffsetStore;
  #closing: Promise<void> | undefined;

  private constructor(
    readonly dir: string,
    settings: LogBrokerSettings,
    offsets: OffsetStore,
  ) {
    this.#settings = settings;
    this.#offsets = offsets;
    this.#committer = new OffsetCommitter(offsets, settings.commitIntervalMs, settings.onError);
    this.#context = {
      settings,
      deadLetter: async (topic, message) => (await this.#topic(topic)).deadLetter(message),
      progressed: (group: ConsumerGroup) => this.#committer.mark(group),
    };
  }

  /** Opens (creating if needed) the broker in `dir`; topics open on first use. */
  static async open(dir: string, options: LogBrokerOptions = {}): Promise<LogBroker> {
    const settings = settleOptions(options);
    await mkdir(path.join(dir, 'topics'), { recursive: true });
    const offsets = await OffsetStore.open(path.join(dir, 'offsets'));
    return new LogBroker(dir, settings, offsets);
  }

  /** How many times the group positions were written to disk: for metrics and tests. */
  get offsetWrites(): number {
    return this.#offsets.writes;
  }

  /** Resolves once the message is as durable as the fsync policy says (or is a duplicate). */
  async publish(topic: string, message: OutgoingMessage): Promise<PublishReceipt> {
    const name = validateTopicName('topic', topic);
    const valid = validateMessage(message);
    assertUtf8('message.id', valid.id);
    assertUtf8('message.key', valid.key);
    if (valid.id !== undefined && Buffer.byteLength(valid.id) > MAX_ID_BYTES) {
      throw new TypeError(`message.id is longer than ${MAX_ID_BYTES} bytes`);
    }
    this.#assertOpen();
    const published = this.#topic(name).then((t) => t.publish(valid));
    this.#publishing.add(published);
    const done = () => this.#publishing.delete(published);
    published.then(done, done);
    return published;
  }

  async subscribe(topic: string, handler: DeliveryHandler, options: SubscribeOptions): Promise<Subscription> {
    const name = validateTopicName('topic', topic);
    if (typeof handler !== 'function') throw new TypeError('handler must be a function');
    const resolved = resolveSubscribeOptions(options);
    if (resolved.deadLetterTopic !== false) {
      validateTopicName('deadLetterTopic', resolved.deadLetterTopic ?? `${name}.dlq`);
    }
    this.#assertOpen();
    const group = await (await this.#topic(name)).group(resolved.group, resolved.startAt);
    this.#assertOpen();
    const member = new GroupMember(handler, resolved);
    let closing: Promise<void> | undefined;
    const subscription: Subscription = {
      close: () => {
        closing ??= group.leave(member, this.#settings.drainTimeoutMs).finally(() => {
          this.#subscriptions.delete(subscription);
        });
        return closing;
      },
    };
    this.#subscriptions.add(subscription);
    group.join(member);
    return subscription;
  }

  /** The topics opened since the broker started (topics only on disk are not read for this). */
  async stats(): Promise<BrokerStats> {
    const opened = await Promise.all([...this.#topics.values()].map((t) => t.catch(() => undefined)));
    return embeddedStats(opened.filter((t) => t !== undefined));
  }

  /**
   * Closes the subscriptions (letting handlers settle within the drain timeout), lets
   * publishes in flight finish, writes the groups' positions and closes the logs.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    await Promise.all([...this.#subscriptions].map((s) => s.close()));
    await Promise.allSettled([...this.#publishing]);
    // Dead letters in progress may open further topics: close groups until none is new.
    const closed = new Set<Promise<EmbeddedTopic>>();
    const topics: EmbeddedTopic[] = [];
    const unclosed = () => [...this.#topics.values()].filter((t) => !closed.has(t));
    for (let left = unclosed(); left.length > 0; left = unclosed()) {
      for (const opening of left) {
        closed.add(opening);
        const topic = await opening.catch(() => undefined);
        if (!topic) continue;
        topics.push(topic);
        await Promise.all(topic.groups.map((g) => g.close()));
      }
    }
    await this.#committer.close();
    await this.#offsets.close();
    await Promise.all(topics.map((t) => t.close()));
  }

  #assertOpen(): void {
    if (this.#closing) throw new Error('the embedded broker is closed');
  }

  #topic(name: string): Promise<EmbeddedTopic> {
    let topic = this.#topics.get(name);
    if (!topic) {
      topic = EmbeddedTopic.open(name, path.join(this.dir, 'topics', name), this.#offsets, this.#context);
      this.#topics.set(name, topic);
      // A topic that failed to open is retried by the next call.
      topic.catch(() => this.#topics.delete(name));
    }
    return topic;
  }
}
