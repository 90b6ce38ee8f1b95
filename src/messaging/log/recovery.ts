/**
 * Opening a log directory after a clean close or a crash: which segments there are, what is
 * valid in each, what to cut.
 *
 * The rule for damage (a record failing its length, checksum or offset check):
 * - In the last segment, with nothing valid after it, or only zero bytes before the next
 *   valid record: a torn tail. A write was cut short by a crash (a file system may also
 *   leave never-written blocks as zeros inside the file's new size). Nothing there was
 *   acknowledged under 'always' or group commit, because an acknowledgement follows an
 *   fsync and an fsync covers every earlier byte. It is truncated and reported.
 * - Anywhere else (non-zero bytes followed by valid records, or any damage in an older
 *   segment, which was fsynced whole when it was sealed): bit rot or outside tampering.
 *   Records after it may have been acknowledged, so open fails with CorruptRecordError
 *   unless the caller chose `onCorruption: 'truncate'`, which cuts the log there (deleting
 *   later segments) and reports what it dropped.
 */
import { rm } from 'node:fs/promises';
import { CorruptLogError, CorruptRecordError } from './errors.ts';
import { Segment } from './segment.ts';
import { listLogDirectory, segmentPaths, syncDirectory } from './segment-files.ts';

export type CorruptionPolicy = 'fail' | 'truncate';

export interface Truncation {
  file: string;
  position: number;
  droppedBytes: number;
  reason: string;
  /** 'torn-tail' is the normal aftermath of a crash; 'corruption' only with onCorruption: 'truncate'. */
  kind: 'torn-tail' | 'corruption';
}

/** What open found and did. A clean reopen has no truncations and scans no sealed segment. */
export interface RecoveryReport {
  segments: number;
  /** Bytes checked record by record because no valid index covered them. */
  scannedBytes: number;
  rebuiltIndexes: number;
  truncations: Truncation[];
  /** Segments deleted because an earlier one was cut (onCorruption: 'truncate'). */
  droppedSegments: string[];
  /** Temporary files and orphaned indexes removed. */
  removedStrays: string[];
  durationMs: number;
}

export async function recoverSegments(
  dir: string,
  indexInterval: number,
  onCorruption: CorruptionPolicy,
): Promise<{ segments: Segment[]; report: RecoveryReport }> {
  const started = performance.now();
  const listing = await listLogDirectory(dir);
  await Promise.all(listing.strays.map((file) => rm(file, { force: true })));
  const report: RecoveryReport = {
    segments: 0,
    scannedBytes: 0,
    rebuiltIndexes: 0,
    truncations: [],
    droppedSegments: [],
    removedStrays: listing.strays,
    durationMs: 0,
  };
  const segments: Segment[] = [];
  try {
    if (listing.segments.length === 0) {
      segments.push(await Segment.create(dir, 0, indexInterval));
      await syncDirectory(dir);
    }
    for (let i = 0; i < listing.segments.length; i++) {
      const base = listing.segments[i]!;
      const opened = await Segment.open(dir, base, indexInterval);
      segments.push(opened.segment);
      report.scannedBytes += opened.scannedBytes;
      if (opened.indexRebuilt) report.rebuiltIndexes++;
      const previous = segments.at(-2);
      if (previous && previous.nextOffset !== base) {
        throw new CorruptLogError(
          opened.segment.logPath,
          `starts at offset ${base} but the segment before it ends at ${previous.nextOffset}: a segment is missing or overlaps`,
        );
      }
      const damage = opened.damage;
      if (!damage) continue;
      const last = i === listing.segments.length - 1;
      const torn = last && (!damage.validAfter || damage.zeroFilled);
      if (!torn && onCorruption === 'fail') {
        throw new CorruptRecordError(
          opened.segment.logPath,
          damage.position,
          damage.offset,
          damage.reason,
          damage.validAfter
            ? ', and valid records follow it. Open with onCorruption: "truncate" to cut the log there'
            : ' in a sealed segment. Open with onCorruption: "truncate" to cut the log there',
        );
      }
      await opened.segment.truncate(damage.position);
      report.truncations.push({
        file: opened.segment.logPath,
        position: damage.position,
        droppedBytes: opened.fileBytes - damage.position,
        reason: damage.reason,
        kind: torn ? 'torn-tail' : 'corruption',
      });
      for (const later of listing.segments.slice(i + 1)) {
        const paths = segmentPaths(dir, later);
        await rm(paths.index, { force: true });
        await rm(paths.log, { force: true });
        report.droppedSegments.push(paths.log);
      }
      if (!last) await syncDirectory(dir);
      break;
    }
    // Whatever this open exposes to readers must be on disk, whoever wrote it before.
    await segments.at(-1)!.sync();
  } catch (err) {
    await Promise.all(segments.map((s) => s.close()));
    throw err;
  }
  report.segments = segments.length;
  report.durationMs = performance.now() - started;
  return { segments, report };
}
