import { StatusError } from '../../contract/errors.ts';
import { Metadata } from '../../contract/metadata.ts';
import { Status } from '../../contract/status.ts';
import { putU16, putU32 } from './bytes.ts';
import type { PayloadReader } from './payload-reader.ts';

/**
 * A metadata block: [u16 count] then, per pair, [u16 key length][key ASCII][u32 value length]
 * [value]. Values of `-bin` keys are raw bytes, others UTF-8; a key repeats once per value.
 */
export function metadataBlockBytes(metadata: Metadata | undefined): number {
  if (metadata === undefined || metadata.size === 0) return 2;
  let bytes = 2;
  for (const [key, value] of metadata) {
    if (key.length > 0xffff)
      throw new StatusError(Status.RESOURCE_EXHAUSTED, `metadata key of ${key.length} characters`);
    bytes += 6 + key.length + (typeof value === 'string' ? Buffer.byteLength(value) : value.length);
  }
  return bytes;
}

/** Writes the block at `pos` (room was reserved with metadataBlockBytes) and returns the end. */
export function writeMetadataBlock(slab: Buffer, pos: number, metadata: Metadata | undefined): number {
  if (metadata === undefined || metadata.size === 0) {
    slab[pos] = 0;
    slab[pos + 1] = 0;
    return pos + 2;
  }
  const countAt = pos;
  let count = 0;
  pos += 2;
  for (const [key, value] of metadata) {
    count++;
    putU16(slab, pos, key.length);
    pos += 2;
    pos += slab.write(key, pos, 'latin1');
    if (typeof value === 'string') {
      const n = slab.write(value, pos + 4, 'utf8');
      putU32(slab, pos, n);
      pos += 4 + n;
    } else {
      putU32(slab, pos, value.length);
      slab.set(value, pos + 4);
      pos += 4 + value.length;
    }
  }
  if (count > 0xffff)
    throw new StatusError(Status.RESOURCE_EXHAUSTED, `too many metadata entries (${count})`);
  putU16(slab, countAt, count);
  return pos;
}

/**
 * Reads a block; undefined when it is empty (the common case allocates nothing). A structural
 * error is a ProtocolError; a key Metadata refuses is INTERNAL on the call.
 */
export function readMetadataBlock(reader: PayloadReader): Metadata | undefined {
  const count = reader.u16();
  if (count === 0) return undefined;
  const metadata = new Metadata();
  for (let i = 0; i < count; i++) {
    const key = reader.latin1(reader.u16());
    const length = reader.u32();
    const value = Metadata.isBinaryKey(key) ? reader.copy(length) : reader.utf8(length);
    try {
      metadata.add(key, value);
    } catch (err) {
      throw new StatusError(Status.INTERNAL, `invalid metadata: ${(err as Error).message}`);
    }
  }
  return metadata;
}
