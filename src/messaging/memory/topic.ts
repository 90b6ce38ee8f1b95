/**
 * One topic of the in-process broker: the retained messages (for replay), the publish
 * dedupe window, and the consumer groups, each of which gets every appended message.
 */
import { randomUUID } from 'node:crypto';
import type { OutgoingMessage, PublishReceipt } from '../broker.ts';
import { ConsumerGroup, type DeadLetterSink } from './consumer-group.ts';

export interface StoredMessage {
  readonly seq: number;
  readonly id: string;
  readonly key: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly payload: Uint8Array;
}

export interface TopicLimits {
  /** Messages kept for groups that start at 'earliest'. */
  retainMessages: number;
  /** How long a published id is remembered to drop a second publish with that id. */
  dedupeWindowMs: number;
}

export class MemoryTopic {
  readonly #retained: StoredMessage[] = [];
  /** id → when it may be forgotten; insertion order is expiry order (one fixed window). */
  readonly #seen = new Map<string, number>();
  readonly #groups = new Map<string, ConsumerGroup>();
  #nextSeq = 1;

  constructor(
    readonly name: string,
    readonly limits: TopicLimits,
    readonly deadLetter: DeadLetterSink,
  ) {}

  /** `dedupe` is off for dead letters: one message may be dead-lettered by several groups. */
  append(message: OutgoingMessage, dedupe = true): PublishReceipt {
    const now = Date.now();
    for (const [id, expires] of this.#seen) {
      if (expires > now) break;
      this.#seen.delete(id);
    }
    if (dedupe && message.id !== undefined && this.#seen.has(message.id)) {
      return { id: message.id, duplicate: true };
    }
    const stored: StoredMessage = {
      seq: this.#nextSeq++,
      id: message.id ?? randomUUID(),
      key: message.key,
      headers: Object.freeze({ ...message.headers }),
      payload: message.payload,
    };
    if (dedupe) this.#seen.set(stored.id, now + this.limits.dedupeWindowMs);
    this.#retained.push(stored);
    // Trim in batches: one splice per quarter of the limit instead of a shift per publish.
    const excess = this.#retained.length - this.limits.retainMessages;
    if (excess > this.limits.retainMessages / 4) this.#retained.splice(0, excess);
    for (const group of this.#groups.values()) group.offer(stored);
    return { id: stored.id, position: String(stored.seq), duplicate: false };
  }

  /** Messages appended so far (dead letters included, duplicates not). */
  get published(): number {
    return this.#nextSeq - 1;
  }

  get groups(): IterableIterator<ConsumerGroup> {
    return this.#groups.values();
  }

  /** The group, created at `startAt` if it has no position yet (groups outlive their members). */
  group(name: string, startAt: 'earliest' | 'latest'): ConsumerGroup {
    let group = this.#groups.get(name);
    if (!group) {
      group = new ConsumerGroup(this.name, name, this.deadLetter);
      this.#groups.set(name, group);
      if (startAt === 'earliest') {
        const from = Math.max(0, this.#retained.length - this.limits.retainMessages);
        for (const message of this.#retained.slice(from)) group.offer(message);
      }
    }
    return group;
  }
}
