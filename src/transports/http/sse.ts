import { BodyTooLargeError } from './http-errors.ts';

/**
 * Server-sent events (text/event-stream) as this transport uses them: one `data: <json>` event
 * per response message, and an `event: error` whose data is the status JSON when the stream
 * fails. JSON text never holds a raw newline, so each event has exactly one data line.
 */

export function sseMessage(json: string): string {
  return `data: ${json}\n\n`;
}

export function sseError(json: string): string {
  return `event: error\ndata: ${json}\n\n`;
}

export interface SseEvent {
  event: string;
  data: string;
}

/**
 * Reads events line by line (the lines of a LineSplitter), per the HTML standard's rules. An
 * event's data may span many lines: past `maxEventChars` in all it is RESOURCE_EXHAUSTED, as one
 * long line is for the LineSplitter, so a peer that never ends an event cannot grow it forever.
 */
export class SseParser {
  readonly #max: number;
  #event = '';
  #data: string[] = [];
  #dataChars = 0;

  constructor(maxEventChars = Number.POSITIVE_INFINITY) {
    this.#max = maxEventChars;
  }

  /** The event a line completes (a blank line dispatches), or undefined. */
  line(line: string): SseEvent | undefined {
    if (line === '') {
      if (this.#data.length === 0) {
        this.#event = '';
        return undefined;
      }
      const event = { event: this.#event || 'message', data: this.#data.join('\n') };
      this.#event = '';
      this.#data = [];
      this.#dataChars = 0;
      return event;
    }
    if (line.startsWith(':')) return undefined; // a comment (keep-alive)
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') {
      this.#dataChars += value.length + 1;
      if (this.#dataChars > this.#max) {
        throw new BodyTooLargeError(`a streamed event is larger than ${this.#max} characters`);
      }
      this.#data.push(value);
    } else if (field === 'event') this.#event = value;
    return undefined;
  }

  /** An event left undispatched when the stream ended. */
  end(): SseEvent | undefined {
    return this.line('');
  }
}
