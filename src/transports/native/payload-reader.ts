import { getU16, getU32 } from './bytes.ts';
import { protocolError } from './protocol-error.ts';

/**
 * Reads the fields of one frame payload, checking every length against the payload's end:
 * a field that runs past it is a protocol error, never an out-of-bounds read.
 */
export class PayloadReader {
  readonly buf: Buffer;
  pos: number;
  readonly end: number;
  readonly #what: string;

  /** Reads `buf[start, end)`; the whole buffer unless given. */
  constructor(buf: Buffer, what: string, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
    this.#what = what;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  u8(): number {
    this.#need(1);
    return this.buf[this.pos++]!;
  }

  u16(): number {
    this.#need(2);
    const at = this.pos;
    this.pos = at + 2;
    return getU16(this.buf, at);
  }

  u32(): number {
    this.#need(4);
    const at = this.pos;
    this.pos = at + 4;
    return getU32(this.buf, at);
  }

  /** A view of the next `length` bytes (no copy). */
  bytes(length: number): Buffer {
    this.#need(length);
    const view = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return view;
  }

  /** A copy of the next `length` bytes, for values kept beyond the frame (metadata, details). */
  copy(length: number): Uint8Array {
    this.#need(length);
    const out = new Uint8Array(length);
    out.set(this.buf.subarray(this.pos, this.pos + length));
    this.pos += length;
    return out;
  }

  utf8(length: number): string {
    this.#need(length);
    const value = length === 0 ? '' : this.buf.toString('utf8', this.pos, this.pos + length);
    this.pos += length;
    return value;
  }

  latin1(length: number): string {
    this.#need(length);
    const value = this.buf.toString('latin1', this.pos, this.pos + length);
    this.pos += length;
    return value;
  }

  /** The rest of the payload, as a view. */
  rest(): Buffer {
    const view = this.buf.subarray(this.pos, this.end);
    this.pos = this.end;
    return view;
  }

  #need(length: number): void {
    if (this.pos + length > this.end) {
      throw protocolError(
        `truncated ${this.#what} frame (needs ${length} more bytes, has ${this.end - this.pos})`,
      );
    }
  }
}
