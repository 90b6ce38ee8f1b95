import { crc32 } from 'node:zlib';
import type { AppendRecord } from '../record.ts';
import { valueFor } from './values.ts';

/** The record with this id, always the same bytes: 64 B to ~3 KiB, so batches straddle pages and segments. */
export function crashRecord(id: string): AppendRecord {
  return { key: Buffer.from(id), value: valueFor(id, 64 + (crc32(id) % 3000)), headers: { id } };
}
