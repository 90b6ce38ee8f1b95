/**
 * The Broker interface (issue 4): what every messaging adapter implements — the embedded log,
 * NATS JetStream, RabbitMQ, Kafka, Redis Streams — and what test/conformance/broker-suite.ts
 * (next) holds each of them to against its real server, as Watermill's pubsub/tests does.
 * This file is the contract only; no adapter exists yet.
 */

/** What a publisher hands over. */
export interface OutgoingMessage {
  /**
   * Unique per message; the broker drops a second publish with the same id within its dedupe
   * window (Nats-Msg-Id, Kafka's idempotent producer, the embedded log's id index). Generated
   * when absent, so a retried publish is still one message only if the caller set it.
   */
  id?: string;
  /** Messages with one key are delivered in publish order (where `capabilities.orderingPerKey`). */
  key?: string;
  headers?: Readonly<Record<string, string>>;
  /** The caller may reuse these bytes once publish() has resolved (some adapters copy them at once). */
  payload: Uint8Array;
}

/** The broker's acknowledgement of a publish: the message is as durable as the broker makes it. */
export interface PublishReceipt {
  id: string;
  /** Where it landed, when the broker says (partition/offset, stream sequence). */
  position?: string;
  /** True when the broker recognised the id as already published. */
  duplicate: boolean;
}

/** One delivery of one message to one consumer group member. */
export interface Delivery {
  readonly topic: string;
  readonly id: string;
  readonly key: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly payload: Uint8Array;
  /** 1 on the first delivery, growing with every redelivery. */
  readonly attempt: number;
  /** Done: never deliver it to this group again. */
  ack(): Promise<void>;
  /**
   * Not now: deliver it again after `delayMs` (0: as soon as the broker can; at most 2^31-1 ms,
   * about 24.8 days: a longer delay waits that long).
   */
  nack(delayMs?: number): Promise<void>;
  /** Never again: to the dead-letter topic with `reason` when one is configured, else dropped. */
  term(reason?: string): Promise<void>;
}

/**
 * Called for every delivery. Resolving without settling acks; throwing nacks with backoff
 * (and dead-letters after `maxAttempts`), so a poison message never blocks the others.
 */
export type DeliveryHandler = (delivery: Delivery) => Promise<void> | void;

export interface SubscribeOptions {
  /** Members of one group share the messages; every group gets every message. */
  group: string;
  /** Deliveries handed out and not yet settled: the subscriber's backpressure. 64 unless set. */
  maxInFlight?: number;
  /** Where a group without a stored position starts. 'latest' unless set. */
  startAt?: 'earliest' | 'latest';
  /** Deliveries before a message goes to the dead-letter topic. 5 unless set. */
  maxAttempts?: number;
  /** `<topic>.dlq` unless set; false: drop after maxAttempts. */
  deadLetterTopic?: string | false;
  /** A delivery neither settled nor handled within this is redelivered. 30 s unless set. */
  ackTimeoutMs?: number;
}

export interface Subscription {
  /** Stops taking new deliveries, lets the running handlers settle, then leaves the group. */
  close(): Promise<void>;
}

/** What a broker guarantees, so callers and the conformance suite know what to expect. */
export interface BrokerCapabilities {
  orderingPerKey: boolean;
  /** Messages survive a broker restart. */
  persistence: boolean;
  consumerGroups: boolean;
  /** A new group may start from the earliest retained message. */
  replay: boolean;
  /** nack(delayMs) waits at the broker, not in the subscriber. */
  delayedRedelivery: boolean;
  /** A second publish of one message id (within the broker's window) is dropped. */
  dedupe: boolean;
}

export interface Broker {
  /** "embedded", "nats", "rabbitmq", "kafka", "redis". */
  readonly kind: string;
  readonly capabilities: BrokerCapabilities;
  /**
   * Resolves once the broker has the message (publisher confirm, JetStream ack, Kafka acks=all,
   * the log's fsync policy). While the broker is down it rejects with a clear error, or waits
   * within a configured bound — never buffers without limit.
   */
  publish(topic: string, message: OutgoingMessage): Promise<PublishReceipt>;
  subscribe(topic: string, handler: DeliveryHandler, options: SubscribeOptions): Promise<Subscription>;
  /** Closes subscriptions (letting handlers settle) and connections; publishes in flight finish first. */
  close(): Promise<void>;
  /**
   * What the broker holds, for metrics and the dashboard: topics, their groups and each group's
   * lag. Optional: an adapter that cannot tell cheaply leaves it out.
   */
  stats?(): Promise<BrokerStats>;
}

export interface BrokerStats {
  topics: TopicStats[];
}

export interface TopicStats {
  name: string;
  /** Messages ever published to the topic (as far as the broker still knows). */
  published: number;
  groups: GroupStats[];
}

export interface GroupStats {
  name: string;
  /** Messages published and not yet settled by the group. */
  lag: number;
  /** Messages the group settled by dead-lettering them. */
  deadLettered: number;
}
