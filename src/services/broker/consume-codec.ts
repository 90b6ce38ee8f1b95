/**
 * Hand-written codecs for the messages of the Consume stream, the broker's hot path: every
 * delivery is encoded once by the hub and decoded once by the member, and every settle the
 * other way round. Measured against protobufjs (encode with verify) on the messaging benchmark's
 * consume phase, they save CPU on both sides (docs/benchmarks.md#messaging). The wire is
 * broker.proto's: protobufjs reads what these write and the other way round (fields at their
 * default are left out, as proto3 allows). Anything these do not expect (another
 * field, another wire type, a value of the wrong type, bad bytes) goes to protobufjs, which
 * then encodes, decodes or refuses it as it always did.
 */
import type { JsonReadOptions, JsonValue, MessageType } from '../../contract/descriptors.ts';
import { decodeResponse, decodeSettles } from './consume-decode.ts';

type Fields = Record<string, unknown>;

/** Wraps a protobufjs type, replacing its encode and decode with faster ones where they apply. */
abstract class FastMessageType implements MessageType {
  readonly fullName: string;
  readonly fields: MessageType['fields'];

  constructor(readonly base: MessageType) {
    this.fullName = base.fullName;
    this.fields = base.fields;
  }

  protected abstract encodeFast(message: Fields): Uint8Array | undefined;
  protected abstract decodeFast(bytes: Buffer): Fields | undefined;

  encode(message: Fields): Uint8Array {
    return this.encodeFast(message) ?? this.base.encode(message);
  }

  decode(bytes: Uint8Array): Fields {
    const buf = Buffer.isBuffer(bytes)
      ? bytes
      : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return this.decodeFast(buf) ?? this.base.decode(bytes);
  }

  toJson(message: Fields): JsonValue {
    return this.base.toJson(message);
  }

  fromJson(json: unknown, options?: JsonReadOptions): Fields {
    return this.base.fromJson(json, options);
  }

  create(init?: Fields): Fields {
    return this.base.create(init);
  }
}

/** switchboard.broker.v1.ConsumeResponse: `subscribed`, and deliveries. */
export class ConsumeResponseType extends FastMessageType {
  protected encodeFast(message: Fields): Uint8Array | undefined {
    return encodeResponse(message);
  }

  protected decodeFast(bytes: Buffer): Fields | undefined {
    return decodeResponse(bytes);
  }
}

/** switchboard.broker.v1.ConsumeRequest: settles go fast; a subscribe goes to protobufjs. */
export class ConsumeRequestType extends FastMessageType {
  protected encodeFast(message: Fields): Uint8Array | undefined {
    return encodeSettles(message);
  }

  protected decodeFast(bytes: Buffer): Fields | undefined {
    return decodeSettles(bytes);
  }
}

function isUint32(v: unknown): v is number {
  return typeof v === 'number' && v >= 0 && v <= 0xffff_ffff && Number.isInteger(v);
}

function varintSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x20_0000 ? 3 : v < 0x1000_0000 ? 4 : 5;
}

/** Bytes of a length-delimited field of `n` bytes, with its one-byte tag. */
function fieldSize(n: number): number {
  return 1 + varintSize(n) + n;
}

function writeVarint(buf: Buffer, pos: number, v: number): number {
  while (v > 0x7f) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[pos++] = v;
  return pos;
}

/** Writes `s`, known to be `n` bytes of UTF-8, with its tag and length. */
function writeString(buf: Buffer, pos: number, tag: number, s: string, n: number): number {
  buf[pos++] = tag;
  pos = writeVarint(buf, pos, n);
  if (n === s.length && n < 64) {
    // As many bytes as UTF-16 units: all ASCII. A loop beats a call into C++ for short ones.
    for (let i = 0; i < n; i++) buf[pos + i] = s.charCodeAt(i);
  } else {
    buf.write(s, pos, n, 'utf8');
  }
  return pos + n;
}

/** Byte lengths of the strings of one response, so the second pass does not measure again. */
let scratch = new Int32Array(1024);

