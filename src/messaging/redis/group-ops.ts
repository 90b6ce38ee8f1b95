/**
 * What one member of one consumer group asks Redis, as typed calls: read, ack (batched),
 * delay, redeliver, dead-letter, claim and release. The scripts are in scripts.ts.
 */
import type { Redis } from 'ioredis';
import { PARKED_CONSUMER, type RedisKeys } from './keys.ts';
import { asArray, asEntry, asNumber, asText, type RawEntry, readGroupEntries } from './reply.ts';
import { CLAIM_DUE, CLAIM_STUCK, DEAD_LETTER, DELAY, REDELIVER, RELEASE, TRIMMED_UNREAD } from './scripts.ts';

/** An entry handed to this member, with how many times the group has delivered it. */
export interface ClaimedEntry {
  entry: RawEntry;
  count: number;
}

export interface Claims {
  /** Pending entries found deleted from the stream (trimmed) and dropped from the group. */
  lost: number;
  entries: ClaimedEntry[];
}

/** An XACK that failed, with the entry ids it carried: they are still pending. */
export class AckError extends Error {
  constructor(
    readonly entryIds: readonly string[],
    cause: unknown,
  ) {
    super(
      `XACK of ${entryIds.length} entries failed: ${cause instanceof Error ? cause.message : String(cause)}`,
      {
        cause,
      },
    );
    this.name = 'AckError';
  }
}

export class GroupOps {
  readonly stream: string;
  readonly delayed: string;
  #acks: string[] = [];
  #ackFlush: Promise<void> | undefined;

  constructor(
    readonly client: Redis,
    readonly keys: RedisKeys,
    readonly topic: string,
    readonly group: string,
    readonly consumer: string,
    readonly maxLen: number | undefined,
  ) {
    this.stream = keys.stream(topic);
    this.delayed = keys.delayed(topic, group);
  }

  /** Creates the group (and the stream) at `startAt` unless it exists; an existing one keeps its place. */
  async ensureGroup(startAt: 'earliest' | 'latest'): Promise<void> {
    try {
      await this.client.xgroup(
        'CREATE',
        this.stream,
        this.group,
        startAt === 'earliest' ? '0' : '$',
        'MKSTREAM',
      );
    } catch (error) {
      if (!(error instanceof Error && error.message.startsWith('BUSYGROUP'))) throw error;
    }
  }

  /** New entries for this member, waiting up to `blockMs` on the member's own connection. */
  async read(reader: Redis, count: number, blockMs: number): Promise<RawEntry[]> {
    const reply = await reader.callBuffer(
      'XREADGROUP',
      'GROUP',
      this.group,
      this.consumer,
      'COUNT',
      count,
      'BLOCK',
      blockMs,
      'STREAMS',
      this.stream,
      '>',
    );
    return readGroupEntries(reply);
  }

