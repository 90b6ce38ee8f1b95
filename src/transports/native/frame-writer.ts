import type { StatusDetail } from '../../contract/errors.ts';
import type { Metadata } from '../../contract/metadata.ts';
import { putU16, putU32 } from './bytes.ts';
import {
  FrameType,
  HEADER_BYTES,
  MAGIC,
  PROTOCOL_VERSION,
  RequestFlag,
  Setting,
  StatusFlag,
} from './frame.ts';
import { metadataBlockBytes, writeMetadataBlock } from './metadata-block.ts';

/**
 * Frames are encoded straight into slabs of this size; a flush hands out what was written. Big
 * enough for a batch of small frames, small enough that 1,000 idle connections cost little
 * (and a connection gets its first slab only when it writes).
 */
const SLAB_BYTES = 16 * 1024;
const FIRST_SLAB_BYTES = 512;
const NO_SLAB = Buffer.alloc(0);
/** Messages at least this big are queued as their own chunk rather than copied into the slab. */
const COPY_LIMIT = 16 * 1024;

/** What a peer announces in its HELLO. */
export interface Settings {
  maxMessageBytes: number;
  maxConcurrentStreams: number;
  initialWindowBytes: number;
  maxMetadataBytes: number;
}

/**
 * Encodes frames into a growing list of chunks. Frames are laid out directly in a shared slab
 * (no per-frame allocation); `takeChunks` hands the bytes over, in order, ready for a writev.
 */
export class FrameWriter {
  #slab: Buffer = NO_SLAB;
  /** First byte of the slab not yet handed out. */
  #start = 0;
  #pos = 0;
  #chunks: Uint8Array[] = [];
  #chunkBytes = 0;

  /** Bytes written and not yet taken. */
  get pendingBytes(): number {
    return this.#chunkBytes + this.#pos - this.#start;
  }

  /** Hands over everything written so far, in order; the slab region handed out is never reused. */
  takeChunks(): Uint8Array[] {
    this.#cutSegment();
    const chunks = this.#chunks;
    this.#chunks = [];
    this.#chunkBytes = 0;
    return chunks;
  }

  /** Everything written so far as one buffer (tests and tools). */
  take(): Buffer {
    const chunks = this.takeChunks();
    return Buffer.concat(chunks);
  }

  /** Called after each frame: the socket writer schedules its flush here. */
  protected written(): void {}

  hello(settings: Settings): void {
    const length = MAGIC.length + 2 + 4 * 6;
    const slab = this.#reserve(HEADER_BYTES + length);
    let pos = this.#header(slab, FrameType.HELLO, 0, 0, length);
    slab.set(MAGIC, pos);
    pos += MAGIC.length;
    slab[pos++] = PROTOCOL_VERSION;
    slab[pos++] = 0;
    pos = setting(slab, pos, Setting.MAX_MESSAGE_BYTES, settings.maxMessageBytes);
    pos = setting(slab, pos, Setting.MAX_CONCURRENT_STREAMS, settings.maxConcurrentStreams);
    pos = setting(slab, pos, Setting.INITIAL_WINDOW_BYTES, settings.initialWindowBytes);
    pos = setting(slab, pos, Setting.MAX_METADATA_BYTES, settings.maxMetadataBytes);
    this.#commit(pos);
  }

  /**
   * REQUEST: [u16 method id][u16 path length, path if METHOD_PATH][u32 timeout ms]
   * [metadata block][message if HAS_MESSAGE].
   */
  request(
    streamId: number,
    methodId: number,
    path: Buffer | undefined,
    timeoutMs: number,
    metadata: Metadata | undefined,
    message: Uint8Array | undefined,
  ): void {
    const metadataBytes = metadataBlockBytes(metadata);
    const messageBytes = message ? message.length : 0;
    const fixed = 2 + (path ? 2 + path.length : 0) + 4 + metadataBytes;
    const inline = messageBytes < COPY_LIMIT;
    const slab = this.#reserve(HEADER_BYTES + fixed + (inline ? messageBytes : 0));
    const flags = (path ? RequestFlag.METHOD_PATH : 0) | (message ? RequestFlag.HAS_MESSAGE : 0);
    let pos = this.#header(slab, FrameType.REQUEST, flags, streamId, fixed + messageBytes);
    putU16(slab, pos, methodId);
    pos += 2;
    if (path) {
      putU16(slab, pos, path.length);
      slab.set(path, pos + 2);
      pos += 2 + path.length;
    }
    putU32(slab, pos, timeoutMs);
    pos = writeMetadataBlock(slab, pos + 4, metadata);
    this.#finish(pos, message, inline);
  }

