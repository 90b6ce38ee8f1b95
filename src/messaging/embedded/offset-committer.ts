/**
 * Writes consumer groups' low-water marks to the OffsetStore in batches: a settlement marks
 * its group, and at most once per `intervalMs` every marked group's moved marks go in one
 * atomic file write. A crash loses at most the last interval's progress, which is redelivered
 * (at least once), never skipped: a mark only covers settled messages.
 */
import type { CommittedOffset, OffsetStore } from '../log/index.ts';
import type { ConsumerGroup } from './consumer-group.ts';
import type { PartitionCursor } from './partition-cursor.ts';

export class OffsetCommitter {
  readonly #dirty = new Set<ConsumerGroup>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(
    readonly store: OffsetStore,
    readonly intervalMs: number,
    readonly onError: (err: Error) => void,
  ) {}

  /** Schedules a commit of `group`'s marks. */
  mark(group: ConsumerGroup): void {
    this.#dirty.add(group);
    if (this.#timer !== undefined || this.#closed) return;
    // Unref'd: a process exiting without close() only loses progress, redelivered later.
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, this.intervalMs);
    this.#timer.unref();
  }

  /** Commits every marked group's moved marks now; resolves once they are durable. */
  async flush(): Promise<void> {
    const groups = [...this.#dirty];
    this.#dirty.clear();
    const commits: CommittedOffset[] = [];
    const moved: [PartitionCursor, number][] = [];
    for (const group of groups) {
      for (const cursor of group.cursors) {
        // Marks only rise, except when a cursor moves back to the log's end because a crash
        // under fsync 'never' lost records it had committed past; that is committed too.
        const offset = cursor.lowWater;
        if (offset === cursor.committed) continue;
        commits.push({ group: group.name, topic: group.topic, partition: cursor.partition, offset });
        moved.push([cursor, offset]);
      }
    }
    if (commits.length === 0) return;
    try {
      await this.store.commitAll(commits);
      for (const [cursor, offset] of moved) cursor.committed = offset;
    } catch (err) {
      this.onError(err as Error);
      for (const group of groups) this.mark(group);
    }
  }

  /** Commits what is marked and stops the timer. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }
}
