/**
 * The message headers Switchboard reads and writes besides the CloudEvents attributes
 * (cloudevents.ts) and the W3C trace context (`traceparent`, `tracestate`, `baggage`).
 */

/** The data's media type: `application/protobuf`, `application/json` or `application/cloudevents+json`. */
export const CONTENT_TYPE = 'content-type';
/** Absolute deadline, epoch milliseconds: a message read after it is dead-lettered, not run. */
export const DEADLINE_HEADER = 'x-switchboard-deadline';
/** Request/reply: the topic the reply goes to. */
export const REPLY_TO_HEADER = 'x-switchboard-reply-to';
/** Request/reply: ties a reply to its request. */
export const CORRELATION_ID_HEADER = 'x-switchboard-correlation-id';
/** A command's idempotency key when it is not the message id (requests: the id is the correlation id). */
export const IDEMPOTENCY_KEY_HEADER = 'x-switchboard-idempotency-key';
/** Reply: the gRPC status code as a decimal number, "0" on success. */
export const STATUS_HEADER = 'x-switchboard-status';
/** Reply: the status message, percent-encoded as grpc-message is. */
export const STATUS_MESSAGE_HEADER = 'x-switchboard-status-message';

/**
 * Headers with lower-case names: brokers may keep the case a foreign producer used, and
 * header names are case-insensitive everywhere else. The first of two spellings wins.
 */
export function lowerCaseHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  // No prototype: a foreign header named "__proto__" or "constructor" is just a header.
  const out = Object.create(null) as Record<string, string>;
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (!Object.hasOwn(out, lower)) out[lower] = value;
  }
  return out;
}

/** The media type of a content type, without parameters, in lower case: "application/json". */
export function mediaTypeOf(contentType: string | undefined): string | undefined {
  const media = contentType?.split(';')[0]?.trim().toLowerCase();
  return media === '' ? undefined : media;
}

/** application/json, text/json and any +json type. */
export function isJsonMedia(contentType: string | undefined): boolean {
  const media = mediaTypeOf(contentType);
  if (media === undefined) return false;
  return media === 'application/json' || media === 'text/json' || media.endsWith('+json');
}