  /** Acks `entryId`; the acks made in one tick go in one XACK. */
  ack(entryId: string): Promise<void> {
    this.#acks.push(entryId);
    this.#ackFlush ??= new Promise<void>((resolve) => process.nextTick(resolve)).then(() => {
      const ids = this.#acks;
      this.#acks = [];
      this.#ackFlush = undefined;
      return this.client.xack(this.stream, this.group, ...ids).then(
        () => {},
        (error: unknown) => {
          throw new AckError(ids, error);
        },
      );
    });
    return this.#ackFlush;
  }

  /** Parks an entry this member owns until `delayMs` from now; false when it is no longer ours. */
  async delay(entryId: string, delayMs: number): Promise<boolean> {
    const args = [this.group, this.consumer, PARKED_CONSUMER, Math.ceil(delayMs), entryId];
    return asNumber(await DELAY.run(this.client, [this.stream, this.delayed], args), 'DELAY') === 1;
  }

  /** Counts one more delivery of entries this member owns; their new counts (the ones still ours). */
  async redeliver(entryIds: readonly string[]): Promise<Map<string, number>> {
    const args = [this.group, this.consumer, '0', ...entryIds];
    const reply = await REDELIVER.run(this.client, [this.stream, this.delayed], args);
    const counts = new Map<string, number>();
    for (const item of asArray(reply, 'REDELIVER')) {
      const [id, count] = asArray(item, 'a redelivered entry');
      counts.set(asText(id, 'an entry id'), asNumber(count, 'a delivery count'));
    }
    return counts;
  }

  /** Like redeliver, with the entries' fields: for entries of this member it lost track of. */
  async recover(entryIds: readonly string[]): Promise<Claims> {
    const args = [this.group, this.consumer, '1', ...entryIds];
    const reply = await REDELIVER.run(this.client, [this.stream, this.delayed], args);
    const claims: Claims = { lost: 0, entries: [] };
    for (const item of asArray(reply, 'REDELIVER')) {
      const [id, count, fields] = asArray(item, 'a recovered entry');
      if (asNumber(count, 'a delivery count') < 0) claims.lost++;
      else claims.entries.push({ entry: asEntry([id, fields]), count: asNumber(count, 'a delivery count') });
    }
    return claims;
  }

  /** Appends the dead letter to `deadTopic` and acks the entry, atomically; false when not ours. */
  async deadLetter(
    entryId: string,
    deadTopic: string,
    fields: readonly (string | Buffer)[],
  ): Promise<boolean> {
    const keys = [this.stream, this.delayed, this.keys.stream(deadTopic)];
    const args = [this.group, this.consumer, this.maxLen ?? 0, entryId, ...fields];
    return asNumber(await DEAD_LETTER.run(this.client, keys, args), 'DEAD_LETTER') === 1;
  }

  /** Claims up to `count` entries whose retry is due. */
  async claimDue(count: number): Promise<Claims> {
    const reply = await CLAIM_DUE.run(
      this.client,
      [this.stream, this.delayed],
      [this.group, this.consumer, count],
    );
    const [lost, entries] = asArray(reply, 'CLAIM_DUE');
    return { lost: asNumber(lost, 'a lost count'), entries: claimedEntries(entries) };
  }

  /**
   * Claims up to `count` entries of other consumers idle for `minIdleMs`, from `cursor`.
   * Also returns this member's own idle entries, which it may have lost track of.
   */
  async claimStuck(
    minIdleMs: number,
    count: number,
    cursor: string,
  ): Promise<Claims & { cursor: string; own: string[] }> {
    const args = [this.group, this.consumer, PARKED_CONSUMER, minIdleMs, cursor, count];
    const reply = await CLAIM_STUCK.run(this.client, [this.stream, this.delayed], args);
    const [next, lost, claimed, own] = asArray(reply, 'CLAIM_STUCK');
    return {
      cursor: asText(next, 'a cursor'),
      lost: asNumber(lost, 'a lost count'),
      entries: claimedEntries(claimed),
      own: asArray(own, 'own idle entries').map((id) => asText(id, 'an entry id')),
    };
  }

  /** Hands everything this member holds to the group (due now) and leaves it. */
  async release(seen: readonly string[]): Promise<number> {
    const args = [this.group, this.consumer, PARKED_CONSUMER, ...seen];
    return asNumber(await RELEASE.run(this.client, [this.stream, this.delayed], args), 'RELEASE');
  }

  /** Entries the group never read that were trimmed, and the stream's first entry id. */
  async trimmedUnread(): Promise<{ lost: number; firstEntry: string }> {
    const reply = await TRIMMED_UNREAD.run(this.client, [this.stream], [this.group]);
    const [lost, first] = asArray(reply, 'TRIMMED_UNREAD');
    return { lost: asNumber(lost, 'a lost count'), firstEntry: asText(first, 'an entry id') };
  }
}

function claimedEntries(reply: unknown): ClaimedEntry[] {
  return asArray(reply, 'claimed entries').map((item) => {
    const [id, count, fields] = asArray(item, 'a claimed entry');
    return { entry: asEntry([id, fields]), count: asNumber(count, 'a delivery count') };
  });
}
