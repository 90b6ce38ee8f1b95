/** The storage engine of the embedded broker: segmented partition logs and consumer-group offsets. */
export type { FsyncPolicy, SyncEvent } from './durability.ts';
export { DEFAULT_GROUP_COMMIT_MS } from './durability.ts';
export {
  CorruptLogError,
  CorruptRecordError,
  LogClosedError,
  LogFailedError,
  OffsetOutOfRangeError,
} from './errors.ts';
export { type CommittedOffset, OffsetStore } from './offset-store.ts';
export { type AppendedRecord, PartitionedLog, type PartitionedLogOptions } from './partitioned-log.ts';
export { murmur2, partitionForKey } from './partitioner.ts';
export type { AppendRecord, LogRecord, RecordHeaders } from './record.ts';
export type { CorruptionPolicy, RecoveryReport, Truncation } from './recovery.ts';
export type { RetentionPolicy } from './retention.ts';
export { type ReadLimits, SegmentLog, type SegmentLogOptions } from './segment-log.ts';
