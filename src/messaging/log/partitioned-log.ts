/**
 * A topic: N SegmentLogs, one per partition, in `<dir>/partition-<i>`. Order holds within a
 * partition, so records with the same key keep their order; keyless records spread (see
 * partitioner.ts). The partition count is fixed at creation and stored in `topic.json`:
 * changing it would move keys between partitions and break their order.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from './atomic-file.ts';
import { partitionForKey, StickyPartitioner } from './partitioner.ts';
import type { AppendRecord, LogRecord } from './record.ts';
import { ensureDirectory } from './segment-files.ts';
import { type ReadLimits, SegmentLog, type SegmentLogOptions } from './segment-log.ts';

export interface PartitionedLogOptions extends SegmentLogOptions {
  /** Required to create the topic; when opening one, it must match if given. */
  partitions?: number;
}

export interface AppendedRecord {
  partition: number;
  offset: number;
}

interface TopicFile {
  format: 'switchboard-topic';
  version: 1;
  partitions: number;
}

const MAX_PARTITIONS = 10_000;

export class PartitionedLog {
  readonly dir: string;
  readonly #logs: SegmentLog[];
  readonly #sticky: StickyPartitioner;

  private constructor(dir: string, logs: SegmentLog[]) {
    this.dir = dir;
    this.#logs = logs;
    this.#sticky = new StickyPartitioner(logs.length);
  }

  static async open(dir: string, options: PartitionedLogOptions = {}): Promise<PartitionedLog> {
    const { partitions: wanted, ...logOptions } = options;
    if (wanted !== undefined && !(Number.isInteger(wanted) && wanted >= 1 && wanted <= MAX_PARTITIONS)) {
      throw new RangeError(`partitions: expected an integer in [1, ${MAX_PARTITIONS}], got ${wanted}`);
    }
    await ensureDirectory(dir);
    const file = path.join(dir, 'topic.json');
    const stored = await readTopicFile(file);
    if (stored === undefined && wanted === undefined) {
      throw new Error(`${dir}: no topic here; give partitions to create one`);
    }
    if (stored !== undefined && wanted !== undefined && stored !== wanted) {
      throw new Error(`${dir}: the topic has ${stored} partitions, not ${wanted}; the count cannot change`);
    }
    const partitions = stored ?? wanted!;
    if (stored === undefined) {
      const topic: TopicFile = { format: 'switchboard-topic', version: 1, partitions };
      await writeFileAtomic(file, JSON.stringify(topic));
    }
    const opened = await Promise.allSettled(
      Array.from({ length: partitions }, (_, i) =>
        SegmentLog.open(path.join(dir, `partition-${i}`), logOptions),
      ),
    );
    const failure = opened.find((r) => r.status === 'rejected');
    const logs = opened.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    if (failure) {
      await Promise.all(logs.map((log) => log.close()));
      throw failure.reason;
    }
    return new PartitionedLog(dir, logs);
  }

  get partitions(): number {
    return this.#logs.length;
  }

  /** The partition a record with this key goes to; for no key, the current sticky partition. */
  partitionFor(key: Uint8Array | null | undefined): number {
    return key == null ? this.#sticky.current : partitionForKey(key, this.#logs.length);
  }

  partition(index: number): SegmentLog {
    const log = this.#logs[index];
    if (!log) throw new RangeError(`partition ${index} does not exist (0..${this.#logs.length - 1})`);
    return log;
  }

  /**
   * Appends each record to its partition; resolves with where each went, in input order.
   * Atomic per partition only: if one partition fails, others may have taken their records.
   */
  async append(records: readonly AppendRecord[]): Promise<AppendedRecord[]> {
    const groups = new Map<number, { records: AppendRecord[]; at: number[] }>();
    let keyless = false;
    records.forEach((record, i) => {
      const partition = this.partitionFor(record.key);
      if (record.key == null) keyless = true;
      let group = groups.get(partition);
      if (!group) {
        group = { records: [], at: [] };
        groups.set(partition, group);
      }
      group.records.push(record);
      group.at.push(i);
    });
    const sticky = this.#sticky.current;
    const result: AppendedRecord[] = new Array(records.length);
    await Promise.all(
      [...groups].map(async ([partition, group]) => {
        const first = await this.#logs[partition]!.append(group.records);
        if (keyless && partition === sticky) this.#sticky.completed(partition);
        group.at.forEach((i, n) => {
          result[i] = { partition, offset: first + n };
        });
      }),
    );
    return result;
  }

  /** Appends to one partition, bypassing the partitioner. */
  appendTo(partition: number, records: readonly AppendRecord[]): Promise<number> {
    return this.partition(partition).append(records);
  }

  read(partition: number, fromOffset: number, limits?: ReadLimits): Promise<LogRecord[]> {
    return this.partition(partition).read(fromOffset, limits);
  }

  async close(): Promise<void> {
    await Promise.all(this.#logs.map((log) => log.close()));
  }
}

async function readTopicFile(file: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let topic: Partial<TopicFile> | null;
  try {
    topic = JSON.parse(text) as Partial<TopicFile> | null;
  } catch {
    topic = null;
  }
  const partitions = topic?.partitions;
  if (topic?.format !== 'switchboard-topic' || topic.version !== 1 || !Number.isInteger(partitions)) {
    throw new Error(`${file}: not a Switchboard topic file`);
  }
  return partitions;
}
