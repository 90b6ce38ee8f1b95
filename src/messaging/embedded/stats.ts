import type { BrokerStats, TopicStats } from '../broker.ts';
import type { EmbeddedTopic } from './topic.ts';

/**
 * What the embedded broker holds, for the topics opened since it started: published is the
 * sum of the partitions' end offsets (records ever appended, retention does not lower it); a
 * group's lag is, per partition, the end offset less its low-water mark (the first record it
 * has not settled), so messages read and in flight still count until settled.
 */
export function embeddedStats(topics: Iterable<EmbeddedTopic>): BrokerStats {
  const result: TopicStats[] = [];
  for (const topic of topics) {
    let published = 0;
    for (let partition = 0; partition < topic.log.partitions; partition++) {
      published += topic.log.partition(partition).endOffset;
    }
    const groups = topic.groups.map((group) => {
      let lag = 0;
      for (const cursor of group.cursors) lag += Math.max(0, cursor.log.endOffset - cursor.lowWater);
      return { name: group.name, lag, deadLettered: group.deadLettered };
    });
    result.push({ name: topic.name, published, groups });
  }
  return { topics: result };
}
