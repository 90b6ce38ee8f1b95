/**
 * The on-disk record format (docs/segment-log.md has the byte table). All integers are
 * big-endian. Each record is length-prefixed and carries a CRC-32 of everything after the
 * CRC field, so a reader can tell a whole record from a torn or rotten one without any other
 * file. The decoder never throws on bad bytes: it answers "record", "incomplete" (more bytes
 * are needed) or "corrupt" with a reason.
 */
import { crc32 } from 'node:zlib';
import type { AppendRecord, LogRecord, RecordHeaders } from './record.ts';

export const RECORD_MAGIC = 1;
/** length 4, crc 4, magic 1, attributes 1, offset 8, timestamp 8, key length 4, header count 4, value length 4. */
export const RECORD_OVERHEAD = 38;
/** No record may claim more than this, whatever its length prefix says. */
export const MAX_RECORD_BYTES = 1 << 30;
/** The CRC covers [CRC_START, end): the length prefix is checked by the record fitting, the CRC by itself. */
const CRC_START = 8;
const OFFSET_AT = 10;
const TIMESTAMP_AT = 18;
const KEY_AT = 26;
const TWO_32 = 2 ** 32;
/** Above this, hi * 2^32 + lo is no longer an exact integer. */
const MAX_HI = 0x1fffff;
const EMPTY_HEADERS: RecordHeaders = Object.freeze({});
/** In a `u` regex a surrogate pair is one code point, so this matches only unpaired halves. */
const LONE_SURROGATE = /\p{Cs}/u;

/** Records encoded for one append: one buffer, written with one write. */
export interface EncodedBatch {
  buffer: Buffer;
  firstOffset: number;
  count: number;
  /** Byte size of each record, in order: the segment indexes by them. */
  sizes: number[];
  maxTimestamp: number;
}

export type RecordCheck =
  | { kind: 'record'; size: number; offset: number; timestamp: number }
  | { kind: 'incomplete'; size: number }
  | { kind: 'corrupt'; reason: string };

export type RecordDecode =
  | { kind: 'record'; size: number; record: LogRecord }
  | { kind: 'incomplete'; size: number }
  | { kind: 'corrupt'; reason: string };

/**
 * Validates and encodes `records` with offsets from `firstOffset`. Throws TypeError/RangeError
 * for bad input (nothing is assigned then), naming the record at fault.
 */
export function encodeBatch(
  records: readonly AppendRecord[],
  firstOffset: number,
  now: number,
  maxRecordBytes: number,
): EncodedBatch {
  const sizes: number[] = new Array(records.length);
  const headerLists: [string, string][][] = new Array(records.length);
  let total = 0;
  let maxTimestamp = -1;
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    if (typeof r !== 'object' || r === null) throw new TypeError(`record ${i}: expected an object`);
    if (!(r.value instanceof Uint8Array)) throw new TypeError(`record ${i}: value must be a Uint8Array`);
    if (r.key != null && !(r.key instanceof Uint8Array)) {
      throw new TypeError(`record ${i}: key must be a Uint8Array or null`);
    }
    const timestamp = r.timestamp ?? now;
    if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
      throw new RangeError(`record ${i}: timestamp must be an integer >= 0, got ${timestamp}`);
    }
    if (timestamp > maxTimestamp) maxTimestamp = timestamp;
    let size = RECORD_OVERHEAD + (r.key?.length ?? 0) + r.value.length;
    if (r.headers !== undefined && (typeof r.headers !== 'object' || r.headers === null)) {
      throw new TypeError(`record ${i}: headers must be an object of strings`);
    }
    const headers = r.headers === undefined ? [] : Object.entries(r.headers);
    for (const [name, value] of headers) {
      if (typeof value !== 'string') throw new TypeError(`record ${i}: header ${name} must be a string`);
      if (LONE_SURROGATE.test(name) || LONE_SURROGATE.test(value)) {
        throw new TypeError(`record ${i}: header ${name} holds a lone surrogate, which UTF-8 cannot carry`);
      }
      const nameBytes = Buffer.byteLength(name);
      if (nameBytes > 0xffff) throw new RangeError(`record ${i}: header name longer than 65535 bytes`);
      size += 6 + nameBytes + Buffer.byteLength(value);
    }
    if (size > maxRecordBytes) {
      throw new RangeError(`record ${i}: ${size} bytes encoded, above maxRecordBytes ${maxRecordBytes}`);
    }
    sizes[i] = size;
    headerLists[i] = headers;
    total += size;
  }
  const buffer = Buffer.allocUnsafe(total);
  let pos = 0;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    pos = writeRecord(buffer, pos, sizes[i]!, firstOffset + i, r.timestamp ?? now, r, headerLists[i]!);
  }
  return { buffer, firstOffset, count: records.length, sizes, maxTimestamp };
}

