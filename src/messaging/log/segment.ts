/**
 * One segment of a log: `<baseOffset>.log` holding records from `baseOffset` on, and its
 * sparse index. Appends are positional writes at the end the segment knows (never O_APPEND,
 * so recovery can truncate and write on); reads decode from the nearest index entry.
 *
 * A segment counts its file operations in flight, so retention or close can retire it while
 * a read is running: the file is closed when the last operation ends.
 */
import { type FileHandle, open, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from './atomic-file.ts';
import { CorruptRecordError } from './errors.ts';
import { OffsetIndex } from './offset-index.ts';
import type { LogRecord } from './record.ts';
import { decodeRecord, type EncodedBatch } from './record-codec.ts';
import { segmentPaths, syncDirectory } from './segment-files.ts';
import { readAt, type ScanDamage, scanSegment } from './segment-scan.ts';

/** Thrown by an operation on a segment that retention or close has retired. */
export class SegmentRetiredError extends Error {}

export interface SegmentOpenResult {
  segment: Segment;
  /** Bytes that were checked record by record (not covered by a valid index). */
  scannedBytes: number;
  indexRebuilt: boolean;
  /** The file's size, which exceeds `segment.size` when there is damage. */
  fileBytes: number;
  damage?: ScanDamage;
}

export interface SegmentReadResult {
  records: LogRecord[];
  bytes: number;
}

export class Segment {
  readonly baseOffset: number;
  readonly logPath: string;
  readonly indexPath: string;
  readonly #file: FileHandle;
  readonly #index: OffsetIndex;
  readonly #indexInterval: number;
  #size: number;
  #nextOffset: number;
  #maxTimestamp: number;
  /** Bytes appended since the last index entry. */
  #sinceEntry: number;
  #inFlight = 0;
  #retired = false;
  #closed: Promise<void> | undefined;
  #idle: (() => void) | undefined;

  private constructor(
    paths: { log: string; index: string },
    baseOffset: number,
    file: FileHandle,
    index: OffsetIndex,
    indexInterval: number,
    state: { size: number; nextOffset: number; maxTimestamp: number },
  ) {
    this.baseOffset = baseOffset;
    this.logPath = paths.log;
    this.indexPath = paths.index;
    this.#file = file;
    this.#index = index;
    this.#indexInterval = indexInterval;
    this.#size = state.size;
    this.#nextOffset = state.nextOffset;
    this.#maxTimestamp = state.maxTimestamp;
    this.#sinceEntry = state.size - index.lastPosition;
  }

  /** Creates an empty segment file; the caller syncs the directory before using it. */
  static async create(dir: string, baseOffset: number, indexInterval: number): Promise<Segment> {
    const paths = segmentPaths(dir, baseOffset);
    const file = await open(paths.log, 'wx+');
    return new Segment(paths, baseOffset, file, new OffsetIndex(), indexInterval, {
      size: 0,
      nextOffset: baseOffset,
      maxTimestamp: -1,
    });
  }

  /**
   * Opens an existing segment: trusts the prefix a valid index file covers and checks every
   * record after it. Damage is reported, not repaired: the log decides (see SegmentLog.open).
   */
  static async open(dir: string, baseOffset: number, indexInterval: number): Promise<SegmentOpenResult> {
    const paths = segmentPaths(dir, baseOffset);
    const file = await open(paths.log, 'r+');
    try {
      const fileBytes = (await file.stat()).size;
      if (fileBytes >= 2 ** 32)
        throw new Error(`${paths.log}: ${fileBytes} bytes, above the 4 GiB a segment may hold`);
      const cached = await readFile(paths.index).then(
        (buf) => OffsetIndex.parse(buf, baseOffset, fileBytes),
        () => ({ error: 'missing' }),
      );
      const valid = 'index' in cached;
      const index = valid ? cached.index : new OffsetIndex();
      const start = valid
        ? { position: cached.summary.logBytes, offset: cached.summary.nextOffset, ...cached.summary }
        : { position: 0, offset: baseOffset, maxTimestamp: -1 };
      let sinceEntry = start.position - index.lastPosition;
      const scan = await scanSegment(file, start, fileBytes, (offset, position, size) => {
        if (sinceEntry >= indexInterval) {
          index.add(offset - baseOffset, position);
          sinceEntry = 0;
        }
        sinceEntry += size;
      });
      const segment = new Segment(paths, baseOffset, file, index, indexInterval, {
        size: scan.end,
        nextOffset: scan.nextOffset,
        maxTimestamp: scan.maxTimestamp,
      });
      return {
        segment,
        scannedBytes: fileBytes - start.position,
        indexRebuilt: !valid,
        fileBytes,
        ...(scan.damage ? { damage: scan.damage } : {}),
      };
    } catch (err) {
      await file.close();
      throw err;
    }
  }

  /** Bytes of whole records written. */
  get size(): number {
    return this.#size;
  }

  get nextOffset(): number {
    return this.#nextOffset;
  }

  get maxTimestamp(): number {
    return this.#maxTimestamp;
  }

  get retired(): boolean {
    return this.#retired;
  }

  /** Writes the batches (consecutive offsets, starting at nextOffset) with one writev. */
  async append(batches: readonly EncodedBatch[]): Promise<void> {
    if (batches[0]?.firstOffset !== this.#nextOffset) throw new Error('append out of order');
    const buffers = batches.map((b) => b.buffer);
    await this.#use(() => writeAllAt(this.#file, buffers, this.#size));
    let position = this.#size;
    for (const batch of batches) {
      for (let i = 0; i < batch.count; i++) {
        if (this.#sinceEntry >= this.#indexInterval) {
          this.#index.add(batch.firstOffset + i - this.baseOffset, position);
          this.#sinceEntry = 0;
        }
        const size = batch.sizes[i]!;
        this.#sinceEntry += size;
        position += size;
      }
      if (batch.maxTimestamp > this.#maxTimestamp) this.#maxTimestamp = batch.maxTimestamp;
      this.#nextOffset = batch.firstOffset + batch.count;
    }
    this.#size = position;
  }

  /** fdatasync: the data and the size, not the mtime. A retired segment was synced when retired. */
  async sync(): Promise<void> {
    if (this.#retired) return;
    await this.#use(() => this.#file.datasync());
  }

  /**
   * Reads records with offsets in [from, limitOffset), up to `maxRecords` and `maxBytes`
   * (encoded sizes; with `firstAlways` the first record is returned whatever its size, so a
   * large record can never stall a reader). Every record's checksum and offset are verified.
   */
  async read(
    from: number,
    limitOffset: number,
    maxRecords: number,
    maxBytes: number,
    firstAlways = true,
  ): Promise<SegmentReadResult> {
    return this.#use(async () => {
      const records: LogRecord[] = [];
      let bytes = 0;
      const entry = this.#index.lookup(from - this.baseOffset);
      let expected = this.baseOffset + entry.relOffset;
      let pos = entry.position;
      const end = this.#size;
      let want = Math.min(maxBytes, 1 << 20) + this.#indexInterval;
      while (pos < end) {
        const length = Math.min(want, end - pos);
        const buf = await readAt(this.#file, pos, length);
        let p = 0;
        while (p < length) {
          const r = decodeRecord(buf, p, length);
          if (r.kind === 'incomplete') {
            if (pos + p + r.size > end)
              this.#corrupt(pos + p, expected, 'the record runs past the written end');
            if (p === 0) want = r.size;
            break;
          }
          if (r.kind === 'corrupt') this.#corrupt(pos + p, expected, r.reason);
          const record = r.record;
          if (record.offset !== expected) this.#corrupt(pos + p, expected, `found offset ${record.offset}`);
          if (record.offset >= limitOffset) return { records, bytes };
          if (record.offset >= from) {
            if ((records.length > 0 || !firstAlways) && bytes + r.size > maxBytes) return { records, bytes };
            records.push(record);
            bytes += r.size;
            if (records.length >= maxRecords) return { records, bytes };
          }
          expected++;
          p += r.size;
        }
        pos += p;
      }
      return { records, bytes };
    });
  }

  #corrupt(position: number, offset: number, reason: string): never {
    throw new CorruptRecordError(this.logPath, position, offset, reason);
  }

  /**
   * Cuts the file at `position` (recovery). The index file goes first, durably: resurrected
   * by a crash after the file has grown again, it would vouch for bytes it never saw.
   */
  async truncate(position: number): Promise<void> {
    await rm(this.indexPath, { force: true });
    await syncDirectory(path.dirname(this.indexPath));
    await this.#use(async () => {
      await this.#file.truncate(position);
      await this.#file.datasync();
    });
  }

  /** Writes the index file describing every record written so far. Call once the data is synced. */
  async writeIndex(): Promise<void> {
    const summary = { nextOffset: this.#nextOffset, logBytes: this.#size, maxTimestamp: this.#maxTimestamp };
    await writeFileAtomic(this.indexPath, this.#index.serialize(this.baseOffset, summary), { sync: false });
  }

  /** Stops new operations; the file closes once those in flight end. */
  close(): Promise<void> {
    if (this.#closed) return this.#closed;
    this.#retired = true;
    const idle =
      this.#inFlight === 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            this.#idle = resolve;
          });
    this.#closed = idle.then(() => this.#file.close());
    return this.#closed;
  }

  /** Closes and removes the segment's files (index first: a log without index is rebuilt, not lost). */
  async delete(): Promise<void> {
    await this.close();
    await rm(this.indexPath, { force: true });
    await rm(this.logPath, { force: true });
  }

  async #use<T>(operation: () => Promise<T>): Promise<T> {
    if (this.#retired) throw new SegmentRetiredError(`${this.logPath} is retired`);
    this.#inFlight++;
    try {
      return await operation();
    } finally {
      this.#inFlight--;
      if (this.#inFlight === 0) this.#idle?.();
    }
  }
}

/** writev until every byte is written: a regular file may take fewer bytes than asked. */
async function writeAllAt(file: FileHandle, buffers: Buffer[], position: number): Promise<void> {
  let pending = buffers;
  let at = position;
  for (;;) {
    const total = pending.reduce((sum, b) => sum + b.length, 0);
    if (total === 0) return;
    const { bytesWritten } = await file.writev(pending, at);
    if (bytesWritten === total) return;
    if (bytesWritten === 0) throw new Error('write made no progress');
    at += bytesWritten;
    let skip = bytesWritten;
    const rest: Buffer[] = [];
    for (const b of pending) {
      if (skip >= b.length) {
        skip -= b.length;
      } else {
        rest.push(skip > 0 ? b.subarray(skip) : b);
        skip = 0;
      }
    }
    pending = rest;
  }
}
