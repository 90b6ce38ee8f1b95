/**
 * What a log stores. Offsets and timestamps are plain numbers: integers below 2^53, which at
 * a million records a second lasts 285 years, and keeps every comparison and `+ 1` on the hot
 * path free of BigInt. They take 8 bytes on disk, so widening later changes no file.
 */

/**
 * Header names and values are strings (stored as UTF-8): what travels in them is trace
 * context, message ids, content types and CloudEvents attributes, all text. An adapter for a
 * broker with binary header values encodes them (base64) at its own edge.
 */
export type RecordHeaders = Readonly<Record<string, string>>;

/** A record handed to `append`. */
export interface AppendRecord {
  value: Uint8Array;
  /** `null`/absent is "no key", distinct from an empty key. Keys choose the partition. */
  key?: Uint8Array | null;
  headers?: RecordHeaders;
  /** Milliseconds since the epoch, an integer >= 0. Default: the log's clock at append. */
  timestamp?: number;
}

/** A record read back. Its byte fields are views of the read buffer: copy them to keep them long. */
export interface LogRecord {
  offset: number;
  timestamp: number;
  key: Uint8Array | null;
  headers: RecordHeaders;
  value: Uint8Array;
}
