/** The options of RabbitBroker.connect, their defaults and their checks. */

export interface RabbitBrokerOptions {
  /** `amqp://user:password@host:port/vhost` (or amqps://). A `heartbeat` query parameter wins. */
  url: string;
  /**
   * The kind of the group and delay queues. 'quorum' (default; RabbitMQ ≥ 3.10, which gives
   * queue TTLs and at-least-once dead-lettering to quorum queues): replicated, and counts
   * redeliveries itself (x-delivery-count). 'classic': a single copy; a plain nack is republished
   * with the attempt in a header, since a classic queue does not count deliveries.
   */
  queueType?: 'quorum' | 'classic';
  /**
   * 'per-key' (default): each group's queue has a single active consumer, so messages of one key
   * are handled in publish order across the members (the others stand by and take over when it
   * leaves); 'none': the members compete for the queue's messages and share the load, and order
   * per key holds only within one member. Sets `capabilities.orderingPerKey`.
   */
  ordering?: 'per-key' | 'none';
  /** Deliveries a subscription holds unsettled when its `maxInFlight` is unset. 64. */
  prefetch?: number;
  /**
   * How long a publish may take in all: waiting for a connection during an outage, then for the
   * broker's confirm. 10 s.
   */
  publishTimeoutMs?: number;
  /** Publishes that may wait for a connection during an outage; more fail at once. 1000. */
  maxBufferedPublishes?: number;
  /** How long closing a subscription waits for its running handlers. 5 s. */
  drainTimeoutMs?: number;
  /** The first retry delay after a handler throws; it doubles per attempt up to 30 s. 100 ms. */
  retryBackoffMs?: number;
  /** AMQP heartbeat: a silent connection is declared dead after about twice this. 10 s. */
  heartbeatSeconds?: number;
  /** Time to open a TCP connection to the broker. 10 s. */
  connectTimeoutMs?: number;
  /** Reconnection backoff with full jitter: random up to min(maxMs, baseMs × 2^n). 100 ms, 5 s. */
  reconnect?: { baseMs?: number; maxMs?: number };
  /** Put before every exchange and queue name this client declares (tests, shared vhosts). ''. */
  namePrefix?: string;
}

export interface ResolvedRabbitOptions {
  url: string;
  queueType: 'quorum' | 'classic';
  ordering: 'per-key' | 'none';
  prefetch: number;
  publishTimeoutMs: number;
  maxBufferedPublishes: number;
  drainTimeoutMs: number;
  retryBackoffMs: number;
  heartbeatSeconds: number;
  connectTimeoutMs: number;
  reconnect: { baseMs: number; maxMs: number };
  namePrefix: string;
}

function count(what: string, value: unknown, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new TypeError(`${what} must be an integer ≥ ${min}`);
  }
  return value;
}

function oneOf<T extends string>(what: string, value: unknown, allowed: readonly T[]): T {
  if (value === undefined) return allowed[0]!;
  if (!allowed.includes(value as T)) throw new TypeError(`${what} must be one of ${allowed.join(', ')}`);
  return value as T;
}

export function resolveRabbitOptions(options: RabbitBrokerOptions): ResolvedRabbitOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const { url, namePrefix = '' } = options;
  if (typeof url !== 'string' || !/^amqps?:\/\//.test(url)) {
    throw new TypeError('url must be an amqp:// or amqps:// URL');
  }
  if (typeof namePrefix !== 'string') throw new TypeError('namePrefix must be a string');
  const reconnect = options.reconnect ?? {};
  return {
    url,
    queueType: oneOf('queueType', options.queueType, ['quorum', 'classic'] as const),
    ordering: oneOf('ordering', options.ordering, ['per-key', 'none'] as const),
    prefetch: count('prefetch', options.prefetch, 64),
    publishTimeoutMs: count('publishTimeoutMs', options.publishTimeoutMs, 10_000),
    maxBufferedPublishes: count('maxBufferedPublishes', options.maxBufferedPublishes, 1000, 0),
    drainTimeoutMs: count('drainTimeoutMs', options.drainTimeoutMs, 5000, 0),
    retryBackoffMs: count('retryBackoffMs', options.retryBackoffMs, 100),
    heartbeatSeconds: count('heartbeatSeconds', options.heartbeatSeconds, 10, 0),
    connectTimeoutMs: count('connectTimeoutMs', options.connectTimeoutMs, 10_000),
    reconnect: {
      baseMs: count('reconnect.baseMs', reconnect.baseMs, 100),
      maxMs: count('reconnect.maxMs', reconnect.maxMs, 5000),
    },
    namePrefix,
  };
}

/** The URL with the password hidden, for error messages. */
export function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'the configured URL';
  }
}
