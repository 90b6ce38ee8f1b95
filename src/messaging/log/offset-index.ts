/**
 * A sparse index of one segment: every `indexIntervalBytes` or so, the position of a record,
 * so a read seeks close to its offset and decodes at most one interval to reach it (Kafka's
 * `.index`, 4 KiB apart by default). It lives in memory; the `.index` file is a cache of it
 * written when a segment is sealed or the log closes, and is rebuilt by scanning the segment
 * whenever it is missing, damaged or does not match the segment.
 */
import { crc32 } from 'node:zlib';

const MAGIC = 0x53424958; // 'SBIX'
const VERSION = 1;
const HEADER_BYTES = 40;
const ENTRY_BYTES = 8;
const TWO_32 = 2 ** 32;

/** What the index file says about its segment, besides the entries. */
export interface IndexSummary {
  /** The offset after the segment's last record. */
  nextOffset: number;
  /** Bytes of the segment the index describes, all of them valid records. */
  logBytes: number;
  /** The largest record timestamp, -1 for an empty segment. */
  maxTimestamp: number;
}

export class OffsetIndex {
  readonly #relOffsets: number[] = [];
  readonly #positions: number[] = [];

  get length(): number {
    return this.#relOffsets.length;
  }

  get lastPosition(): number {
    return this.#positions.at(-1) ?? 0;
  }

  /** Entries must come in increasing order of offset and position. */
  add(relOffset: number, position: number): void {
    this.#relOffsets.push(relOffset);
    this.#positions.push(position);
  }

  /** The last entry at or before `relOffset`: where to start reading for it. */
  lookup(relOffset: number): { relOffset: number; position: number } {
    const offsets = this.#relOffsets;
    let lo = 0;
    let hi = offsets.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (offsets[mid]! <= relOffset) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found < 0
      ? { relOffset: 0, position: 0 }
      : { relOffset: offsets[found]!, position: this.#positions[found]! };
  }

  serialize(baseOffset: number, summary: IndexSummary): Buffer {
    const count = this.#relOffsets.length;
    const buf = Buffer.alloc(HEADER_BYTES + count * ENTRY_BYTES + 4);
    buf.writeUInt32BE(MAGIC, 0);
    buf[4] = VERSION;
    writeU64(buf, baseOffset, 8);
    writeU64(buf, summary.nextOffset, 16);
    buf.writeDoubleBE(summary.maxTimestamp, 24);
    buf.writeUInt32BE(summary.logBytes, 32);
    buf.writeUInt32BE(count, 36);
    for (let i = 0; i < count; i++) {
      buf.writeUInt32BE(this.#relOffsets[i]!, HEADER_BYTES + i * ENTRY_BYTES);
      buf.writeUInt32BE(this.#positions[i]!, HEADER_BYTES + i * ENTRY_BYTES + 4);
    }
    const end = buf.length - 4;
    buf.writeUInt32BE(crc32(buf.subarray(0, end)), end);
    return buf;
  }

  /**
   * Reads an index file, checking it whole: checksum, base offset, entries in order and
   * inside the `logBytes` it claims, which must not exceed the segment's size. Anything less
   * and the caller rebuilds.
   */
  static parse(
    buf: Buffer,
    baseOffset: number,
    segmentBytes: number,
  ): { index: OffsetIndex; summary: IndexSummary } | { error: string } {
    if (buf.length < HEADER_BYTES + 4) return { error: 'too short' };
    const end = buf.length - 4;
    if (crc32(buf.subarray(0, end)) !== buf.readUInt32BE(end)) return { error: 'checksum mismatch' };
    if (buf.readUInt32BE(0) !== MAGIC || buf[4] !== VERSION)
      return { error: 'not an index file of this version' };
    if (readU64(buf, 8) !== baseOffset) return { error: 'base offset does not match the segment' };
    const count = buf.readUInt32BE(36);
    if (HEADER_BYTES + count * ENTRY_BYTES !== end) return { error: 'entry count does not match the size' };
    const summary: IndexSummary = {
      nextOffset: readU64(buf, 16),
      maxTimestamp: buf.readDoubleBE(24),
      logBytes: buf.readUInt32BE(32),
    };
    if (summary.logBytes > segmentBytes)
      return { error: `describes ${summary.logBytes} bytes, segment has fewer` };
    if (
      !Number.isSafeInteger(summary.nextOffset) ||
      summary.nextOffset < baseOffset ||
      !Number.isSafeInteger(summary.maxTimestamp)
    ) {
      return { error: 'summary out of range' };
    }
    const index = new OffsetIndex();
    let lastRel = 0;
    let lastPos = 0;
    for (let i = 0; i < count; i++) {
      const rel = buf.readUInt32BE(HEADER_BYTES + i * ENTRY_BYTES);
      const pos = buf.readUInt32BE(HEADER_BYTES + i * ENTRY_BYTES + 4);
      if (
        rel <= lastRel ||
        pos <= lastPos ||
        pos >= summary.logBytes ||
        baseOffset + rel >= summary.nextOffset
      ) {
        return { error: `entry ${i} out of order or range` };
      }
      index.add(rel, pos);
      lastRel = rel;
      lastPos = pos;
    }
    return { index, summary };
  }
}

function writeU64(buf: Buffer, n: number, at: number): void {
  const hi = Math.floor(n / TWO_32);
  buf.writeUInt32BE(hi, at);
  buf.writeUInt32BE(n - hi * TWO_32, at + 4);
}

function readU64(buf: Buffer, at: number): number {
  return buf.readUInt32BE(at) * TWO_32 + buf.readUInt32BE(at + 4);
}
