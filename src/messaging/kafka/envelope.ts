/**
 * How a Switchboard message sits in a Kafka record, so that any Kafka client reads it plainly:
 * the value is the payload as is, the key is the key (UTF-8), the headers are the headers, and
 * the message id travels in one reserved header, `switchboard-id`. A record without it (from a
 * plain producer) gets the id `<topic>/<partition>/<offset>`, the same on every redelivery.
 */
import type { IHeaders, KafkaMessage, Message } from 'kafkajs';
import type { OutgoingMessage } from '../broker.ts';
import { validateName } from '../validate.ts';

/** The Kafka header that carries the message id; callers may not set it as a header. */
export const ID_HEADER = 'switchboard-id';

/** Kafka's own rule for topic names (besides their length, which validateName checks). */
const LEGAL_TOPIC = /^[A-Za-z0-9._-]+$/;

export function validateTopic(what: string, topic: unknown): string {
  const name = validateName(what, topic);
  if (!LEGAL_TOPIC.test(name) || name === '.' || name === '..') {
    throw new TypeError(`${what} "${name}" is not a legal Kafka topic name (letters, digits, ".", "_", "-")`);
  }
  return name;
}

/** A received record, decoded once and shared by every attempt at it. */
export interface ReceivedMessage {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly id: string;
  readonly key: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly payload: Uint8Array;
}

const utf8 = new TextDecoder(); // not fatal: bytes that are not UTF-8 become U+FFFD

function text(value: Buffer | string): string {
  return typeof value === 'string' ? value : utf8.decode(value);
}

/** The record kafkajs sends for a validated message (headers already copied by validateMessage). */
export function toRecord(id: string, message: OutgoingMessage): Message {
  const headers: IHeaders = { ...message.headers, [ID_HEADER]: id };
  const payload = message.payload;
  return {
    key: message.key === undefined ? null : message.key,
    value: Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength),
    headers,
  };
}

export function assertNoReservedHeader(message: OutgoingMessage): void {
  if (message.headers && Object.hasOwn(message.headers, ID_HEADER)) {
    throw new TypeError(`header "${ID_HEADER}" is reserved for the message id: set message.id instead`);
  }
}

/**
 * Decodes what a broker (or any producer) sent. Nothing here throws: a header repeated takes
 * its last value, as Java's lastHeader() does; a missing value (a tombstone) is an empty payload.
 */
export function fromRecord(topic: string, partition: number, record: KafkaMessage): ReceivedMessage {
  const headers: Record<string, string> = {};
  let id: string | undefined;
  for (const [name, raw] of Object.entries(record.headers ?? {})) {
    if (raw === undefined) continue;
    const last = Array.isArray(raw) ? raw[raw.length - 1] : raw;
    if (last === undefined) continue;
    if (name === ID_HEADER) id = text(last);
    else headers[name] = text(last);
  }
  const offset = Number(record.offset);
  return {
    topic,
    partition,
    offset,
    id: id || `${topic}/${partition}/${offset}`,
    key: record.key === null ? undefined : utf8.decode(record.key),
    headers,
    // A copy, so the fetch response it came in can be freed.
    payload: record.value === null ? new Uint8Array(0) : new Uint8Array(record.value),
  };
}
