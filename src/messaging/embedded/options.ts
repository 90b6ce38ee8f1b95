/** The options of a LogBroker, their defaults and their checks, settled once at open. */
import type { FsyncPolicy, RetentionPolicy } from '../log/index.ts';

export interface LogBrokerOptions {
  /** Partitions of a topic created by this broker; an existing topic keeps its count. 4. */
  partitions?: number;
  /** When a publish resolves: the log's policy (durability.ts). Group commit every 2 ms. */
  fsync?: FsyncPolicy;
  /** Retention by size and age, per partition. None: everything is kept. */
  retention?: RetentionPolicy;
  /** Size at which a partition rolls to a new segment file. 64 MiB. */
  segmentBytes?: number;
  /** Largest encoded record (payload, id, key and headers). 8 MiB. */
  maxRecordBytes?: number;
  /** How long a published id is remembered to drop a second publish of it. 2 minutes. */
  dedupeWindowMs?: number;
  /** At most this many ids are remembered per topic; the oldest go first. 100 000. */
  dedupeMaxIds?: number;
  /** How often consumer-group positions are written to disk (one atomic file write). 100 ms. */
  commitIntervalMs?: number;
  /** How long closing a subscription waits for its running handlers. 5 s. */
  drainTimeoutMs?: number;
  /** The first retry delay after a handler throws; doubles per attempt, with jitter. 100 ms. */
  retryBackoffMs?: number;
  /** The longest retry delay after a handler throws. 30 s. */
  maxRetryBackoffMs?: number;
  /**
   * Messages a group holds in memory per partition (read ahead, in flight, waiting for a
   * redelivery); raised to the members' total maxInFlight when that is larger. 1024.
   */
  readAheadMessages?: number;
  /** Payload bytes a group holds in memory per partition (at least one message). 8 MiB. */
  readAheadBytes?: number;
  /** Errors of background work (offset commits, dead letters). Default: process.emitWarning. */
  onError?: (err: Error) => void;
}

export interface LogBrokerSettings {
  partitions: number;
  log: { fsync?: FsyncPolicy; retention?: RetentionPolicy; segmentBytes?: number; maxRecordBytes?: number };
  dedupeWindowMs: number;
  dedupeMaxIds: number;
  commitIntervalMs: number;
  drainTimeoutMs: number;
  retryBackoffMs: number;
  maxRetryBackoffMs: number;
  readAheadMessages: number;
  readAheadBytes: number;
  onError: (err: Error) => void;
}

/** Throws RangeError naming the first bad option; the log checks its own options at open. */
export function settleOptions(options: LogBrokerOptions): LogBrokerSettings {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const { fsync, retention, segmentBytes, maxRecordBytes } = options;
  return {
    partitions: integer('partitions', options.partitions, 4, 1, 10_000),
    log: { fsync, retention, segmentBytes, maxRecordBytes },
    dedupeWindowMs: integer('dedupeWindowMs', options.dedupeWindowMs, 120_000, 0),
    dedupeMaxIds: integer('dedupeMaxIds', options.dedupeMaxIds, 100_000, 0),
    commitIntervalMs: integer('commitIntervalMs', options.commitIntervalMs, 100, 1),
    drainTimeoutMs: integer('drainTimeoutMs', options.drainTimeoutMs, 5000, 0),
    retryBackoffMs: integer('retryBackoffMs', options.retryBackoffMs, 100, 0),
    maxRetryBackoffMs: integer('maxRetryBackoffMs', options.maxRetryBackoffMs, 30_000, 0),
    readAheadMessages: integer('readAheadMessages', options.readAheadMessages, 1024, 1),
    readAheadBytes: integer('readAheadBytes', options.readAheadBytes, 8 << 20, 1),
    onError: options.onError ?? ((err) => process.emitWarning(err)),
  };
}

function integer(
  name: string,
  value: number | undefined,
  fallback: number,
  min: number,
  max = 2 ** 31,
): number {
  if (value === undefined) return fallback;
  if (!(Number.isSafeInteger(value) && value >= min && value <= max)) {
    throw new RangeError(`${name}: expected an integer in [${min}, ${max}], got ${value}`);
  }
  return value;
}

/** Exponential backoff with jitter: base × 2^(attempt−1), capped, then scaled by [0.5, 1). */
export function retryDelay(settings: LogBrokerSettings, attempt: number): number {
  const ceiling = Math.min(
    settings.maxRetryBackoffMs,
    settings.retryBackoffMs * 2 ** Math.min(attempt - 1, 30),
  );
  return Math.round(ceiling * (0.5 + Math.random() / 2));
}
