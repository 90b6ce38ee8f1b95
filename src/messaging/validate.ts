/**
 * Checks on what callers hand the broker. A malformed topic or message is a programming error,
 * so it fails with a TypeError before anything is published or subscribed.
 */
import type { OutgoingMessage, SubscribeOptions } from './broker.ts';

const MAX_NAME = 249; // Kafka's limit, the strictest of the backends

export function validateName(what: string, name: unknown): string {
  if (typeof name !== 'string' || name.length === 0)
    throw new TypeError(`${what} must be a non-empty string`);
  if (name.length > MAX_NAME) throw new TypeError(`${what} is longer than ${MAX_NAME} characters`);
  if (/[\s*>]/.test(name)) throw new TypeError(`${what} "${name}" contains whitespace or a wildcard`);
  return name;
}

/**
 * A validated copy: the caller may reuse its buffer once publish returns. `copyPayload: false`
 * keeps the caller's bytes, for adapters whose client has encoded them before publish resolves
 * (the copy costs about 2 µs per KiB).
 */
export function validateMessage(message: unknown, options: { copyPayload?: boolean } = {}): OutgoingMessage {
  if (typeof message !== 'object' || message === null) throw new TypeError('message must be an object');
  const { id, key, headers, payload } = message as Record<string, unknown>;
  if (!(payload instanceof Uint8Array)) throw new TypeError('message.payload must be a Uint8Array');
  if (id !== undefined && (typeof id !== 'string' || id.length === 0)) {
    throw new TypeError('message.id must be a non-empty string when set');
  }
  if (key !== undefined && typeof key !== 'string')
    throw new TypeError('message.key must be a string when set');
  const copied: Record<string, string> = {};
  if (headers !== undefined) {
    if (typeof headers !== 'object' || headers === null)
      throw new TypeError('message.headers must be an object');
    for (const [name, value] of Object.entries(headers)) {
      if (typeof value !== 'string') throw new TypeError(`message header "${name}" must be a string`);
      copied[name] = value;
    }
  }
  return {
    id,
    key,
    headers: copied,
    payload: options.copyPayload === false ? payload : new Uint8Array(payload),
  };
}

export interface ResolvedSubscribeOptions {
  group: string;
  maxInFlight: number;
  startAt: 'earliest' | 'latest';
  maxAttempts: number;
  deadLetterTopic: string | false | undefined;
  ackTimeoutMs: number;
}

function positiveInteger(
  what: string,
  value: unknown,
  fallback: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new TypeError(`${what} must be a positive integer`);
  }
  if (value > max) throw new RangeError(`${what} must be at most ${max}`);
  return value;
}

/**
 * A timer's longest delay, about 24.8 days: setTimeout fires at once for more (a redelivery storm
 * for an ack timeout or a nack delay), so longer waits are refused or shortened to this.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** The defaults of SubscribeOptions (broker.ts), applied and checked. */
export function resolveSubscribeOptions(options: unknown): ResolvedSubscribeOptions {
  if (typeof options !== 'object' || options === null)
    throw new TypeError('subscribe options must be an object');
  const o = options as Partial<SubscribeOptions>;
  if (o.startAt !== undefined && o.startAt !== 'earliest' && o.startAt !== 'latest') {
    throw new TypeError('startAt must be "earliest" or "latest"');
  }
  const dlq = o.deadLetterTopic;
  if (dlq !== undefined && dlq !== false) validateName('deadLetterTopic', dlq);
  return {
    group: validateName('group', o.group),
    maxInFlight: positiveInteger('maxInFlight', o.maxInFlight, 64),
    startAt: o.startAt ?? 'latest',
    maxAttempts: positiveInteger('maxAttempts', o.maxAttempts, 5),
    deadLetterTopic: dlq,
    ackTimeoutMs: positiveInteger('ackTimeoutMs', o.ackTimeoutMs, 30_000, MAX_TIMER_MS),
  };
}
