/** What NatsBroker.connect takes, with its defaults applied and checked. */
import type { ConnectionOptions } from '@nats-io/transport-node';
import { validatePrefix } from './naming.ts';

export interface NatsBrokerOptions {
  /** "host:port" or "nats://host:port", one or several of a cluster. */
  servers: string | readonly string[];
  /** Streams are named `<streamPrefix>_<topic>`, subjects `<streamPrefix>.<topic>`. "sb" unless set. */
  streamPrefix?: string;
  /** Copies of each stream in a JetStream cluster. 1 unless set. */
  replicas?: number;
  /** Where streams keep messages: "file" (survives a server restart, the default) or "memory". */
  storage?: 'file' | 'memory';
  /** How long JetStream remembers a message id to drop a second publish of it. 2 minutes unless set. */
  duplicateWindowMs?: number;
  /** Retention of each stream created; unlimited unless set (the oldest messages go first). */
  maxAgeMs?: number;
  maxBytes?: number;
  maxMessages?: number;
  /**
   * How long a publish may take, waiting for a reconnect included, before it fails with
   * NatsUnavailableError or the client's timeout. Also bounds stream and consumer set-up. 5 s.
   */
  publishTimeoutMs?: number;
  /** How long closing a subscription waits for its handlers before their messages go to other members. 5 s. */
  drainTimeoutMs?: number;
  /** The first retry delay after a handler throws; it doubles per attempt up to 30 s. 100 ms. */
  retryBackoffMs?: number;
  /** The pause between reconnect attempts (the client retries forever). 1 s. */
  reconnectTimeWaitMs?: number;
  /** Anything else the NATS client takes: credentials, TLS, a connection name, … */
  connection?: Omit<ConnectionOptions, 'servers' | 'reconnect' | 'maxReconnectAttempts'>;
}

export interface ResolvedNatsOptions {
  servers: string[];
  streamPrefix: string;
  replicas: number;
  storage: 'file' | 'memory';
  duplicateWindowMs: number;
  maxAgeMs: number;
  maxBytes: number;
  maxMessages: number;
  publishTimeoutMs: number;
  drainTimeoutMs: number;
  retryBackoffMs: number;
  reconnectTimeWaitMs: number;
  connection: Omit<ConnectionOptions, 'servers' | 'reconnect' | 'maxReconnectAttempts'>;
}

function positive(what: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new TypeError(`${what} must be a positive integer`);
  }
  return value;
}

export function resolveNatsOptions(options: NatsBrokerOptions): ResolvedNatsOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const servers = typeof options.servers === 'string' ? [options.servers] : [...(options.servers ?? [])];
  if (servers.length === 0 || servers.some((s) => typeof s !== 'string' || s.length === 0)) {
    throw new TypeError('servers must name at least one NATS server');
  }
  const storage = options.storage ?? 'file';
  if (storage !== 'file' && storage !== 'memory') throw new TypeError('storage must be "file" or "memory"');
  return {
    servers,
    streamPrefix: validatePrefix(options.streamPrefix ?? 'sb'),
    replicas: positive('replicas', options.replicas, 1),
    storage,
    duplicateWindowMs: positive('duplicateWindowMs', options.duplicateWindowMs, 120_000),
    // 0 and -1 are JetStream's "unlimited".
    maxAgeMs: positive('maxAgeMs', options.maxAgeMs, 0),
    maxBytes: positive('maxBytes', options.maxBytes, -1),
    maxMessages: positive('maxMessages', options.maxMessages, -1),
    publishTimeoutMs: positive('publishTimeoutMs', options.publishTimeoutMs, 5000),
    drainTimeoutMs: positive('drainTimeoutMs', options.drainTimeoutMs, 5000),
    retryBackoffMs: positive('retryBackoffMs', options.retryBackoffMs, 100),
    reconnectTimeWaitMs: positive('reconnectTimeWaitMs', options.reconnectTimeWaitMs, 1000),
    connection: options.connection ?? {},
  };
}
