/**
 * The messages of the messaging benchmark: `size` bytes (1 KiB) whose first 8 bytes carry the
 * publish time and the next 4 the message's sequence number, so that the consumer can time
 * each message end to end and count distinct messages (an at-least-once broker may redeliver).
 *
 *   0  8  publish time   float64 LE, ms since the epoch: performance.timeOrigin + performance.now()
 *   8  4  sequence       uint32 LE; PROBE_SEQ for a probe (is the consumer live yet?)
 *   12 …  filler         'a'
 */

export const HEADER_BYTES = 12;
/** A probe's sequence number: never one of the measured messages. */
export const PROBE_SEQ = 0xffff_ffff;

/** Now, in ms since the epoch, with sub-millisecond precision: comparable across processes. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** A fresh buffer each time: a driver may hold on to it until its broker has confirmed it. */
export function makePayload(size: number, seq: number, at: number = nowMs()): Uint8Array {
  const buf = Buffer.alloc(Math.max(size, HEADER_BYTES), 0x61);
  buf.writeDoubleLE(at, 0);
  buf.writeUInt32LE(seq, 8);
  return buf;
}

export interface Stamp {
  at: number;
  seq: number;
}

/** The time and sequence a payload carries; undefined for anything shorter than the header. */
export function readStamp(payload: Uint8Array): Stamp | undefined {
  if (payload.byteLength < HEADER_BYTES) return undefined;
  const view = new DataView(payload.buffer, payload.byteOffset, HEADER_BYTES);
  return { at: view.getFloat64(0, true), seq: view.getUint32(8, true) };
}
