/**
 * One topic of the embedded broker: its partitioned log under `<dir>/topics/<name>`, its
 * dedupe window, and its consumer groups, which are woken when an append makes new records
 * readable (the log lives in this process, so no one polls).
 */
import { randomUUID } from 'node:crypto';
import { access } from 'node:fs/promises';
import path from 'node:path';
import type { OutgoingMessage, PublishReceipt } from '../broker.ts';
import { type CommittedOffset, type OffsetStore, PartitionedLog } from '../log/index.ts';
import { ConsumerGroup, type GroupContext } from './consumer-group.ts';
import { DedupeWindow } from './dedupe-window.ts';
import { encodeEnvelope, FLAG_DEAD_LETTER, FLAG_GENERATED_ID } from './envelope.ts';
import type { LogBrokerSettings } from './options.ts';
import { rebuildDedupe } from './rebuild-dedupe.ts';

export class EmbeddedTopic {
  /** Groups by name, as they are being created (subscribes to a new group may race). */
  readonly #groups = new Map<string, Promise<ConsumerGroup>>();
  /** The groups created, to wake on append. */
  readonly #ready: ConsumerGroup[] = [];

  private constructor(
    readonly name: string,
    readonly log: PartitionedLog,
    readonly dedupe: DedupeWindow,
    readonly offsets: OffsetStore,
    readonly context: GroupContext,
  ) {}

  static async open(
    name: string,
    dir: string,
    offsets: OffsetStore,
    context: GroupContext,
  ): Promise<EmbeddedTopic> {
    const settings: LogBrokerSettings = context.settings;
    // An existing topic keeps the partition count it was created with.
    const exists = await access(path.join(dir, 'topic.json')).then(
      () => true,
      () => false,
    );
    const partitions = exists ? undefined : settings.partitions;
    const log = await PartitionedLog.open(dir, { ...settings.log, partitions, onError: settings.onError });
    const dedupe = new DedupeWindow(settings.dedupeWindowMs, settings.dedupeMaxIds);
    try {
      await rebuildDedupe(log, dedupe, Date.now());
    } catch (err) {
      await log.close();
      throw err;
    }
    return new EmbeddedTopic(name, log, dedupe, offsets, context);
  }

  get groups(): readonly ConsumerGroup[] {
    return this.#ready;
  }

  /** Appends unless the id was published within the dedupe window. */
  async publish(message: OutgoingMessage): Promise<PublishReceipt> {
    const id = message.id;
    if (id === undefined) return this.append(randomUUID(), FLAG_GENERATED_ID, message);
    // A publish of the same id still being appended: its outcome decides.
    for (let pending = this.dedupe.appending(id); pending; pending = this.dedupe.appending(id)) {
      await pending.catch(() => {});
    }
    if (this.dedupe.has(id, Date.now())) return { id, duplicate: true };
    const appended = this.append(id, 0, message);
    this.dedupe.track(id, appended);
    const receipt = await appended;
    this.dedupe.add(id, Date.now());
    return receipt;
  }

  /** Appends without the dedupe check (dead letters: one message may die in several groups). */
  async deadLetter(message: OutgoingMessage): Promise<PublishReceipt> {
    return this.append(message.id ?? randomUUID(), FLAG_DEAD_LETTER, message);
  }

  async append(id: string, flags: number, message: OutgoingMessage): Promise<PublishReceipt> {
    const record = {
      key: message.key === undefined ? null : Buffer.from(message.key, 'utf8'),
      headers: message.headers,
      value: encodeEnvelope(id, flags, message.payload),
    };
    const [placed] = await this.log.append([record]);
    const { partition, offset } = placed!;
    for (const group of this.#ready) group.appended(partition);
    return { id, position: `${partition}:${offset}`, duplicate: false };
  }

  /** The group, created at `startAt` unless it has committed positions. */
  group(name: string, startAt: 'earliest' | 'latest'): Promise<ConsumerGroup> {
    let group = this.#groups.get(name);
    if (!group) {
      group = this.#createGroup(name, startAt);
      this.#groups.set(name, group);
      group.catch(() => this.#groups.delete(name));
    }
    return group;
  }

  async #createGroup(name: string, startAt: 'earliest' | 'latest'): Promise<ConsumerGroup> {
    const starts: number[] = [];
    const fresh: CommittedOffset[] = [];
    for (let partition = 0; partition < this.log.partitions; partition++) {
      const log = this.log.partition(partition);
      const stored = this.offsets.get(name, this.name, partition);
      starts.push(stored ?? (startAt === 'earliest' ? log.startOffset : log.endOffset));
      if (stored === undefined)
        fresh.push({ group: name, topic: this.name, partition, offset: starts.at(-1)! });
    }
    // A new group's start is made durable at once: after a restart, 'latest' would be later.
    if (fresh.length > 0) await this.offsets.commitAll(fresh);
    const group = new ConsumerGroup(this.name, name, this.log, starts, this.context);
    this.#ready.push(group);
    return group;
  }

  async close(): Promise<void> {
    await this.log.close();
  }
}
