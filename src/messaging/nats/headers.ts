/**
 * A message's id, key and headers in NATS headers, and back. The id travels as `Nats-Msg-Id`
 * (JetStream drops a second publish of one id within the stream's duplicate window), the key as
 * `Switchboard-Key`, the caller's headers under their own names. Names starting with `Nats-`
 * (JetStream acts on them: Nats-Expected-Stream, Nats-Rollup, …) or `Switchboard-` are
 * reserved, so a caller's header is refused rather than let change what the broker does.
 *
 * NATS headers are text lines: a name is printable ASCII without `:`, a value may not hold CR
 * or LF, and the client trims values. So an id, a key or a header value with CR/LF or with
 * whitespace at either end, or a header name outside that alphabet, is a TypeError, as any
 * malformed message is: it would not arrive as it was sent.
 */
import { type MsgHdrs, headers as natsHeaders } from '@nats-io/transport-node';
import type { OutgoingMessage } from '../broker.ts';

export const KEY_HEADER = 'Switchboard-Key';
/** Set on dead letters only: their Nats-Msg-Id is per group, the message's id is kept here. */
export const ID_HEADER = 'Switchboard-Id';
export const MSG_ID_HEADER = 'Nats-Msg-Id';

const RESERVED = /^(nats-|switchboard-)/i;
const HEADER_NAME = /^[\x21-\x39\x3b-\x7e]+$/; // printable ASCII but ':'

/** Checks what validateMessage (validate.ts) leaves open and NATS cannot carry. */
export function assertNatsCarries(message: OutgoingMessage): void {
  if (message.id !== undefined) assertValue('message.id', message.id);
  if (message.key !== undefined) assertValue('message.key', message.key);
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    if (!HEADER_NAME.test(name)) {
      throw new TypeError(`message header "${name}": NATS header names are printable ASCII without ":"`);
    }
    if (RESERVED.test(name)) {
      throw new TypeError(`message header "${name}": names starting with Nats- or Switchboard- are reserved`);
    }
    assertValue(`message header "${name}"`, value);
  }
}

function assertValue(what: string, value: string): void {
  if (/[\r\n]/.test(value)) throw new TypeError(`${what} may not contain CR or LF in NATS`);
  if (value.trim() !== value) throw new TypeError(`${what} may not begin or end with whitespace in NATS`);
}

/**
 * The NATS headers of a validated message (the caller's, the key, and `extra`); undefined when
 * there are none, as the client then builds the one it needs (Nats-Msg-Id) itself.
 */
export function toNatsHeaders(
  message: OutgoingMessage,
  extra?: Readonly<Record<string, string>>,
): MsgHdrs | undefined {
  if (message.key === undefined && extra === undefined && isEmpty(message.headers)) return undefined;
  const h = natsHeaders();
  for (const [name, value] of Object.entries(message.headers ?? {})) h.set(name, value);
  if (message.key !== undefined) h.set(KEY_HEADER, message.key);
  for (const [name, value] of Object.entries(extra ?? {})) h.set(name, value);
  return h;
}

function isEmpty(headers: Readonly<Record<string, string>> | undefined): boolean {
  for (const _ in headers) return false;
  return true;
}

/** What a delivery reports of a stored message's headers. */
export interface DecodedHeaders {
  id: string | undefined;
  key: string | undefined;
  headers: Record<string, string>;
}

/**
 * Tolerant: a message a foreign client published may have no headers, repeated ones (joined
 * with ", "), names we would refuse (dropped), or none of ours.
 * The reserved ones never reach the handler. What comes out can be published again as it is
 * (a dead letter is).
 */
export function fromNatsHeaders(h: MsgHdrs | undefined): DecodedHeaders {
  const decoded: DecodedHeaders = { id: undefined, key: undefined, headers: {} };
  if (!h) return decoded;
  for (const [name, values] of h) {
    if (!HEADER_NAME.test(name)) continue;
    // The client refuses CR and LF in a value, so what it decoded is one line already.
    const value = values.length === 1 ? values[0]! : values.join(', ');
    if (name === ID_HEADER) decoded.id = value;
    else if (name === MSG_ID_HEADER) decoded.id ??= value;
    else if (name === KEY_HEADER) decoded.key = value;
    else if (!RESERVED.test(name)) decoded.headers[name] = value;
  }
  if (decoded.id === '') decoded.id = undefined;
  return decoded;
}

/** A header value made of free text (a dead-letter reason): one line, trimmed, bounded. */
export function oneLine(text: string, max = 1000): string {
  return text
    .replace(/[\r\n]+/g, ' ')
    .trim()
    .slice(0, max);
}
