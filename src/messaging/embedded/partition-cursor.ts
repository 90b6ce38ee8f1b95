/**
 * One consumer group's reader of one partition: where it reads next, the messages it holds
 * (read and not yet settled: queued, in flight, waiting for a redelivery or a dead letter),
 * and the order of each key. Messages are read in batches, and only while the group holds
 * less than half its limit, so memory stays bounded and reads stay large.
 *
 * The low-water mark is the first offset not yet settled: everything below it is done, so it
 * is what the group commits, and where it restarts after a crash.
 */
import { type LogRecord, OffsetOutOfRangeError, type SegmentLog } from '../log/index.ts';
import type { StoredMessage } from '../memory/topic.ts';
import { decodeEnvelope } from './envelope.ts';
import { Queue } from './queue.ts';

/** A message read by a group: what its deliveries carry, and where it came from. */
export interface HeldMessage extends StoredMessage {
  /** `seq` is the offset in the partition. */
  readonly cursor: PartitionCursor;
  readonly bytes: number;
  /** Deliveries so far, in this group, since this broker opened. */
  attempts: number;
}

/** What a cursor needs from its group. */
export interface CursorHost {
  /** False while the group has no members (nothing is read for it) or is closed. */
  readonly active: boolean;
  readonly limits: { readonly messages: number; readonly bytes: number };
  /** A message that may be delivered now: no earlier message of its key is unsettled. */
  offer(message: HeldMessage): void;
  /** The low-water mark moved without a settlement (a reset past deleted records). */
  moved(): void;
  failed(err: Error): void;
}

const MAX_READ_BYTES = 1 << 20;
const RETRY_AFTER_ERROR_MS = 1000;

export class PartitionCursor {
  /** The offset of the next record to read. */
  readPos: number;
  /** The low-water mark last made durable. */
  committed: number;
  /** Held messages by offset; insertion order is offset order, so the first is the low-water mark. */
  readonly #held = new Map<number, HeldMessage>();
  #bytes = 0;
  /** key → messages waiting behind the key's unsettled one (null: none waiting). */
  readonly #keys = new Map<string, Queue<HeldMessage> | null>();
  #fetching = false;
  #again = false;
  #pausedUntil = 0;

  constructor(
    readonly partition: number,
    readonly log: SegmentLog,
    start: number,
    readonly host: CursorHost,
  ) {
    this.readPos = start;
    this.committed = start;
  }

  get lowWater(): number {
    for (const offset of this.#held.keys()) return offset;
    return this.readPos;
  }

  /** Reads what there is to read, if the group has room; cheap to call on every append. */
  wake(): void {
    if (this.#fetching) {
      this.#again = true;
      return;
    }
    if (!this.#wantsMore()) return;
    this.#fetching = true;
    void this.#fetch().finally(() => {
      this.#fetching = false;
      if (this.#again) {
        this.#again = false;
        this.wake();
      }
    });
  }

  /** A held message is done (acked, dead-lettered, dropped): its key's next message may go. */
  settle(message: HeldMessage): void {
    if (!this.#held.delete(message.seq)) return;
    this.#bytes -= message.bytes;
    const key = message.key;
    if (key !== undefined) {
      const next = this.#keys.get(key)?.shift();
      if (next) this.host.offer(next);
      else this.#keys.delete(key);
    }
    this.wake();
  }

  #wantsMore(): boolean {
    const { messages, bytes } = this.host.limits;
    return (
      this.host.active &&
      this.readPos < this.log.endOffset &&
      this.#held.size <= messages / 2 &&
      this.#bytes <= bytes / 2 &&
      Date.now() >= this.#pausedUntil
    );
  }

  async #fetch(): Promise<void> {
    while (this.#wantsMore()) {
      const { messages, bytes } = this.host.limits;
      let records: LogRecord[];
      try {
        records = await this.log.read(this.readPos, {
          maxRecords: messages - this.#held.size,
          maxBytes: Math.min(MAX_READ_BYTES, bytes - this.#bytes),
        });
      } catch (err) {
        if (err instanceof OffsetOutOfRangeError && this.#clamp(err)) continue;
        if (!this.host.active) return; // closing: the log may be closed under the read
        this.host.failed(err as Error);
        this.#pausedUntil = Date.now() + RETRY_AFTER_ERROR_MS;
        setTimeout(() => this.wake(), RETRY_AFTER_ERROR_MS).unref();
        return;
      }
      for (const record of records) this.#take(record);
    }
  }

  /**
   * After retention deleted records below the read position (or a crash under fsync 'never'
   * lost some beyond it): moves to the nearest offset the log holds. True when it moved.
   */
  #clamp(err: OffsetOutOfRangeError): boolean {
    const before = this.readPos;
    this.readPos = Math.min(Math.max(this.readPos, err.startOffset), err.endOffset);
    if (this.readPos === before) return false;
    this.host.moved();
    return true;
  }

  #take(record: LogRecord): void {
    const envelope = decodeEnvelope(record.value);
    // A copy, so a held message does not keep the whole read buffer alive; Buffer.from copies
    // into pooled memory, much cheaper than an ArrayBuffer of its own per message.
    const payload = Buffer.from(envelope?.payload ?? record.value);
    const k = record.key;
    const message: HeldMessage = {
      seq: record.offset,
      // A record appended by another writer has no envelope: it is named by its position.
      id: envelope?.id ?? `${this.partition}:${record.offset}`,
      key: k === null ? undefined : Buffer.from(k.buffer, k.byteOffset, k.byteLength).toString('utf8'),
      headers: Object.freeze(record.headers),
      payload,
      cursor: this,
      bytes: payload.length,
      attempts: 0,
    };
    this.readPos = record.offset + 1;
    this.#held.set(record.offset, message);
    this.#bytes += message.bytes;
    const key = message.key;
    if (key === undefined || !this.#keys.has(key)) {
      if (key !== undefined) this.#keys.set(key, null); // it holds its key from now on
      this.host.offer(message);
      return;
    }
    let waiting = this.#keys.get(key);
    if (!waiting) {
      waiting = new Queue();
      this.#keys.set(key, waiting);
    }
    waiting.push(message);
  }
}
