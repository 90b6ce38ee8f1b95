/**
 * The reading half of consume-codec.ts: ConsumeResponse (the member's side) and ConsumeRequest
 * carrying settles (the hub's side), by hand. Each answers undefined for anything it does not
 * expect, and the caller hands those bytes to protobufjs.
 */

import { isUtf8 } from 'node:buffer';

type Fields = Record<string, unknown>;

/**
 * A cursor over one message's bytes. Every read checks the end; `bad` set means the bytes were
 * not what the fast path reads (possibly malformed), and the caller hands them to protobufjs.
 */
class Cursor {
  pos: number;
  bad = false;

  constructor(
    readonly buf: Buffer,
    pos: number,
    readonly end: number,
  ) {
    this.pos = pos;
  }

  /** A varint's low 32 bits, unsigned, as protobufjs reads uint32 (and, signed, enums). */
  varint(): number {
    const { buf, end } = this;
    let value = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (this.pos >= end) break;
      const b = buf[this.pos++]!;
      if (shift < 32) value |= (b & 0x7f) << shift;
      if (b < 0x80) return value >>> 0;
    }
    this.bad = true;
    return 0;
  }

  /** The end of a length-delimited field that starts here. */
  length(): number {
    const n = this.varint();
    const stop = this.pos + n;
    if (stop > this.end) {
      this.bad = true;
      return this.pos;
    }
    return stop;
  }

  string(): string {
    const stop = this.length();
    if (this.bad) return '';
    const s = this.buf.toString('utf8', this.pos, stop);
    // Bad UTF-8 reads as U+FFFD: protobufjs (through our codec) refuses it, so it must decide.
    if (s.includes('\uFFFD') && !isUtf8(this.buf.subarray(this.pos, stop))) this.bad = true;
    this.pos = stop;
    return s;
  }
}

/** The wire types the fast readers take, per field; any other field or type: protobufjs. */
const VARINT = 0;
const LEN = 2;

export function decodeResponse(buf: Buffer): Fields | undefined {
  const c = new Cursor(buf, 0, buf.length);
  let subscribed = false;
  const deliveries: Fields[] = [];
  while (c.pos < c.end && !c.bad) {
    const tag = c.varint();
    if (tag === ((1 << 3) | VARINT)) subscribed = c.varint() !== 0;
    else if (tag === ((2 << 3) | LEN)) {
      const stop = c.length();
      if (c.bad) break;
      const d = decodeDelivery(new Cursor(buf, c.pos, stop));
      if (!d) return undefined;
      deliveries.push(d);
      c.pos = stop;
    } else return undefined;
  }
  return c.bad ? undefined : { subscribed, deliveries };
}

function decodeDelivery(c: Cursor): Fields | undefined {
  const d: Fields = {
    handle: 0,
    topic: '',
    id: '',
    key: null,
    headers: {},
    payload: EMPTY_BUFFER,
    attempt: 0,
  };
  while (c.pos < c.end && !c.bad) {
    const tag = c.varint();
    switch (tag) {
      case (1 << 3) | VARINT:
        d.handle = c.varint();
        break;
      case (2 << 3) | LEN:
        d.topic = c.string();
        break;
      case (3 << 3) | LEN:
        d.id = c.string();
        break;
      case (4 << 3) | LEN:
        d.key = c.string();
        break;
      case (5 << 3) | LEN: {
        const stop = c.length();
        if (c.bad || !readHeader(new Cursor(c.buf, c.pos, stop), d.headers as Fields)) return undefined;
        c.pos = stop;
        break;
      }
      case (6 << 3) | LEN: {
        const stop = c.length();
        if (c.bad) return undefined;
        d.payload = c.buf.subarray(c.pos, stop); // a view, as protobufjs gives
        c.pos = stop;
        break;
      }
      case (7 << 3) | VARINT:
        d.attempt = c.varint();
        break;
      default:
        return undefined;
    }
  }
  return c.bad ? undefined : d;
}

const EMPTY_BUFFER = Buffer.alloc(0);

/** One map entry into `headers`; own properties only, so a header named __proto__ stays a header. */
function readHeader(c: Cursor, headers: Fields): boolean {
  let name = '';
  let value = '';
  while (c.pos < c.end && !c.bad) {
    const tag = c.varint();
    if (tag === ((1 << 3) | LEN)) name = c.string();
    else if (tag === ((2 << 3) | LEN)) value = c.string();
    else return false;
  }
  if (c.bad) return false;
  Object.defineProperty(headers, name, { value, enumerable: true, writable: true, configurable: true });
  return true;
}

export function decodeSettles(buf: Buffer): Fields | undefined {
  const c = new Cursor(buf, 0, buf.length);
  const settles: Fields[] = [];
  while (c.pos < c.end && !c.bad) {
    if (c.varint() !== ((2 << 3) | LEN)) return undefined; // a subscribe, or something else
    const stop = c.length();
    if (c.bad) break;
    const s = decodeSettle(new Cursor(buf, c.pos, stop));
    if (!s) return undefined;
    settles.push(s);
    c.pos = stop;
  }
  return c.bad ? undefined : { subscribe: null, settles };
}

function decodeSettle(c: Cursor): Fields | undefined {
  const s: Fields = { handle: 0, outcome: 0, delayMs: 0, reason: '' };
  while (c.pos < c.end && !c.bad) {
    const tag = c.varint();
    if (tag === ((1 << 3) | VARINT)) s.handle = c.varint();
    else if (tag === ((2 << 3) | VARINT)) s.outcome = c.varint() | 0;
    else if (tag === ((3 << 3) | VARINT)) s.delayMs = c.varint();
    else if (tag === ((4 << 3) | LEN)) s.reason = c.string();
    else return undefined;
  }
  return c.bad ? undefined : s;
}
