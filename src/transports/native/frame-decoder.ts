import { getU32 as u32 } from './bytes.ts';
import { GoawayCode, HEADER_BYTES } from './frame.ts';
import { ProtocolError } from './protocol-error.ts';

/**
 * Receives each complete frame: its payload is `buf[start, end)`, passed as offsets so that no
 * view is made per frame (a Buffer view costs more than parsing a small frame).
 */
export interface FrameHandler {
  onFrame(type: number, flags: number, streamId: number, buf: Buffer, start: number, end: number): void;
}

/**
 * Splits a byte stream into frames. Whole frames inside one chunk are handed out as views of
 * it (no copy); a frame split across chunks is gathered in a list and joined once it is
 * complete, so a large frame costs one copy, not one per chunk.
 */
export class FrameDecoder {
  readonly #handler: FrameHandler;
  /** Largest payload accepted; a bigger length is a FRAME_SIZE_ERROR before any byte of it is kept. */
  maxPayloadBytes: number;
  #parts: Buffer[] = [];
  #partBytes = 0;
  /** Bytes needed before the gathered parts can yield a frame. */
  #need = HEADER_BYTES;
  #stopped = false;

  constructor(handler: FrameHandler, maxPayloadBytes: number) {
    this.#handler = handler;
    this.maxPayloadBytes = maxPayloadBytes;
  }

  /** Whether bytes of an incomplete frame are waiting. */
  get partial(): boolean {
    return this.#partBytes > 0;
  }

  /** Stops handing out frames, for good (the connection is closing). */
  stop(): void {
    this.#stopped = true;
    this.#parts = [];
    this.#partBytes = 0;
  }

  /** Feeds received bytes; throws ProtocolError on a frame that is too long. */
  push(chunk: Buffer): void {
    if (this.#stopped) return;
    let buf = chunk;
    if (this.#partBytes > 0) {
      this.#parts.push(chunk);
      this.#partBytes += chunk.length;
      if (this.#partBytes < this.#need) return;
      buf = Buffer.concat(this.#parts, this.#partBytes);
      this.#parts = [];
      this.#partBytes = 0;
    }
    const end = buf.length;
    let offset = 0;
    while (end - offset >= HEADER_BYTES) {
      const length = u32(buf, offset);
      if (length > this.maxPayloadBytes) throw this.#tooLong(length);
      const frameEnd = offset + HEADER_BYTES + length;
      if (frameEnd > end) break;
      this.#handler.onFrame(
        buf[offset + 4]!,
        buf[offset + 5]!,
        u32(buf, offset + 6),
        buf,
        offset + HEADER_BYTES,
        frameEnd,
      );
      if (this.#stopped) return;
      offset = frameEnd;
    }
    if (offset < end) {
      const rest = offset === 0 ? buf : buf.subarray(offset);
      this.#parts.push(rest);
      this.#partBytes = rest.length;
      this.#need = rest.length >= HEADER_BYTES ? HEADER_BYTES + rest.readUInt32BE(0) : HEADER_BYTES;
    }
  }

  #tooLong(length: number): ProtocolError {
    this.stop();
    return new ProtocolError(
      GoawayCode.FRAME_SIZE_ERROR,
      `frame payload of ${length} bytes is over the limit of ${this.maxPayloadBytes}`,
    );
  }
}