function writeRecord(
  buf: Buffer,
  start: number,
  size: number,
  offset: number,
  timestamp: number,
  r: AppendRecord,
  headers: [string, string][],
): number {
  buf.writeUInt32BE(size - 4, start);
  buf[start + 8] = RECORD_MAGIC;
  buf[start + 9] = 0;
  writeU64(buf, offset, start + OFFSET_AT);
  writeU64(buf, timestamp, start + TIMESTAMP_AT);
  let p = start + KEY_AT;
  if (r.key == null) {
    buf.writeInt32BE(-1, p);
    p += 4;
  } else {
    buf.writeInt32BE(r.key.length, p);
    buf.set(r.key, p + 4);
    p += 4 + r.key.length;
  }
  buf.writeUInt32BE(headers.length, p);
  p += 4;
  for (const [name, value] of headers) {
    const n = buf.write(name, p + 2, 'utf8');
    buf.writeUInt16BE(n, p);
    p += 2 + n;
    const v = buf.write(value, p + 4, 'utf8');
    buf.writeUInt32BE(v, p);
    p += 4 + v;
  }
  buf.writeUInt32BE(r.value.length, p);
  buf.set(r.value, p + 4);
  p += 4 + r.value.length;
  buf.writeUInt32BE(crc32(buf.subarray(start + CRC_START, p)), start + 4);
  return p;
}

function writeU64(buf: Buffer, n: number, at: number): void {
  const hi = Math.floor(n / TWO_32);
  buf.writeUInt32BE(hi, at);
  buf.writeUInt32BE(n - hi * TWO_32, at + 4);
}

function readU64(buf: Buffer, at: number): number {
  const hi = buf.readUInt32BE(at);
  return hi > MAX_HI ? -1 : hi * TWO_32 + buf.readUInt32BE(at + 4);
}

/** Checks the record at `pos` (length, CRC, every inner length) without building it. */
export function checkRecord(buf: Buffer, pos: number, end: number): RecordCheck {
  if (end - pos < 4) return { kind: 'incomplete', size: 4 };
  const length = buf.readUInt32BE(pos);
  if (length < RECORD_OVERHEAD - 4) return { kind: 'corrupt', reason: `length ${length} below the minimum` };
  if (length > MAX_RECORD_BYTES) return { kind: 'corrupt', reason: `length ${length} above the maximum` };
  const size = 4 + length;
  if (end - pos < size) return { kind: 'incomplete', size };
  const stop = pos + size;
  if (crc32(buf.subarray(pos + CRC_START, stop)) !== buf.readUInt32BE(pos + 4)) {
    return { kind: 'corrupt', reason: 'checksum mismatch' };
  }
  if (buf[pos + 8] !== RECORD_MAGIC) return { kind: 'corrupt', reason: `unknown magic ${buf[pos + 8]}` };
  if (buf[pos + 9] !== 0) return { kind: 'corrupt', reason: `unknown attributes ${buf[pos + 9]}` };
  const offset = readU64(buf, pos + OFFSET_AT);
  const timestamp = readU64(buf, pos + TIMESTAMP_AT);
  if (offset < 0 || timestamp < 0) return { kind: 'corrupt', reason: 'offset or timestamp beyond 2^53' };
  let p = pos + KEY_AT;
  const keyLength = buf.readInt32BE(p);
  if (keyLength < -1) return { kind: 'corrupt', reason: `key length ${keyLength}` };
  p += 4 + Math.max(keyLength, 0);
  if (p + 4 > stop) return { kind: 'corrupt', reason: 'key overruns the record' };
  const headerCount = buf.readUInt32BE(p);
  p += 4;
  for (let i = 0; i < headerCount; i++) {
    if (p + 2 > stop) return { kind: 'corrupt', reason: 'headers overrun the record' };
    p += 2 + buf.readUInt16BE(p);
    if (p + 4 > stop) return { kind: 'corrupt', reason: 'headers overrun the record' };
    p += 4 + buf.readUInt32BE(p);
  }
  if (p + 4 > stop) return { kind: 'corrupt', reason: 'headers overrun the record' };
  if (p + 4 + buf.readUInt32BE(p) !== stop) return { kind: 'corrupt', reason: 'field lengths do not add up' };
  return { kind: 'record', size, offset, timestamp };
}

/** Decodes the record at `pos`; the record's byte fields are views of `buf`. */
export function decodeRecord(buf: Buffer, pos: number, end: number): RecordDecode {
  const check = checkRecord(buf, pos, end);
  if (check.kind !== 'record') return check;
  let p = pos + KEY_AT;
  const keyLength = buf.readInt32BE(p);
  p += 4;
  let key: Uint8Array | null = null;
  if (keyLength >= 0) {
    key = buf.subarray(p, p + keyLength);
    p += keyLength;
  }
  const headerCount = buf.readUInt32BE(p);
  p += 4;
  let headers = EMPTY_HEADERS;
  if (headerCount > 0) {
    const pairs: [string, string][] = new Array(headerCount);
    for (let i = 0; i < headerCount; i++) {
      const n = buf.readUInt16BE(p);
      const name = buf.toString('utf8', p + 2, p + 2 + n);
      p += 2 + n;
      const v = buf.readUInt32BE(p);
      pairs[i] = [name, buf.toString('utf8', p + 4, p + 4 + v)];
      p += 4 + v;
    }
    // fromEntries defines own properties, so a header named __proto__ stays a header.
    headers = Object.fromEntries(pairs);
  }
  const valueLength = buf.readUInt32BE(p);
  const value = buf.subarray(p + 4, p + 4 + valueLength);
  return {
    kind: 'record',
    size: check.size,
    record: { offset: check.offset, timestamp: check.timestamp, key, headers, value },
  };
}
