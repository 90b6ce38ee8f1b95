/**
 * Where a topic lives in JetStream. One stream per topic, named `<prefix>_<topic>` and taking
 * one subject, `<prefix>.<topic>`; a group is a durable consumer named after it. Topic and
 * group names are encoded, never rejected for their characters: letters, digits, `_` and `-`
 * stay as they are, every other byte of the UTF-8 name becomes `~XX` (hex), so `orders.dlq`
 * is stream `sb_orders~2Edlq` on subject `sb.orders~2Edlq`. Only a name whose encoding is
 * longer than JetStream's 255 characters is refused, with a TypeError.
 */

/** JetStream's limit on stream and consumer names (they name folders of the file store). */
const MAX_NATS_NAME = 255;

const LITERAL = /^[A-Za-z0-9_-]$/;
const ENCODER = new TextEncoder();

export interface TopicNames {
  /** The JetStream stream holding the topic. */
  stream: string;
  /** The one subject that stream takes: what a foreign NATS client publishes to. */
  subject: string;
}

/** Injective: distinct names never share an encoding (`~` itself is escaped). */
export function encodeName(name: string): string {
  // A lone surrogate encodes as U+FFFD, so two such names would share a stream.
  if (/\p{Cs}/u.test(name)) throw new TypeError(`name "${name}" is not well-formed UTF-16`);
  let out = '';
  for (const char of name) {
    if (LITERAL.test(char)) {
      out += char;
      continue;
    }
    for (const byte of ENCODER.encode(char)) out += `~${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** A prefix of stream names and subjects: letters, digits, `_` and `-` only. */
export function validatePrefix(prefix: unknown): string {
  if (typeof prefix !== 'string' || !/^[A-Za-z0-9_-]{1,32}$/.test(prefix)) {
    throw new TypeError('streamPrefix must be 1-32 letters, digits, "_" or "-"');
  }
  return prefix;
}

export function topicNames(prefix: string, topic: string): TopicNames {
  const encoded = encodeName(topic);
  const stream = `${prefix}_${encoded}`;
  if (stream.length > MAX_NATS_NAME) {
    throw new TypeError(
      `topic "${topic.slice(0, 40)}…" is too long for NATS: its stream name would have ${stream.length} characters (at most ${MAX_NATS_NAME})`,
    );
  }
  return { stream, subject: `${prefix}.${encoded}` };
}

/** The durable consumer of a group. */
export function consumerName(group: string): string {
  const name = encodeName(group);
  if (name.length > MAX_NATS_NAME) {
    throw new TypeError(
      `group "${group.slice(0, 40)}…" is too long for NATS: its consumer name would have ${name.length} characters (at most ${MAX_NATS_NAME})`,
    );
  }
  return name;
}
