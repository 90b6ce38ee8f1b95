/**
 * Commits a subscription's low-water marks: at most one commit in flight, and at most one per
 * `intervalMs`; what changes meanwhile goes in the next. Under load that is a commit per
 * interval, not one per message (the commits cost the consumer a fifth of its throughput
 * otherwise). An urgent request skips the interval: a pinned start, or the first delivery of the
 * partition's oldest unsettled record, whose count must reach the next owner even if this member
 * dies right away. A failed commit (typically a rebalance in progress) is tried again a second
 * later.
 */

/** What a commit meets while the group rebalances; it is tried again, and not reported. */
const REBALANCING = new Set([
  'REBALANCE_IN_PROGRESS',
  'ILLEGAL_GENERATION',
  'UNKNOWN_MEMBER_ID',
  'NOT_COORDINATOR_FOR_GROUP',
]);

/** kafkajs wraps protocol errors (in a retry's error, say): look along the causes. */
function rebalancing(err: unknown): boolean {
  let e = err as { type?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; e && depth < 5; depth++, e = e.cause as typeof e) {
    if (typeof e.type === 'string' && REBALANCING.has(e.type)) return true;
  }
  return false;
}

export interface CommitEntry {
  partition: number;
  offset: number;
  metadata: string;
  /** Called once this entry is committed. */
  committed(): void;
}

export class Committer {
  #running: Promise<void> | undefined;
  #again = false;
  #urgentAgain = false;
  #timer: NodeJS.Timeout | undefined;
  #retry: NodeJS.Timeout | undefined;
  #last = 0;
  #closed = false;

  constructor(
    readonly collect: () => CommitEntry[],
    readonly commit: (entries: CommitEntry[]) => Promise<void>,
    readonly onError: (err: Error) => void,
    readonly intervalMs: number,
  ) {}

  /** Something changed: commit it soon (urgent: as soon as no commit is in flight). */
  request(urgent = false): void {
    if (this.#closed) return;
    if (this.#running) {
      this.#again = true;
      this.#urgentAgain ||= urgent;
      return;
    }
    if (this.#timer && !urgent) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const wait = this.#last + this.intervalMs - Date.now();
    if (wait <= 0 || urgent) {
      this.#run();
      return;
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#run();
    }, wait).unref();
  }

  /** Commits what is left now, whatever the interval; resolves when done (or failed). */
  async flush(): Promise<void> {
    while (this.#running) await this.#running; // its end may start the next one
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#run();
    await this.#running;
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#retry);
  }

  #run(): void {
    this.#again = false;
    this.#urgentAgain = false;
    this.#last = Date.now();
    this.#running = this.#once().finally(() => {
      this.#running = undefined;
      if (this.#again) this.request(this.#urgentAgain);
    });
  }

  async #once(): Promise<void> {
    const entries = this.collect();
    if (entries.length === 0) return;
    try {
      await this.commit(entries);
      for (const entry of entries) entry.committed();
    } catch (err) {
      if (!rebalancing(err)) {
        this.onError(new Error(`Kafka offset commit failed: ${(err as Error).message}`, { cause: err }));
      }
      if (!this.#closed && this.#retry === undefined) {
        this.#retry = setTimeout(() => {
          this.#retry = undefined;
          this.request();
        }, 1000).unref();
      }
    }
  }
}
