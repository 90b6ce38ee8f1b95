/**
 * A durable append-only log of one partition: segment files in a directory, each
 * `<baseOffset>.log` with a sparse `<baseOffset>.index` (format in docs/segment-log.md).
 *
 * Appends are encoded and given offsets at once, in call order, then queued; one writer
 * drains the queue, writing everything queued with one writev per segment, and the fsync
 * policy decides when each append resolves (durability.ts). Reads see only records whose
 * append has resolved: `endOffset` is that boundary.
 */

import { LogClosedError, LogFailedError, OffsetOutOfRangeError } from './errors.ts';
import {
  type LogSettings,
  MAX_SEGMENT_BYTES,
  MIB,
  type ReadLimits,
  type SegmentLogOptions,
  settle,
} from './log-options.ts';
import type { AppendRecord, LogRecord } from './record.ts';
import { type EncodedBatch, encodeBatch } from './record-codec.ts';
import { type RecoveryReport, recoverSegments } from './recovery.ts';
import { activeExpired, segmentsToDelete } from './retention.ts';
import { Segment, SegmentRetiredError } from './segment.ts';
import { ensureDirectory, syncDirectory } from './segment-files.ts';

export type { ReadLimits, SegmentLogOptions } from './log-options.ts';

interface PendingAppend {
  kind: 'append';
  batch: EncodedBatch;
  resolve: (firstOffset: number) => void;
  reject: (err: Error) => void;
}

interface PendingTask {
  kind: 'task';
  run: () => Promise<void>;
  reject: (err: Error) => void;
}

export class SegmentLog {
  readonly dir: string;
  /** What open found: truncated tails, rebuilt indexes, how long it took. */
  readonly recovery: RecoveryReport;
  readonly #segments: Segment[];
  readonly #settings: LogSettings;
  /** The offset the next append gets. */
  #nextOffset: number;
  /** Every offset below this is acknowledged and readable. */
  #endOffset: number;
  #queue: (PendingAppend | PendingTask)[] = [];
  #writing: Promise<void> | undefined;
  /** Written, waiting for an fsync. */
  #unsynced: PendingAppend[] = [];
  readonly #dirty = new Set<Segment>();
  #syncTimer: NodeJS.Timeout | undefined;
  #lastSyncAt = Number.NEGATIVE_INFINITY;
  #retentionTimer: NodeJS.Timeout | undefined;
  #retentionRun: Promise<unknown> = Promise.resolve();
  #failed: LogFailedError | undefined;
  #closing: Promise<void> | undefined;

  private constructor(dir: string, segments: Segment[], recovery: RecoveryReport, settings: LogSettings) {
    this.dir = dir;
    this.#segments = segments;
    this.recovery = recovery;
    this.#settings = settings;
    this.#nextOffset = this.#active.nextOffset;
    this.#endOffset = this.#nextOffset;
    if (settings.retentionCheckMs > 0) {
      this.#retentionTimer = setInterval(() => void this.#retentionInBackground(), settings.retentionCheckMs);
      this.#retentionTimer.unref();
    }
  }

  /** Opens (creating if needed) the log in `dir`, recovering from a crash if there was one. */
  static async open(dir: string, options: SegmentLogOptions = {}): Promise<SegmentLog> {
    const settings = settle(options);
    await ensureDirectory(dir);
    const { segments, report } = await recoverSegments(dir, settings.indexInterval, settings.onCorruption);
    return new SegmentLog(dir, segments, report, settings);
  }

  /** The first offset still stored (retention moves it forward). */
  get startOffset(): number {
    return this.#segments[0]!.baseOffset;
  }

  /** The offset after the last acknowledged record: reads return offsets below it. */
  get endOffset(): number {
    return this.#endOffset;
  }

  /** Bytes of records stored, all segments. */
  get sizeBytes(): number {
    return this.#segments.reduce((sum, s) => sum + s.size, 0);
  }

  get segmentCount(): number {
    return this.#segments.length;
  }

