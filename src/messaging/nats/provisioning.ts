/**
 * What a topic and a group need in JetStream, set up by the client as it needs them, once: a
 * topic's stream at its first publish or subscribe, a group's durable consumer at subscribe.
 * The first client to use a topic creates its stream with its own settings; later ones use the
 * stream as it is.
 */
import {
  AckPolicy,
  type Consumer,
  DeliverPolicy,
  DiscardPolicy,
  type JetStreamClient,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { type ResolvedSubscribeOptions, validateName } from '../validate.ts';
import { type ConnectionWatch, publishFailure } from './connection-watch.ts';
import { type TopicNames, topicNames } from './naming.ts';
import type { ResolvedNatsOptions } from './options.ts';

export class Provisioner {
  /** topic → its stream and subject: encoded once. */
  readonly #names = new Map<string, TopicNames>();
  /** topic → its stream, being created or known to exist. */
  readonly #streams = new Map<string, Promise<TopicNames>>();
  /** Topics whose stream is known to exist. */
  readonly #ready = new Set<string>();

  constructor(
    readonly options: ResolvedNatsOptions,
    readonly js: JetStreamClient,
    readonly jsm: JetStreamManager,
    readonly watch: ConnectionWatch,
  ) {}

  /** Where a topic lives (validated): what a foreign NATS client publishes to. */
  names(topic: string): TopicNames {
    let names = this.#names.get(topic);
    if (!names) {
      names = topicNames(this.options.streamPrefix, validateName('topic', topic));
      if (this.#names.size >= 10_000) this.#names.clear(); // bounded: topics are few, callers may not be
      this.#names.set(topic, names);
    }
    return names;
  }

  /** True when the topic's stream is known to exist: a publish needs no round trip first. */
  ready(topic: string): boolean {
    return this.#ready.has(topic);
  }

  /** The stream turned out to be gone (someone deleted it): look again next time. */
  forget(topic: string): void {
    this.#ready.delete(topic);
    this.#streams.delete(topic);
  }

  /** Creates the topic's stream unless it exists. */
  ensureStream(topic: string, deadline: number): Promise<TopicNames> {
    let known = this.#streams.get(topic);
    if (!known) {
      known = this.#createStream(topic, this.names(topic), deadline);
      this.#streams.set(topic, known);
      known.then(
        () => this.#ready.add(topic),
        () => this.#streams.delete(topic),
      );
    }
    return known;
  }

  async #createStream(topic: string, names: TopicNames, deadline: number): Promise<TopicNames> {
    const o = this.options;
    await this.watch.connectedWithin(Math.max(0, deadline - Date.now()), `stream for topic "${topic}"`);
    try {
      await this.jsm.streams.info(names.stream);
      return names;
    } catch (error) {
      if (!isNotFound(error)) throw publishFailure(topic, error);
    }
    try {
      await this.jsm.streams.add({
        name: names.stream,
        subjects: [names.subject],
        storage: o.storage === 'memory' ? StorageType.Memory : StorageType.File,
        num_replicas: o.replicas,
        retention: RetentionPolicy.Limits,
        discard: DiscardPolicy.Old,
        duplicate_window: nanos(o.duplicateWindowMs),
        max_age: nanos(o.maxAgeMs),
        max_bytes: o.maxBytes,
        max_msgs: o.maxMessages,
      });
    } catch (error) {
      // Another client may have created it meanwhile, perhaps with other settings: use it.
      await this.jsm.streams.info(names.stream).catch(() => {
        throw publishFailure(topic, error);
      });
    }
    return names;
  }

  /** The group's durable consumer, created at `startAt` or brought to this member's settings. */
  async openConsumer(topic: string, durable: string, o: ResolvedSubscribeOptions): Promise<Consumer> {
    const names = await this.ensureStream(topic, Date.now() + this.options.publishTimeoutMs);
    const settings = { ack_wait: nanos(o.ackTimeoutMs), max_ack_pending: o.maxInFlight };
    let info = await this.jsm.consumers.info(names.stream, durable).catch((error: unknown) => {
      if (isNotFound(error)) return undefined;
      throw error;
    });
    if (!info) {
      info = await this.jsm.consumers
        .add(names.stream, {
          durable_name: durable,
          ack_policy: AckPolicy.Explicit,
          deliver_policy: o.startAt === 'earliest' ? DeliverPolicy.All : DeliverPolicy.New,
          // Dead letters are ours to send (with the reason), so JetStream never gives up by itself.
          max_deliver: -1,
          ...settings,
        })
        // Another member may have created it meanwhile: use that one.
        .catch((error: unknown) =>
          this.jsm.consumers.info(names.stream, durable).catch(() => {
            throw error;
          }),
        );
    }
    const { config } = info;
    if (config.ack_wait !== settings.ack_wait || config.max_ack_pending !== settings.max_ack_pending) {
      await this.jsm.consumers.update(names.stream, durable, settings);
    }
    return this.js.consumers.get(names.stream, durable);
  }
}

function isNotFound(error: unknown): boolean {
  return error instanceof Error && /not found/i.test(error.message);
}
