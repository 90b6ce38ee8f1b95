import { StatusError } from '../../contract/errors.ts';
import { Status } from '../../contract/status.ts';

/** Every gRPC message on the wire: 1 byte compressed-flag, 4 bytes big-endian length, the bytes. */
export const FRAME_HEADER_BYTES = 5;

/** gRPC's default limit for one message, in both directions. */
export const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/** One length-prefixed message, uncompressed. */
export function encodeFrame(body: Uint8Array): Buffer {
  const length = body.length;
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + length);
  frame[0] = 0;
  frame.writeUInt32BE(length, 1);
  frame.set(body, FRAME_HEADER_BYTES);
  return frame;
}

/** Receives the messages a FrameDecoder cuts out of the byte stream. */
export interface FrameSink {
  /** `body` may be a view into the chunk it arrived in. */
  onFrame(body: Buffer, compressed: boolean): void;
}

/**
 * Cuts length-prefixed messages out of DATA chunks that may split them anywhere. A message that
 * lies whole inside a chunk is handed on as a view, without copying; only messages spread over
 * several chunks are assembled into a buffer of their own.
 */
export class FrameDecoder {
  readonly #maxBytes: number;
  readonly #sink: FrameSink;
  /** Only for a prefix split across chunks: most calls never need it. */
  #header: Buffer | undefined;
  #headerFilled = 0;
  #body: Buffer | undefined;
  #bodyFilled = 0;
  #compressed = false;
  /** Who sends: "request" or "response", for error messages. */
  readonly #what: string;

  constructor(maxBytes: number, sink: FrameSink, what = 'message') {
    this.#maxBytes = maxBytes;
    this.#sink = sink;
    this.#what = what;
  }

  /** True while part of a message has arrived and the rest has not. */
  get midFrame(): boolean {
    return this.#headerFilled > 0 || this.#body !== undefined;
  }

  /** Throws a StatusError on a bad flag or an oversized message; the decoder is then unusable. */
  push(chunk: Buffer): void {
    const end = chunk.length;
    let offset = 0;
    while (offset < end) {
      let body = this.#body;
      if (body === undefined) {
        let flag: number;
        let length: number;
        if (this.#headerFilled === 0 && end - offset >= FRAME_HEADER_BYTES) {
          flag = chunk[offset]!;
          length = chunk.readUInt32BE(offset + 1);
          offset += FRAME_HEADER_BYTES;
        } else {
          this.#header ??= Buffer.allocUnsafe(FRAME_HEADER_BYTES);
          const header = this.#header;
          const n = Math.min(FRAME_HEADER_BYTES - this.#headerFilled, end - offset);
          chunk.copy(header, this.#headerFilled, offset, offset + n);
          this.#headerFilled += n;
          offset += n;
          if (this.#headerFilled < FRAME_HEADER_BYTES) return;
          this.#headerFilled = 0;
          flag = header[0]!;
          length = header.readUInt32BE(1);
        }
        this.#check(flag, length);
        if (end - offset >= length) {
          this.#sink.onFrame(chunk.subarray(offset, offset + length), flag === 1);
          offset += length;
          continue;
        }
        body = Buffer.allocUnsafe(length);
        this.#body = body;
        this.#bodyFilled = 0;
        this.#compressed = flag === 1;
      }
      const n = Math.min(body.length - this.#bodyFilled, end - offset);
      chunk.copy(body, this.#bodyFilled, offset, offset + n);
      this.#bodyFilled += n;
      offset += n;
      if (this.#bodyFilled === body.length) {
        this.#body = undefined;
        this.#sink.onFrame(body, this.#compressed);
      }
    }
  }

  #check(flag: number, length: number): void {
    if (flag > 1) {
      throw new StatusError(
        Status.INTERNAL,
        `invalid gRPC frame: compressed-flag ${flag} is neither 0 nor 1`,
      );
    }
    if (length > this.#maxBytes) {
      throw new StatusError(
        Status.RESOURCE_EXHAUSTED,
        `${this.#what} of ${length} bytes is larger than the limit of ${this.#maxBytes} bytes`,
      );
    }
  }
}