  get #active(): Segment {
    return this.#segments.at(-1)!;
  }

  /**
   * Appends `records` with consecutive offsets and resolves with the first, once they are as
   * durable as the fsync policy says. Offsets are assigned now, in call order. Bad input
   * rejects the whole batch, nothing appended. An empty batch resolves with the next offset.
   */
  append(records: readonly AppendRecord[]): Promise<number> {
    if (this.#failed) return Promise.reject(this.#failed);
    if (this.#closing) return Promise.reject(new LogClosedError());
    if (records.length === 0) return Promise.resolve(this.#nextOffset);
    const { clock, maxRecordBytes } = this.#settings;
    let batch: EncodedBatch;
    try {
      batch = encodeBatch(records, this.#nextOffset, clock.now(), maxRecordBytes);
    } catch (err) {
      return Promise.reject(err);
    }
    if (batch.buffer.length > MAX_SEGMENT_BYTES) {
      return Promise.reject(new RangeError(`one append may hold at most ${MAX_SEGMENT_BYTES} bytes`));
    }
    this.#nextOffset += batch.count;
    return new Promise((resolve, reject) => {
      this.#queue.push({ kind: 'append', batch, resolve, reject });
      this.#startWriter();
    });
  }

  /**
   * Records from `fromOffset` on, at most `limits`. Reading at `endOffset` returns [];
   * below `startOffset` or beyond `endOffset` throws OffsetOutOfRangeError.
   */
  async read(fromOffset: number, limits: ReadLimits = {}): Promise<LogRecord[]> {
    if (this.#closing) throw new LogClosedError();
    const maxRecords = limits.maxRecords ?? 500;
    const maxBytes = limits.maxBytes ?? MIB;
    if (!Number.isSafeInteger(fromOffset))
      throw new RangeError(`offset: expected an integer, got ${fromOffset}`);
    if (!(maxRecords >= 1 && maxBytes >= 1)) throw new RangeError('maxRecords and maxBytes must be >= 1');
    const end = this.#endOffset;
    if (fromOffset < this.startOffset || fromOffset > end) {
      throw new OffsetOutOfRangeError(fromOffset, this.startOffset, end);
    }
    const out: LogRecord[] = [];
    let bytes = 0;
    let offset = fromOffset;
    while (offset < end && out.length < maxRecords && bytes < maxBytes) {
      // Looked up by offset each time: retention may have removed segments meanwhile.
      const segment = this.#segments[this.#segmentIndexOf(offset)]!;
      let chunk: { records: LogRecord[]; bytes: number } | undefined;
      if (offset >= segment.baseOffset) {
        const first = out.length === 0;
        chunk = await segment
          .read(offset, end, maxRecords - out.length, maxBytes - bytes, first)
          .catch((err: unknown) => {
            if (err instanceof SegmentRetiredError) return undefined;
            throw err;
          });
      }
      if (chunk === undefined) {
        if (this.#closing) throw new LogClosedError();
        if (out.length === 0) throw new OffsetOutOfRangeError(fromOffset, this.startOffset, this.#endOffset);
        break;
      }
      if (chunk.records.length === 0) break;
      for (const record of chunk.records) out.push(record);
      bytes += chunk.bytes;
      offset = out.at(-1)!.offset + 1;
    }
    return out;
  }

  #segmentIndexOf(offset: number): number {
    const segments = this.#segments;
    let lo = 0;
    let hi = segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (segments[mid]!.baseOffset <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Seals the active segment and starts a new one, after everything appended so far. */
  roll(): Promise<void> {
    return this.#task(async () => {
      if (this.#active.size > 0) await this.#rollNow();
    });
  }

  /** Applies the retention policy now; resolves with the number of segments deleted. */
  enforceRetention(): Promise<number> {
    const run = this.#retentionRun.then(() => this.#applyRetention());
    this.#retentionRun = run.catch(() => {});
    return run;
  }

  async #applyRetention(): Promise<number> {
    const policy = this.#settings.retention;
    if (!policy || this.#closing || this.#failed) return 0;
    if (activeExpired(this.#active, this.#settings.clock.now(), policy)) await this.roll();
    const count = segmentsToDelete(this.#segments, this.#settings.clock.now(), policy);
    const doomed = this.#segments.splice(0, count);
    for (const segment of doomed) {
      await segment.delete();
      // One directory fsync per segment: deletions reach the disk oldest first, so a crash
      // can never leave a gap in the offsets.
      await syncDirectory(this.dir);
    }
    return count;
  }

  async #retentionInBackground(): Promise<void> {
    await this.enforceRetention().catch((err: Error) => {
      if (!this.#closing) this.#settings.onError(err);
    });
  }

  /**
   * Waits for queued appends to finish (each resolves or rejects), fsyncs everything whatever
   * the policy, writes the active segment's index and closes the files.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    clearInterval(this.#retentionTimer);
    await this.#retentionRun;
    while (this.#writing) await this.#writing;
    // No await since the writer stopped: a group-commit timer cannot have fired in between.
    this.#clearSyncTimer();
    if (!this.#failed && (this.#unsynced.length > 0 || this.#dirty.size > 0)) {
      await this.#syncNow().catch((err) => this.#fail(err));
    }
    // The index is a cache: if it cannot be written, the next open scans the segment instead.
    if (!this.#failed) await this.#active.writeIndex().catch(() => {});
    await Promise.all(this.#segments.map((s) => s.close()));
  }

  #task(run: () => Promise<void>): Promise<void> {
    if (this.#failed) return Promise.reject(this.#failed);
    if (this.#closing) return Promise.reject(new LogClosedError());
    return new Promise((resolve, reject) => {
      // A failed task (a roll) is an I/O failure: it fails the log as a failed write does.
      const task = () =>
        run().then(resolve, (err: Error) => {
          reject(err);
          throw err;
        });
      this.#queue.push({ kind: 'task', run: task, reject });
      this.#startWriter();
    });
  }

  #startWriter(): void {
    if (this.#writing) return;
    // A microtask later, so that appends made by the continuations of those just
    // acknowledged join one write instead of the first going alone.
    this.#writing = Promise.resolve()
      .then(() => this.#drain())
      .finally(() => {
        this.#writing = undefined;
        // Work that arrived between the drain's last look and now must not be stranded.
        if (this.#queue.length > 0 || this.#syncDue()) this.#startWriter();
      });
  }

  /**
   * The one writer: writes whatever is queued, then fsyncs as the policy says: after every
   * write for 'always'; for group commit once the window since the last fsync has passed,
   * else a timer brings the writer back for it. Writes and fsyncs never overlap: an fsync
   * racing writes to the same file only takes longer, and the batch it covers is smaller.
   */
  async #drain(): Promise<void> {
    while (!this.#failed) {
      const work = this.#queue;
      this.#queue = [];
      try {
        if (work.length > 0) await this.#writeAll(work);
        if (this.#unsynced.length > 0) {
          const wait = this.#syncWait();
          if (wait <= 0) await this.#syncNow();
          else this.#armSyncTimer(wait);
        }
      } catch (err) {
        // Settled promises ignore reject: this reaches exactly the appends not yet acknowledged.
        this.#fail(err, work);
        return;
      }
      if (this.#queue.length === 0 && !this.#syncDue()) return;
    }
  }

  /** Milliseconds until the next fsync may start: 0 unless group commit's window is still open. */
  #syncWait(): number {
    return this.#settings.sync.mode === 'group'
      ? this.#lastSyncAt + this.#settings.sync.windowMs - performance.now()
      : 0;
  }

  #syncDue(): boolean {
    return this.#unsynced.length > 0 && this.#syncWait() <= 0;
  }

  #armSyncTimer(ms: number): void {
    if (this.#syncTimer) return;
    // Not unref'd: appends wait on it, and the process must not exit before they resolve.
    this.#syncTimer = setTimeout(() => {
      this.#syncTimer = undefined;
      this.#startWriter();
    }, ms);
  }

  /** Writes the queued appends in order, one writev per segment, rolling where the size says. */
  async #writeAll(work: (PendingAppend | PendingTask)[]): Promise<void> {
    let group: PendingAppend[] = [];
    let groupBytes = 0;
    const flush = async () => {
      if (group.length === 0) return;
      const written = group;
      group = [];
      groupBytes = 0;
      const segment = this.#active;
      await segment.append(written.map((p) => p.batch));
      this.#dirty.add(segment);
      if (this.#settings.sync.mode === 'never') this.#acknowledge(written);
      else for (const p of written) this.#unsynced.push(p);
    };
    for (const item of work) {
      if (item.kind === 'task') {
        await flush();
        await item.run();
        continue;
      }
      const used = this.#active.size + groupBytes;
      if (used > 0 && used + item.batch.buffer.length > this.#settings.segmentBytes) {
        await flush();
        await this.#rollNow();
      }
      group.push(item);
      groupBytes += item.batch.buffer.length;
    }
    await flush();
  }

  /** Seals the active segment (fsynced whole, index written) and creates the next one. */
  async #rollNow(): Promise<void> {
    const sealed = this.#active;
    await sealed.sync();
    this.#dirty.delete(sealed);
    await sealed.writeIndex();
    const next = await Segment.create(this.dir, sealed.nextOffset, this.#settings.indexInterval);
    // The new file's directory entry must be durable before any record in it is acknowledged.
    await syncDirectory(this.dir);
    this.#segments.push(next);
    if (this.#settings.retention) void this.#retentionInBackground();
  }

  #clearSyncTimer(): void {
    clearTimeout(this.#syncTimer);
    this.#syncTimer = undefined;
  }

  /** One fdatasync per dirty segment; then every append written before it began resolves. */
  async #syncNow(): Promise<void> {
    const waiting = this.#unsynced;
    this.#unsynced = [];
    const segments = [...this.#dirty];
    this.#dirty.clear();
    const started = performance.now();
    this.#lastSyncAt = started;
    await Promise.all(segments.map((s) => s.sync()));
    if (waiting.length === 0) return;
    this.#settings.onSync?.({
      appends: waiting.length,
      records: waiting.reduce((n, p) => n + p.batch.count, 0),
      segments: segments.length,
      durationMs: performance.now() - started,
    });
    this.#acknowledge(waiting);
  }

  #acknowledge(appends: PendingAppend[]): void {
    for (const p of appends) {
      this.#endOffset = p.batch.firstOffset + p.batch.count;
      p.resolve(p.batch.firstOffset);
    }
  }

  #fail(err: unknown, inWriter: readonly (PendingAppend | PendingTask)[] = []): void {
    this.#failed ??= new LogFailedError(err);
    this.#clearSyncTimer();
    const failed = this.#failed;
    for (const item of [...inWriter, ...this.#unsynced.splice(0), ...this.#queue.splice(0)])
      item.reject(failed);
  }
}
