import { BodyTooLargeError } from './http-errors.ts';

/**
 * Cuts a byte stream into "\n"-terminated lines (NDJSON, SSE). Works on bytes, so a UTF-8
 * character split across chunks is decoded whole; a trailing "\r" is dropped. A line longer than
 * `maxLineBytes` is RESOURCE_EXHAUSTED: one message may not exceed the message size limit.
 */
export class LineSplitter {
  readonly #max: number;
  #pending: Buffer[] = [];
  #pendingBytes = 0;

  constructor(maxLineBytes: number) {
    this.#max = maxLineBytes;
  }

  /** The complete lines in `chunk` (with what came before it). */
  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, nl);
      if (this.#pendingBytes + piece.length > this.#max) throw this.#tooLong();
      const line = this.#pendingBytes === 0 ? piece : Buffer.concat([...this.#pending, piece]);
      this.#pending = [];
      this.#pendingBytes = 0;
      lines.push(text(line));
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      this.#pendingBytes += rest.length;
      if (this.#pendingBytes > this.#max) throw this.#tooLong();
      this.#pending.push(rest);
    }
    return lines;
  }

  /** The last line when the stream ended without a final "\n", else undefined. */
  end(): string | undefined {
    if (this.#pendingBytes === 0) return undefined;
    const line = text(Buffer.concat(this.#pending));
    this.#pending = [];
    this.#pendingBytes = 0;
    return line;
  }

  #tooLong(): BodyTooLargeError {
    return new BodyTooLargeError(`a streamed message is larger than ${this.#max} bytes`);
  }
}

function text(line: Buffer): string {
  const end = line.length > 0 && line[line.length - 1] === 13 ? line.length - 1 : line.length;
  return line.toString('utf8', 0, end);
}
