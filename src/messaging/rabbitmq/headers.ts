/**
 * Switchboard messages in AMQP terms. The id is the `message-id` property; the caller's headers
 * are AMQP headers of the same names, as strings; the adapter's own state travels in `x-sb-*`
 * headers: `x-sb-key` (the key, also the routing key when it fits) and `x-sb-attempts`
 * (deliveries before the message was republished for a retry).
 *
 * RabbitMQ writes headers of its own into dead-lettered and redelivered messages: `x-death` (an
 * array of tables), `x-first-death-*`, `x-last-death-*`, `x-delivery-count`; it acts on `CC` and
 * `BCC`. A publish may not set those names (a TypeError), and a delivery never shows them. Our
 * dead-letter headers `x-death-reason`, `x-death-attempts`, `x-death-topic` and `x-death-group`
 * are other names, plain strings, so the two conventions live side by side.
 *
 * Foreign messages (published by anything else) are taken as they come: no message-id gets a
 * fresh id per delivery, header values that are not strings are turned into text, and a value
 * that cannot be is left out. Decoding never throws.
 */
import { randomUUID } from 'node:crypto';
import type { ConsumeMessage, MessageProperties } from 'amqplib';

export const KEY_HEADER = 'x-sb-key';
export const ATTEMPTS_HEADER = 'x-sb-attempts';

const RESERVED = new Set(['x-death', 'x-delivery-count', 'x-received-from', 'CC', 'BCC']);
const RESERVED_PREFIXES = ['x-sb-', 'x-first-death-', 'x-last-death-'];
const MAX_HEADER_NAME_BYTES = 255;
/** More than any maxAttempts; a larger count in a header is taken as this. */
const MAX_COUNT = 1_000_000;

export function isReservedHeader(name: string): boolean {
  return RESERVED.has(name) || RESERVED_PREFIXES.some((prefix) => name.startsWith(prefix));
}

/** Throws a TypeError for a header name AMQP cannot carry or RabbitMQ or the adapter owns. */
export function assertPublishableHeaders(headers: Readonly<Record<string, string>>): void {
  for (const name of Object.keys(headers)) {
    if (isReservedHeader(name)) {
      throw new TypeError(`message header "${name}" is reserved by RabbitMQ or the RabbitMQ adapter`);
    }
    if (Buffer.byteLength(name) > MAX_HEADER_NAME_BYTES) {
      throw new TypeError(`message header name "${name.slice(0, 40)}…" is longer than 255 bytes`);
    }
  }
}

/** The routing key of a message: its key when AMQP takes it (≤ 255 bytes), else ''. */
export function routingKey(key: string | undefined): string {
  return key !== undefined && Buffer.byteLength(key) <= 255 ? key : '';
}

/** The AMQP headers of a message: the caller's, and the key. */
export function amqpHeaders(
  headers: Readonly<Record<string, string>>,
  key: string | undefined,
): Record<string, string> {
  return key === undefined ? { ...headers } : { ...headers, [KEY_HEADER]: key };
}

/** A header value as text: strings as they are, numbers and booleans printed, bytes as UTF-8. */
export function headerText(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(value);
    case 'object': {
      if (value === null) return undefined;
      if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
      if (value instanceof Date) return value.toISOString();
      // amqplib's typed values, e.g. { '!': 'timestamp', value: 1700000000 }.
      if ('!' in value && 'value' in value) return headerText(value.value);
      try {
        return JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v));
      } catch {
        return undefined;
      }
    }
    default:
      return undefined;
  }
}

/** A delivery count from a header: an integer ≥ 0 (typed as number or text), else 0. */
function countOf(value: unknown): number {
  const text = typeof value === 'number' ? String(value) : headerText(value);
  if (text === undefined || !/^\d{1,15}$/.test(text)) return 0;
  return Math.min(Number(text), MAX_COUNT);
}

export interface DecodedMessage {
  id: string;
  key: string | undefined;
  /** The caller's headers, without RabbitMQ's and the adapter's own. */
  headers: Record<string, string>;
  /** 1 on the first delivery. */
  attempt: number;
}

export function decodeMessage(message: ConsumeMessage): DecodedMessage {
  const raw: Record<string, unknown> = message.properties.headers ?? {};
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (isReservedHeader(name)) continue;
    const text = headerText(value);
    if (text !== undefined) headers[name] = text;
  }
  const messageId = headerText(message.properties.messageId);
  // Quorum queues count returns in x-delivery-count; classic queues only say "redelivered".
  const returns =
    raw['x-delivery-count'] !== undefined
      ? countOf(raw['x-delivery-count'])
      : message.fields.redelivered
        ? 1
        : 0;
  return {
    id: messageId ? messageId : randomUUID(),
    key: headerText(raw[KEY_HEADER]),
    headers,
    attempt: countOf(raw[ATTEMPTS_HEADER]) + returns + 1,
  };
}

/** The properties of a delivered message worth keeping when it is published again. */
export function keptProperties(properties: MessageProperties): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const name of [
    'contentType',
    'contentEncoding',
    'correlationId',
    'replyTo',
    'type',
    'appId',
    'timestamp',
    'priority',
  ] as const) {
    const value: unknown = properties[name];
    if (value !== undefined) kept[name] = value;
  }
  return kept;
}
