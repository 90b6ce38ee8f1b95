/**
 * The state one in-process broker holds: its topics. Several MemoryBroker clients may share
 * one state, as several processes share one real broker.
 */
import type { OutgoingMessage } from '../broker.ts';
import { MemoryTopic, type TopicLimits } from './topic.ts';

export class MemoryBrokerState {
  readonly #topics = new Map<string, MemoryTopic>();
  readonly #limits: TopicLimits;

  constructor(limits: Partial<TopicLimits> = {}) {
    this.#limits = { retainMessages: 10_000, dedupeWindowMs: 120_000, ...limits };
  }

  get topics(): IterableIterator<MemoryTopic> {
    return this.#topics.values();
  }

  topic(name: string): MemoryTopic {
    let topic = this.#topics.get(name);
    if (!topic) {
      topic = new MemoryTopic(name, this.#limits, (to: string, message: OutgoingMessage) => {
        this.topic(to).append(message, false);
      });
      this.#topics.set(name, topic);
    }
    return topic;
  }
}
