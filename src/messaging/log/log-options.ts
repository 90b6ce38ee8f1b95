/** The options of a SegmentLog, their defaults and their checks, settled once at open. */
import { type FsyncPolicy, parseFsyncPolicy, type SyncEvent, type SyncMode } from './durability.ts';
import { MAX_RECORD_BYTES } from './record-codec.ts';
import type { CorruptionPolicy } from './recovery.ts';
import { type RetentionPolicy, validateRetention } from './retention.ts';

export interface SegmentLogOptions {
  /** Roll to a new segment when the next write would pass this size. Default 64 MiB, at most 1 GiB. */
  segmentBytes?: number;
  /** Default `{ groupCommitMs: 2 }` (durability.ts says why). */
  fsync?: FsyncPolicy;
  retention?: RetentionPolicy;
  /** Largest encoded record `append` accepts. Default 8 MiB. */
  maxRecordBytes?: number;
  /** Bytes between sparse index entries. Default 4 KiB. */
  indexIntervalBytes?: number;
  /** Damage other than a torn tail found at open: fail (default) or cut the log there. */
  onCorruption?: CorruptionPolicy;
  /** Wall clock for default timestamps and age retention. Default Date. */
  clock?: { now(): number };
  /** Called after each fsync that acknowledged appends. */
  onSync?: (event: SyncEvent) => void;
  /** Errors of background work (timed retention). Default: process.emitWarning. */
  onError?: (err: Error) => void;
}

export interface ReadLimits {
  /** Default 500. */
  maxRecords?: number;
  /** Encoded bytes; at least one record is returned whatever its size. Default 1 MiB. */
  maxBytes?: number;
}

export interface LogSettings {
  sync: SyncMode;
  segmentBytes: number;
  maxRecordBytes: number;
  indexInterval: number;
  onCorruption: CorruptionPolicy;
  retention: RetentionPolicy | undefined;
  /** 0: no timer, retention runs on roll and on enforceRetention() only. */
  retentionCheckMs: number;
  clock: { now(): number };
  onSync: ((event: SyncEvent) => void) | undefined;
  onError: (err: Error) => void;
}

export const MIB = 1 << 20;
/** Segment positions are 32-bit in the index; a batch may overflow a segment once, so half of that. */
export const MAX_SEGMENT_BYTES = 1024 * MIB;

/** Throws RangeError naming the first bad option. */
export function settle(options: SegmentLogOptions): LogSettings {
  validateRetention(options.retention);
  return {
    sync: parseFsyncPolicy(options.fsync),
    segmentBytes: positiveInteger('segmentBytes', options.segmentBytes, 64 * MIB, MAX_SEGMENT_BYTES),
    maxRecordBytes: positiveInteger('maxRecordBytes', options.maxRecordBytes, 8 * MIB, MAX_RECORD_BYTES),
    indexInterval: positiveInteger('indexIntervalBytes', options.indexIntervalBytes, 4096, MAX_SEGMENT_BYTES),
    onCorruption: options.onCorruption ?? 'fail',
    retention: options.retention,
    retentionCheckMs: options.retention ? (options.retention.checkIntervalMs ?? 60_000) : 0,
    clock: options.clock ?? Date,
    onSync: options.onSync,
    onError: options.onError ?? ((err) => process.emitWarning(err)),
  };
}

function positiveInteger(name: string, value: number | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (!(Number.isSafeInteger(value) && value >= 1 && value <= max)) {
    throw new RangeError(`${name}: expected an integer in [1, ${max}], got ${value}`);
  }
  return value;
}
