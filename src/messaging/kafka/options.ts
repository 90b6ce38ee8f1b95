/**
 * What KafkaBroker.connect() takes, its defaults, and the kafkajs client configuration made
 * from it. Every wait is bounded: connecting, each request, each publish, the group's session.
 */
import type { KafkaConfig, SASLOptions } from 'kafkajs';
import { logLevel } from 'kafkajs';

export interface KafkaGroupOptions {
  /** The group coordinator drops a member silent for this long. 10 s unless set. */
  sessionTimeoutMs?: number;
  /** How often a member tells the coordinator it is alive (under a third of the session). 1 s. */
  heartbeatIntervalMs?: number;
  /** How long the coordinator waits for members to rejoin during a rebalance. 30 s. */
  rebalanceTimeoutMs?: number;
  /** The longest a fetch waits at the broker when no data is there. 500 ms. */
  fetchMaxWaitMs?: number;
  /** Bytes fetched per partition per request (a larger message still arrives, alone). 2 MiB. */
  maxBytesPerPartition?: number;
  /**
   * The shortest time between two offset commits of a subscription. 100 ms unless set: a member
   * that crashes redelivers what it settled since its last commit.
   */
  commitIntervalMs?: number;
  /**
   * The group leader waits this long before it hands out the partitions. 0 unless set. For
   * librdkafka's mock cluster (tests use 100): it ends a rebalance as soon as the leader's
   * assignment arrives and fails the members whose SyncGroup comes later.
   */
  leaderAssignDelayMs?: number;
}

export interface KafkaBrokerOptions extends KafkaGroupOptions {
  /** Bootstrap servers, "host:port". */
  brokers: readonly string[];
  /** Shown to the brokers in their logs and quotas. "switchboard" unless set. */
  clientId?: string;
  /**
   * The idempotent producer (acks=all, sequence numbers: the broker drops a producer's own
   * retries). 'auto' (the default) uses it when the cluster names a controller the client can
   * reach, as kafkajs asks the controller for a producer id; true fails connect() otherwise.
   */
  idempotent?: boolean | 'auto';
  /** A publish not acknowledged within this fails (DEADLINE_EXCEEDED). 10 s unless set. */
  publishTimeoutMs?: number;
  /** Publishes waiting for their acknowledgement; more fail at once (RESOURCE_EXHAUSTED). 10,000. */
  maxPendingPublishes?: number;
  /** Bytes of messages sent in one produce request (a larger message goes alone). 1 MiB. */
  maxBatchBytes?: number;
  /** One request to a broker, answered or failed. 5 s unless set. */
  requestTimeoutMs?: number;
  /** Opening a connection to a broker. 3 s unless set. */
  connectionTimeoutMs?: number;
  /** How long closing a subscription waits for its running handlers. 5 s unless set. */
  drainTimeoutMs?: number;
  /** The first retry delay after a handler throws; it doubles per attempt up to 30 s. 100 ms. */
  retryBackoffMs?: number;
  /** TLS to the brokers: true for the system's CAs, or Node's TLS options. */
  ssl?: KafkaConfig['ssl'];
  sasl?: SASLOptions;
  /**
   * Trouble in the background that no caller awaits: a consumer that crashed and restarts, a
   * failed offset commit, a dead letter that could not be published yet. Ignored unless set.
   */
  onError?: (err: Error) => void;
}

export type ResolvedKafkaOptions = Required<
  Omit<KafkaBrokerOptions, 'ssl' | 'sasl' | 'clientId' | 'brokers' | 'idempotent'>
> & {
  brokers: string[];
  clientId: string;
  idempotent: boolean | 'auto';
  ssl: KafkaConfig['ssl'];
  sasl: SASLOptions | undefined;
};

function positive(what: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new TypeError(`${what} must be a positive integer`);
  }
  return value;
}

export function resolveKafkaOptions(options: KafkaBrokerOptions): ResolvedKafkaOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const { brokers } = options;
  if (!Array.isArray(brokers) || brokers.length === 0 || brokers.some((b) => !/^[^\s:]+:\d+$/.test(b))) {
    throw new TypeError('brokers must be a non-empty list of "host:port"');
  }
  const idempotent = options.idempotent ?? 'auto';
  if (idempotent !== 'auto' && typeof idempotent !== 'boolean') {
    throw new TypeError('idempotent must be true, false or "auto"');
  }
  return {
    brokers: [...brokers],
    clientId: options.clientId ?? 'switchboard',
    idempotent,
    publishTimeoutMs: positive('publishTimeoutMs', options.publishTimeoutMs, 10_000),
    maxPendingPublishes: positive('maxPendingPublishes', options.maxPendingPublishes, 10_000),
    maxBatchBytes: positive('maxBatchBytes', options.maxBatchBytes, 1024 * 1024),
    requestTimeoutMs: positive('requestTimeoutMs', options.requestTimeoutMs, 5000),
    connectionTimeoutMs: positive('connectionTimeoutMs', options.connectionTimeoutMs, 3000),
    drainTimeoutMs: positive('drainTimeoutMs', options.drainTimeoutMs, 5000),
    retryBackoffMs: positive('retryBackoffMs', options.retryBackoffMs, 100),
    sessionTimeoutMs: positive('sessionTimeoutMs', options.sessionTimeoutMs, 10_000),
    heartbeatIntervalMs: positive('heartbeatIntervalMs', options.heartbeatIntervalMs, 1000),
    rebalanceTimeoutMs: positive('rebalanceTimeoutMs', options.rebalanceTimeoutMs, 30_000),
    fetchMaxWaitMs: positive('fetchMaxWaitMs', options.fetchMaxWaitMs, 500),
    maxBytesPerPartition: positive('maxBytesPerPartition', options.maxBytesPerPartition, 2 * 1024 * 1024),
    commitIntervalMs: positive('commitIntervalMs', options.commitIntervalMs, 100),
    leaderAssignDelayMs:
      options.leaderAssignDelayMs === 0 ? 0 : positive('leaderAssignDelayMs', options.leaderAssignDelayMs, 0),
    ssl: options.ssl,
    sasl: options.sasl,
    onError: options.onError ?? (() => {}),
  };
}

/**
 * The kafkajs client. Its own logging is off: what matters reaches the caller as a rejected
 * promise or through onError. Retries are few and short, so a request to a dead cluster fails
 * in seconds; a consumer restarts by itself after a failure (see subscription.ts).
 */
export function kafkaConfig(o: ResolvedKafkaOptions): KafkaConfig {
  return {
    clientId: o.clientId,
    brokers: o.brokers,
    ssl: o.ssl,
    sasl: o.sasl,
    connectionTimeout: o.connectionTimeoutMs,
    requestTimeout: o.requestTimeoutMs,
    enforceRequestTimeout: true,
    retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1000 },
    logLevel: logLevel.NOTHING,
  };
}