interface WireDelivery {
  handle: number;
  topic: string;
  id: string;
  key: string | undefined;
  headers: Record<string, string> | undefined;
  payload: Uint8Array;
  attempt: number;
}

/** The delivery as the fast encoder takes it, or undefined when a field is not what it expects. */
function wireDelivery(d: unknown): WireDelivery | undefined {
  if (typeof d !== 'object' || d === null) return undefined;
  const { handle = 0, topic = '', id = '', key, headers, payload, attempt = 0 } = d as Fields;
  if (!isUint32(handle) || !isUint32(attempt)) return undefined;
  if (typeof topic !== 'string' || typeof id !== 'string') return undefined;
  if (key !== undefined && key !== null && typeof key !== 'string') return undefined;
  if (!(payload instanceof Uint8Array || payload === undefined || payload === null)) return undefined;
  if (headers !== undefined && headers !== null) {
    if (typeof headers !== 'object' || Array.isArray(headers)) return undefined;
    for (const name in headers) {
      if (typeof (headers as Fields)[name] !== 'string') return undefined;
    }
  }
  return {
    handle,
    topic,
    id,
    key: key ?? undefined,
    headers: (headers ?? undefined) as Record<string, string> | undefined,
    payload: payload ?? EMPTY,
    attempt,
  };
}

const EMPTY = new Uint8Array(0);

function headersSize(headers: Record<string, string>): number {
  let size = 0;
  for (const name in headers) {
    if (!Object.hasOwn(headers, name)) continue;
    const entry = fieldSize(Buffer.byteLength(name)) + fieldSize(Buffer.byteLength(headers[name]!));
    size += fieldSize(entry);
  }
  return size;
}

function writeHeaders(buf: Buffer, pos: number, headers: Record<string, string>): number {
  for (const name in headers) {
    if (!Object.hasOwn(headers, name)) continue;
    const value = headers[name]!;
    const n = Buffer.byteLength(name);
    const v = Buffer.byteLength(value);
    buf[pos++] = 0x2a; // field 5, length-delimited
    pos = writeVarint(buf, pos, fieldSize(n) + fieldSize(v));
    pos = writeString(buf, pos, 0x0a, name, n);
    pos = writeString(buf, pos, 0x12, value, v);
  }
  return pos;
}

/**
 * ConsumeResponse in two passes: sizes (kept in `scratch`: delivery, topic, id and key bytes),
 * then one buffer written front to back. Defaults are left out, as proto3 (and protobufjs) do;
 * `key` is written whenever set, being `optional`.
 */
