/**
 * Refills a topic's dedupe window at open from the tail of its partitions, so an id published
 * before a restart is still recognised within its window. Bounded: per partition it looks at
 * no more than the last `maxIds` records, and binary-searches (one-record reads) for the first
 * record inside the window, so a large old topic costs a few reads, not a scan.
 */
import type { PartitionedLog, SegmentLog } from '../log/index.ts';
import type { DedupeWindow } from './dedupe-window.ts';
import { decodeEnvelope, FLAG_DEAD_LETTER, FLAG_GENERATED_ID } from './envelope.ts';

const READ_LIMITS = { maxRecords: 1000, maxBytes: 1 << 20 };

export async function rebuildDedupe(topic: PartitionedLog, window: DedupeWindow, now: number): Promise<void> {
  const cutoff = now - window.windowMs;
  const found: { at: number; id: string }[] = [];
  for (let p = 0; p < topic.partitions; p++) {
    const log = topic.partition(p);
    const end = log.endOffset;
    const from = await firstAtOrAfter(log, Math.max(log.startOffset, end - window.maxIds), end, cutoff);
    for (let offset = from; offset < end; ) {
      const records = await log.read(offset, READ_LIMITS);
      if (records.length === 0) break;
      for (const record of records) {
        const envelope = decodeEnvelope(record.value);
        if (!envelope || record.timestamp < cutoff) continue;
        if ((envelope.flags & (FLAG_DEAD_LETTER | FLAG_GENERATED_ID)) !== 0) continue;
        found.push({ at: record.timestamp, id: envelope.id });
      }
      offset = records.at(-1)!.offset + 1;
    }
  }
  found.sort((a, b) => a.at - b.at);
  for (const { at, id } of found.slice(-window.maxIds)) window.add(id, at);
}

/**
 * The first offset in [lo, hi) whose record is stamped at or after `cutoff`, or `hi`.
 * Timestamps are the log's clock at append, so they rise with offsets (a clock stepping back
 * makes this approximate, which costs at most some dedupe memory).
 */
async function firstAtOrAfter(log: SegmentLog, lo: number, hi: number, cutoff: number): Promise<number> {
  let low = lo;
  let high = hi;
  while (low < high) {
    const mid = Math.floor((low + high) / 2);
    const [record] = await log.read(mid, { maxRecords: 1, maxBytes: 1 });
    if (record !== undefined && record.timestamp >= cutoff) high = mid;
    else low = mid + 1;
  }
  return low;
}
