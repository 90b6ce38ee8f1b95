/** The options of RedisBroker.connect, their defaults and their checks. */
import type { RedisOptions } from 'ioredis';

export interface RedisBrokerOptions {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://`). 127.0.0.1:6379 unless set. */
  url?: string;
  /** ioredis options (host, port, password, tls, retryStrategy, …), applied over `url`. */
  redis?: RedisOptions;
  /** Put before every key this broker writes. 'sb:' unless set. */
  keyPrefix?: string;
  /**
   * What `capabilities.persistence` says: true when the server has `appendonly yes` (AOF;
   * `appendfsync always` to lose no acknowledged publish). True unless set.
   */
  persistent?: boolean;
  /** Keep about this many entries per stream (XADD MAXLEN ~). Unbounded unless set; see docs. */
  maxLenApprox?: number;
  /** How long a published message id is remembered to drop a second publish. 120 s; 0: no dedupe. */
  dedupeWindowMs?: number;
  /** How long a publish waits for a lost connection, and for Redis to answer. 5 s. */
  publishTimeoutMs?: number;
  /** Publishes that may wait for a lost connection at once; more fail at once. 1000. */
  maxBufferedPublishes?: number;
  /** How often each member looks for stuck messages, due retries and ack timeouts. 1 s. */
  claimIntervalMs?: number;
  /** How long one blocking read waits for new entries. 5 s. */
  blockMs?: number;
  /** How long closing a subscription waits for running handlers before handing over. 5 s. */
  drainTimeoutMs?: number;
  /** The first retry delay after a handler throws; it doubles per attempt up to 30 s. 100 ms. */
  retryBackoffMs?: number;
  /** Background trouble: a lost connection, a failed ack, trimmed messages. Ignored unless set. */
  onError?: (error: Error) => void;
}

export interface ResolvedRedisOptions {
  url: string | undefined;
  redis: RedisOptions;
  keyPrefix: string;
  persistent: boolean;
  maxLenApprox: number | undefined;
  dedupeWindowMs: number;
  publishTimeoutMs: number;
  maxBufferedPublishes: number;
  claimIntervalMs: number;
  blockMs: number;
  drainTimeoutMs: number;
  retryBackoffMs: number;
  onError: (error: Error) => void;
}

function count(what: string, value: unknown, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new TypeError(`${what} must be an integer ≥ ${min}`);
  }
  return value;
}

export function resolveRedisOptions(options: RedisBrokerOptions): ResolvedRedisOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const o = options;
  if (o.url !== undefined && typeof o.url !== 'string') throw new TypeError('url must be a string');
  if (o.redis?.keyPrefix !== undefined) {
    throw new TypeError('set keyPrefix on the broker options, not in the ioredis options');
  }
  if (o.keyPrefix !== undefined && typeof o.keyPrefix !== 'string')
    throw new TypeError('keyPrefix must be a string');
  if (o.onError !== undefined && typeof o.onError !== 'function')
    throw new TypeError('onError must be a function');
  return {
    url: o.url,
    redis: { ...o.redis },
    keyPrefix: o.keyPrefix ?? 'sb:',
    persistent: o.persistent ?? true,
    maxLenApprox: o.maxLenApprox === undefined ? undefined : count('maxLenApprox', o.maxLenApprox, 0),
    dedupeWindowMs: count('dedupeWindowMs', o.dedupeWindowMs, 120_000, 0),
    publishTimeoutMs: count('publishTimeoutMs', o.publishTimeoutMs, 5000),
    maxBufferedPublishes: count('maxBufferedPublishes', o.maxBufferedPublishes, 1000, 0),
    claimIntervalMs: count('claimIntervalMs', o.claimIntervalMs, 1000),
    blockMs: count('blockMs', o.blockMs, 5000),
    drainTimeoutMs: count('drainTimeoutMs', o.drainTimeoutMs, 5000, 0),
    retryBackoffMs: count('retryBackoffMs', o.retryBackoffMs, 100),
    onError: o.onError ?? (() => {}),
  };
}