function encodeResponse(message: Fields): Uint8Array | undefined {
  const { subscribed = false, deliveries = [] } = message;
  if (typeof subscribed !== 'boolean' || !Array.isArray(deliveries)) return undefined;
  const count = deliveries.length;
  if (scratch.length < count * 4) scratch = new Int32Array(count * 4);
  const wire: WireDelivery[] = new Array(count);
  let total = subscribed ? 2 : 0;
  let lastTopic = '';
  let lastTopicBytes = 0;
  for (let i = 0; i < count; i++) {
    const d = wireDelivery(deliveries[i]);
    if (!d) return undefined;
    wire[i] = d;
    if (d.topic !== lastTopic) {
      lastTopic = d.topic;
      lastTopicBytes = Buffer.byteLength(d.topic);
    }
    const idBytes = Buffer.byteLength(d.id);
    const keyBytes = d.key === undefined ? -1 : Buffer.byteLength(d.key);
    let size = 0;
    if (d.handle !== 0) size += 1 + varintSize(d.handle);
    if (lastTopicBytes > 0) size += fieldSize(lastTopicBytes);
    if (idBytes > 0) size += fieldSize(idBytes);
    if (keyBytes >= 0) size += fieldSize(keyBytes);
    if (d.headers) size += headersSize(d.headers);
    if (d.payload.length > 0) size += fieldSize(d.payload.length);
    if (d.attempt !== 0) size += 1 + varintSize(d.attempt);
    scratch[i * 4] = size;
    scratch[i * 4 + 1] = lastTopicBytes;
    scratch[i * 4 + 2] = idBytes;
    scratch[i * 4 + 3] = keyBytes;
    total += fieldSize(size);
  }
  const buf = Buffer.allocUnsafe(total);
  let pos = 0;
  if (subscribed) {
    buf[pos++] = 0x08; // field 1, varint
    buf[pos++] = 1;
  }
  for (let i = 0; i < count; i++) {
    const d = wire[i]!;
    buf[pos++] = 0x12; // field 2, length-delimited
    pos = writeVarint(buf, pos, scratch[i * 4]!);
    if (d.handle !== 0) {
      buf[pos++] = 0x08;
      pos = writeVarint(buf, pos, d.handle);
    }
    const topicBytes = scratch[i * 4 + 1]!;
    if (topicBytes > 0) pos = writeString(buf, pos, 0x12, d.topic, topicBytes);
    const idBytes = scratch[i * 4 + 2]!;
    if (idBytes > 0) pos = writeString(buf, pos, 0x1a, d.id, idBytes);
    const keyBytes = scratch[i * 4 + 3]!;
    if (keyBytes >= 0) pos = writeString(buf, pos, 0x22, d.key!, keyBytes);
    if (d.headers) pos = writeHeaders(buf, pos, d.headers);
    if (d.payload.length > 0) {
      buf[pos++] = 0x32;
      pos = writeVarint(buf, pos, d.payload.length);
      buf.set(d.payload, pos);
      pos += d.payload.length;
    }
    if (d.attempt !== 0) {
      buf[pos++] = 0x38;
      pos = writeVarint(buf, pos, d.attempt);
    }
  }
  return buf;
}

/** ConsumeRequest carrying settles only (what a member sends after subscribing). */
function encodeSettles(message: Fields): Uint8Array | undefined {
  const { subscribe, settles = [] } = message;
  if ((subscribe !== undefined && subscribe !== null) || !Array.isArray(settles)) return undefined;
  let total = 0;
  const sizes: number[] = new Array(settles.length);
  for (let i = 0; i < settles.length; i++) {
    const s = settles[i] as Fields | null;
    if (typeof s !== 'object' || s === null) return undefined;
    const { handle = 0, outcome = 0, delayMs = 0, reason = '' } = s;
    if (!isUint32(handle) || !isUint32(delayMs) || typeof reason !== 'string') return undefined;
    // Outcome values are small and positive; anything else is left to protobufjs.
    if (!(typeof outcome === 'number' && Number.isInteger(outcome) && outcome >= 0 && outcome < 0x80))
      return undefined;
    let size = 0;
    if (handle !== 0) size += 1 + varintSize(handle);
    if (outcome !== 0) size += 2;
    if (delayMs !== 0) size += 1 + varintSize(delayMs);
    if (reason !== '') size += fieldSize(Buffer.byteLength(reason));
    sizes[i] = size;
    total += fieldSize(size);
  }
  const buf = Buffer.allocUnsafe(total);
  let pos = 0;
  for (let i = 0; i < settles.length; i++) {
    const { handle = 0, outcome = 0, delayMs = 0, reason = '' } = settles[i] as Fields;
    buf[pos++] = 0x12; // field 2, length-delimited
    pos = writeVarint(buf, pos, sizes[i]!);
    if (handle !== 0) {
      buf[pos++] = 0x08;
      pos = writeVarint(buf, pos, handle as number);
    }
    if (outcome !== 0) {
      buf[pos++] = 0x10;
      buf[pos++] = outcome as number;
    }
    if (delayMs !== 0) {
      buf[pos++] = 0x18;
      pos = writeVarint(buf, pos, delayMs as number);
    }
    if (reason !== '')
      pos = writeString(buf, pos, 0x22, reason as string, Buffer.byteLength(reason as string));
  }
  return buf;
}
