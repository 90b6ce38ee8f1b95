/**
 * Reading a segment file record by record to find where its valid records end: recovery at
 * open and index rebuilding. When a record is bad, the scan also looks past it for a valid
 * record, because what to do depends on it: damage with nothing valid after it is a torn
 * tail (a write cut short by a crash), damage followed by valid records is something else.
 */
import type { FileHandle } from 'node:fs/promises';
import { checkRecord, RECORD_MAGIC } from './record-codec.ts';

const CHUNK_BYTES = 1 << 20;

export interface ScanStart {
  position: number;
  /** The offset the record at `position` must carry. */
  offset: number;
  maxTimestamp: number;
}

export interface ScanDamage {
  /** Where the first bad record starts: the valid records end here. */
  position: number;
  /** The offset that record should have had. */
  offset: number;
  reason: string;
  /** A whole record with a later offset follows the damage. */
  validAfter: boolean;
  /** The bytes from the damage up to that record (or to the end) are all zero. */
  zeroFilled: boolean;
}

export interface ScanResult {
  /** The position after the last valid record. */
  end: number;
  nextOffset: number;
  maxTimestamp: number;
  damage?: ScanDamage;
}

/** Scans [start.position, fileBytes), calling `onRecord` for each valid record in order. */
export async function scanSegment(
  file: FileHandle,
  start: ScanStart,
  fileBytes: number,
  onRecord: (offset: number, position: number, size: number) => void,
): Promise<ScanResult> {
  let pos = start.position;
  let expected = start.offset;
  let maxTimestamp = start.maxTimestamp;
  let want = CHUNK_BYTES;
  while (pos < fileBytes) {
    const length = Math.min(want, fileBytes - pos);
    const buf = await readAt(file, pos, length);
    let p = 0;
    let need = 0;
    let reason: string | undefined;
    while (p < length) {
      const r = checkRecord(buf, p, length);
      if (r.kind === 'incomplete') {
        if (pos + p + r.size > fileBytes) reason = 'the record runs past the end of the file';
        need = r.size;
        break;
      }
      if (r.kind === 'corrupt') {
        reason = r.reason;
        break;
      }
      if (r.offset !== expected) {
        reason = `offset ${r.offset} where ${expected} was expected`;
        break;
      }
      onRecord(r.offset, pos + p, r.size);
      if (r.timestamp > maxTimestamp) maxTimestamp = r.timestamp;
      expected++;
      p += r.size;
    }
    if (reason !== undefined) {
      const damage = await classifyDamage(file, pos + p, fileBytes, expected, reason);
      return { end: pos + p, nextOffset: expected, maxTimestamp, damage };
    }
    want = p === 0 ? Math.max(need, CHUNK_BYTES) : CHUNK_BYTES;
    pos += p;
  }
  return { end: pos, nextOffset: expected, maxTimestamp };
}

/** Looks for a valid record after the damage; the rest of the file is read once, only on damage. */
async function classifyDamage(
  file: FileHandle,
  position: number,
  fileBytes: number,
  offset: number,
  reason: string,
): Promise<ScanDamage> {
  const rest = await readAt(file, position, fileBytes - position);
  const after = findRecordAfter(rest, offset);
  const hole = after < 0 ? rest : rest.subarray(0, after);
  return { position, offset, reason, validAfter: after >= 0, zeroFilled: hole.every((b) => b === 0) };
}

/** The first position > 0 in `buf` where a whole record with offset >= `minOffset` starts, else -1. */
export function findRecordAfter(buf: Buffer, minOffset: number): number {
  // Every record has the magic byte at +8 and zero attributes at +9: jump between those.
  let at = buf.indexOf(RECORD_MAGIC, 9);
  while (at >= 0) {
    const candidate = at - 8;
    if (buf[at + 1] === 0) {
      const r = checkRecord(buf, candidate, buf.length);
      if (r.kind === 'record' && r.offset >= minOffset) return candidate;
    }
    at = buf.indexOf(RECORD_MAGIC, at + 1);
  }
  return -1;
}

/** Reads exactly `length` bytes at `position` (the file is known to hold them). */
export async function readAt(file: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await file.read(buf, done, length - done, position + done);
    if (bytesRead === 0) throw new Error(`unexpected end of file at byte ${position + done}`);
    done += bytesRead;
  }
  return buf;
}
