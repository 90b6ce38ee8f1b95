/**
 * Where a member starts reading a partition it was just given: at the group's committed offset
 * (with the delivery counts an earlier owner left in the commit's metadata); without one, at
 * the high watermark seen when subscribe() was called ('latest': pinned by a commit, so it does
 * not move on a rebalance) or at the earliest offset kept.
 */
import type { Admin } from 'kafkajs';
import { decodeAttempts } from './offset-tracker.ts';

export interface PartitionStart {
  partition: number;
  /** The first offset to read; undefined: wherever the consumer starts (earliest). */
  start: number | undefined;
  /** Deliveries counted by earlier owners, by offset. */
  prior: ReadonlyMap<number, number>;
  /** `offset|metadata` as committed, when something is. */
  committed: string | undefined;
  /** True when `start` is a 'latest' start not committed yet: commit it, and seek there. */
  pin: boolean;
}

export interface StartQuery {
  admin: Admin;
  group: string;
  topic: string;
  startAt: 'earliest' | 'latest';
  /** The high watermarks when subscribe() was called. */
  latest: () => Promise<ReadonlyMap<number, number>>;
  /** True once the subscription closes: no more tries. */
  stopped: () => boolean;
}

const NONE: ReadonlyMap<number, number> = new Map();

export async function highWatermarks(admin: Admin, topic: string): Promise<Map<number, number>> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return new Map(offsets.map((o) => [o.partition, Number(o.high)]));
}

/** Reads the group's commits for `partitions`, trying three times; rejects after that. */
export async function readStarts(q: StartQuery, partitions: readonly number[]): Promise<PartitionStart[]> {
  let rows: { partition: number; offset: string; metadata: string | null }[] = [];
  for (let tries = 1; ; tries++) {
    try {
      const offsets = await q.admin.fetchOffsets({ groupId: q.group, topics: [q.topic] });
      rows = offsets.find((t) => t.topic === q.topic)?.partitions ?? [];
      break;
    } catch (err) {
      if (tries >= 3 || q.stopped()) {
        throw new Error(
          `reading the committed offsets of group "${q.group}" failed: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 200 * tries));
    }
  }
  const starts: PartitionStart[] = [];
  for (const partition of partitions) {
    const row = rows.find((r) => r.partition === partition);
    const committed = row ? Number(row.offset) : -1;
    if (row && committed >= 0) {
      const metadata = row.metadata ?? '';
      starts.push({
        partition,
        start: committed,
        prior: decodeAttempts(metadata),
        committed: `${committed}|${metadata}`,
        pin: false,
      });
    } else if (q.startAt === 'latest') {
      const start = (await q.latest()).get(partition) ?? 0;
      starts.push({ partition, start, prior: NONE, committed: undefined, pin: true });
    } else {
      starts.push({ partition, start: undefined, prior: NONE, committed: undefined, pin: false });
    }
  }
  return starts;
}