  /** MESSAGE: the message bytes. */
  message(streamId: number, message: Uint8Array): void {
    const inline = message.length < COPY_LIMIT;
    const slab = this.#reserve(HEADER_BYTES + (inline ? message.length : 0));
    const pos = this.#header(slab, FrameType.MESSAGE, 0, streamId, message.length);
    this.#finish(pos, message, inline);
  }

  /** END: no payload; the client sends no more messages on the stream. */
  end(streamId: number): void {
    this.#empty(FrameType.END, streamId);
  }

  /** HEADERS: a metadata block. */
  headers(streamId: number, headers: Metadata): void {
    const length = metadataBlockBytes(headers);
    const slab = this.#reserve(HEADER_BYTES + length);
    const pos = this.#header(slab, FrameType.HEADERS, 0, streamId, length);
    this.#commit(writeMetadataBlock(slab, pos, headers));
  }

  /**
   * STATUS: [u8 code][u32 length, message UTF-8][headers block if HAS_HEADERS][trailers block]
   * [u16 detail count, each: u16 length, type URL, u32 length, value][response if HAS_MESSAGE].
   */
  status(
    streamId: number,
    code: number,
    message: string,
    headers: Metadata | undefined,
    trailers: Metadata | undefined,
    details: readonly StatusDetail[] | undefined,
    response: Uint8Array | undefined,
  ): void {
    const text = message.length === 0 ? 0 : Buffer.byteLength(message);
    const withHeaders = headers !== undefined && headers.size > 0;
    let detailBytes = 2;
    if (details)
      for (const d of details) detailBytes += 2 + Buffer.byteLength(d.typeUrl) + 4 + d.value.length;
    const fixed =
      1 +
      4 +
      text +
      (withHeaders ? metadataBlockBytes(headers) : 0) +
      metadataBlockBytes(trailers) +
      detailBytes;
    const responseBytes = response ? response.length : 0;
    const inline = responseBytes < COPY_LIMIT;
    const slab = this.#reserve(HEADER_BYTES + fixed + (inline ? responseBytes : 0));
    const flags = (response ? StatusFlag.HAS_MESSAGE : 0) | (withHeaders ? StatusFlag.HAS_HEADERS : 0);
    let pos = this.#header(slab, FrameType.STATUS, flags, streamId, fixed + responseBytes);
    slab[pos] = code;
    putU32(slab, pos + 1, text);
    pos += 5;
    if (text > 0) pos += slab.write(message, pos, 'utf8');
    if (withHeaders) pos = writeMetadataBlock(slab, pos, headers);
    pos = writeMetadataBlock(slab, pos, trailers);
    putU16(slab, pos, details ? details.length : 0);
    pos += 2;
    if (details) {
      for (const d of details) {
        const n = slab.write(d.typeUrl, pos + 2, 'utf8');
        putU16(slab, pos, n);
        pos += 2 + n;
        putU32(slab, pos, d.value.length);
        slab.set(d.value, pos + 4);
        pos += 4 + d.value.length;
      }
    }
    this.#finish(pos, response, inline);
  }

  /** CANCEL: [u8 status code] why the client gave up (CANCELLED or DEADLINE_EXCEEDED). */
  cancel(streamId: number, code: number): void {
    const slab = this.#reserve(HEADER_BYTES + 1);
    const pos = this.#header(slab, FrameType.CANCEL, 0, streamId, 1);
    slab[pos] = code;
    this.#commit(pos + 1);
  }

