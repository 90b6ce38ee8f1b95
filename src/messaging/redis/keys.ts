/**
 * Where the Redis broker keeps things. Every key of one topic carries the topic as a hash tag,
 * `<prefix>{<topic>}`, which delimits the topic name unambiguously (so `a:b` and `a` never
 * share a key) and puts a topic's keys in one cluster slot.
 *
 *   <prefix>{<topic>}                    the stream: one entry per message
 *   <prefix>{<topic>}:dedupe:<id>        string, the entry id of a published message id (TTL)
 *   <prefix>{<topic>}:delayed:<group>    sorted set: entry ids waiting for a retry, score = due ms
 */

import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { validateName } from '../validate.ts';

/**
 * The consumer that holds, in a group's pending list, the entries waiting in the delayed set.
 * No member is named like this, so stuck-message claiming can tell them apart.
 */
export const PARKED_CONSUMER = '~delayed';

export class RedisKeys {
  constructor(readonly prefix: string) {}

  stream(topic: string): string {
    return `${this.prefix}{${topic}}`;
  }

  dedupe(topic: string, id: string): string {
    return `${this.prefix}{${topic}}:dedupe:${id}`;
  }

  delayed(topic: string, group: string): string {
    return `${this.prefix}{${topic}}:delayed:${group}`;
  }
}

/** validateName, plus no braces: they would break the hash tag that delimits the topic. */
export function validateTopic(what: string, topic: unknown): string {
  const name = validateName(what, topic);
  if (/[{}]/.test(name)) throw new TypeError(`${what} "${name}" contains a brace, which Redis keys reserve`);
  return name;
}

/** A name no other subscription has: host, process and a random part. */
export function consumerName(): string {
  return `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}
