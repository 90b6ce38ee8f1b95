/**
 * A message as the fields of one stream entry, and back. Switchboard writes, in this order:
 *
 *   i  the message id (utf-8), only when the publisher set one
 *   k  the key, only when the message has one (may be empty)
 *   h  the headers as one JSON object of strings, only when there are any
 *   p  the payload, raw bytes
 *
 * A message without an `i` field is identified by where it is, `<topic>/<entry id>`: unique,
 * and no id to store (an extra field costs both memory in Redis and ~20% of a publish).
 * Entries other producers add (no `p` field) are delivered too: the payload is the `payload`
 * field when there is one, else the first field; every other field becomes a header; there is
 * no key. Decoding never throws: a malformed field gets its default.
 */
import type { OutgoingMessage } from '../broker.ts';

export interface DecodedEntry {
  /** The stream entry id, "<ms>-<seq>": the message's position. */
  readonly entryId: string;
  readonly id: string;
  readonly key: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly payload: Uint8Array;
}

/** The id of a message published without one. */
export function positionId(topic: string, entryId: string): string {
  return `${topic}/${entryId}`;
}

/** The field/value list for XADD. */
export function encodeEntry(message: OutgoingMessage): (string | Buffer)[] {
  const fields: (string | Buffer)[] = message.id === undefined ? [] : ['i', message.id];
  if (message.key !== undefined) fields.push('k', message.key);
  const headers = message.headers ?? {};
  if (Object.keys(headers).length > 0) fields.push('h', JSON.stringify(headers));
  const { payload } = message;
  fields.push('p', Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength));
  return fields;
}

export function decodeEntry(topic: string, entryId: string, fields: readonly Buffer[]): DecodedEntry {
  // Switchboard's one-letter fields, without a string per field name (this runs per message).
  let id: Buffer | undefined;
  let key: Buffer | undefined;
  let headers: Buffer | undefined;
  let payload: Buffer | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i]!;
    if (name.length !== 1) continue;
    const value = fields[i + 1]!;
    // Redis allows repeated field names; the first one counts.
    if (name[0] === 0x70)
      payload ??= value; // p
    else if (name[0] === 0x69)
      id ??= value; // i
    else if (name[0] === 0x6b)
      key ??= value; // k
    else if (name[0] === 0x68) headers ??= value; // h
  }
  if (payload === undefined) return decodeForeign(topic, entryId, fields);
  const text = id?.toString('utf8');
  return {
    entryId,
    id: text ? text : positionId(topic, entryId),
    key: key?.toString('utf8'),
    headers: decodeHeaders(headers),
    payload: view(payload),
  };
}

/** An entry another producer added: see the file comment. */
function decodeForeign(topic: string, entryId: string, fields: readonly Buffer[]): DecodedEntry {
  const values = new Map<string, Buffer>();
  const names: string[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i]!.toString('utf8');
    if (values.has(name)) continue;
    names.push(name);
    values.set(name, fields[i + 1]!);
  }
  const payloadField = values.has('payload') ? 'payload' : names[0];
  const headers: Record<string, string> = {};
  for (const name of names) if (name !== payloadField) headers[name] = values.get(name)!.toString('utf8');
  const payload = payloadField === undefined ? undefined : values.get(payloadField);
  return {
    entryId,
    id: positionId(topic, entryId),
    key: undefined,
    headers,
    payload: payload ? view(payload) : new Uint8Array(0),
  };
}

/** The `h` field; what is not a JSON object of strings is left out. */
function decodeHeaders(raw: Buffer | undefined): Readonly<Record<string, string>> {
  if (raw === undefined) return NO_HEADERS;
  const headers: Record<string, string> = {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    return headers;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return headers;
  for (const [name, value] of Object.entries(parsed)) if (typeof value === 'string') headers[name] = value;
  return headers;
}

/** Shared by the entries without headers, the usual case: one object less per message. */
const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/** A plain Uint8Array over the reply's bytes (no copy), as the Delivery type promises. */
function view(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}