  /** WINDOW: [u32 bytes] more credit for messages on the stream. */
  window(streamId: number, bytes: number): void {
    const slab = this.#reserve(HEADER_BYTES + 4);
    const pos = this.#header(slab, FrameType.WINDOW, 0, streamId, 4);
    putU32(slab, pos, bytes);
    this.#commit(pos + 4);
  }

  /** PING and PONG: 8 opaque bytes, echoed back. */
  ping(type: typeof FrameType.PING | typeof FrameType.PONG, data: Uint8Array): void {
    const slab = this.#reserve(HEADER_BYTES + 8);
    const pos = this.#header(slab, type, 0, 0, 8);
    slab.fill(0, pos, pos + 8);
    slab.set(data.subarray(0, 8), pos);
    this.#commit(pos + 8);
  }

  /** GOAWAY: [u32 last stream id][u8 code][u16 length, reason UTF-8]. */
  goaway(lastStreamId: number, code: number, reason: string): void {
    const text = Buffer.from(reason.slice(0, 1000), 'utf8');
    const length = 4 + 1 + 2 + text.length;
    const slab = this.#reserve(HEADER_BYTES + length);
    let pos = this.#header(slab, FrameType.GOAWAY, 0, 0, length);
    putU32(slab, pos, lastStreamId);
    slab[pos + 4] = code;
    putU16(slab, pos + 5, text.length);
    pos += 7;
    slab.set(text, pos);
    this.#commit(pos + text.length);
  }

  /** A frame of any type with a raw payload (tests, and frames this writer has no method for). */
  raw(type: number, flags: number, streamId: number, payload: Uint8Array): void {
    const slab = this.#reserve(HEADER_BYTES + payload.length);
    const pos = this.#header(slab, type, flags, streamId, payload.length);
    slab.set(payload, pos);
    this.#commit(pos + payload.length);
  }

  #empty(type: number, streamId: number): void {
    const slab = this.#reserve(HEADER_BYTES);
    this.#commit(this.#header(slab, type, 0, streamId, 0));
  }

  #header(slab: Buffer, type: number, flags: number, streamId: number, length: number): number {
    const pos = this.#pos;
    putU32(slab, pos, length);
    slab[pos + 4] = type;
    slab[pos + 5] = flags;
    putU32(slab, pos + 6, streamId);
    return pos + HEADER_BYTES;
  }

  /** Makes room for `bytes` contiguous bytes at #pos and returns the slab to write them into. */
  #reserve(bytes: number): Buffer {
    if (this.#pos + bytes > this.#slab.length) {
      this.#cutSegment();
      // A connection's first slab is small (often it only ever holds a HELLO and some PINGs).
      const size = this.#slab === NO_SLAB ? FIRST_SLAB_BYTES : SLAB_BYTES;
      this.#slab = Buffer.allocUnsafe(Math.max(size, bytes));
      this.#start = 0;
      this.#pos = 0;
    }
    return this.#slab;
  }

  /** Ends a frame whose last part, `message`, is copied (`inline`) or queued as its own chunk. */
  #finish(pos: number, message: Uint8Array | undefined, inline: boolean): void {
    if (message && message.length > 0) {
      if (inline) {
        this.#slab.set(message, pos);
        pos += message.length;
      } else {
        this.#pos = pos;
        this.#cutSegment();
        this.#chunks.push(message);
        this.#chunkBytes += message.length;
        this.written();
        return;
      }
    }
    this.#commit(pos);
  }

  #commit(pos: number): void {
    this.#pos = pos;
    this.written();
  }

  #cutSegment(): void {
    if (this.#pos > this.#start) {
      this.#chunks.push(this.#slab.subarray(this.#start, this.#pos));
      this.#chunkBytes += this.#pos - this.#start;
      this.#start = this.#pos;
    }
  }
}

function setting(slab: Buffer, pos: number, id: number, value: number): number {
  putU16(slab, pos, id);
  putU32(slab, pos + 2, Math.min(Math.max(0, Math.floor(value)), 0xffffffff));
  return pos + 6;
}
