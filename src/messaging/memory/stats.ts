import type { BrokerStats } from '../broker.ts';
import type { MemoryBrokerState } from './state.ts';

/** What an in-process broker state holds: every topic, its groups, their lag and dead letters. */
export function memoryStats(state: MemoryBrokerState): BrokerStats {
  const topics = [];
  for (const topic of state.topics) {
    const groups = [];
    for (const group of topic.groups) {
      groups.push({ name: group.name, lag: group.lag, deadLettered: group.deadLettered });
    }
    topics.push({ name: topic.name, published: topic.published, groups });
  }
  return { topics };
}
