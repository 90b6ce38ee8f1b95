/**
 * The offsets of one partition that this group member has taken, and what it may commit: the
 * low-water mark, i.e. the first offset not yet settled (or the next one to read when all are).
 * Messages are settled out of order (different keys run concurrently); the commit never passes
 * one that is still being handled, so a member that dies loses nothing it did not finish.
 *
 * The committed offset also carries, in its metadata, how often the unsettled messages were
 * delivered, so the member that takes the partition over counts attempts on from there.
 */

interface Entry {
  readonly offset: number;
  settled: boolean;
  attempts: number;
}

/** Attempts of at most this many unsettled messages ride along with a commit. */
const METADATA_ENTRIES = 16;

export class OffsetTracker {
  readonly #entries: Entry[] = [];
  #head = 0;
  readonly #byOffset = new Map<number, Entry>();
  #next: number | undefined;

  /** `start`: the offset reading begins at, when known (the committed one). */
  constructor(start?: number) {
    this.#next = start;
  }

  /** True when `offset` was taken already (a fetch after a rebalance reads it again). */
  known(offset: number): boolean {
    return this.#next !== undefined && offset < this.#next;
  }

  /** Takes the next offset; offsets come in increasing order, possibly with gaps. */
  add(offset: number, attempts = 0): void {
    if (this.known(offset)) throw new RangeError(`offset ${offset} was taken already`);
    const entry: Entry = { offset, settled: false, attempts };
    this.#entries.push(entry);
    this.#byOffset.set(offset, entry);
    this.#next = offset + 1;
  }

  /** Moves past offsets that hold no message for us (transaction markers, compacted records). */
  skipTo(next: number): void {
    if (this.#next === undefined || next > this.#next) this.#next = next;
  }

  attempted(offset: number): number {
    const entry = this.#byOffset.get(offset);
    if (!entry) return 0;
    return ++entry.attempts;
  }

  settle(offset: number): void {
    const entry = this.#byOffset.get(offset);
    if (!entry || entry.settled) return;
    entry.settled = true;
    this.#byOffset.delete(offset);
    while (this.#head < this.#entries.length && this.#entries[this.#head]!.settled) this.#head++;
    if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries.splice(0, this.#head);
      this.#head = 0;
    }
  }

  /** Taken and not settled. */
  get unsettled(): number {
    return this.#byOffset.size;
  }

  /** The offset to commit; undefined before anything was read from an unknown start. */
  get mark(): number | undefined {
    const first = this.#entries[this.#head];
    return first ? first.offset : this.#next;
  }

  /** Unsettled messages delivered at least once, from the mark on, as `[offset, attempts]`. */
  attemptsInFlight(): [number, number][] {
    const out: [number, number][] = [];
    for (let i = this.#head; i < this.#entries.length && out.length < METADATA_ENTRIES; i++) {
      const entry = this.#entries[i]!;
      if (!entry.settled && entry.attempts > 0) out.push([entry.offset, entry.attempts]);
    }
    return out;
  }
}

/** The commit metadata for attempts in flight ('' when there are none). */
export function encodeAttempts(attempts: readonly [number, number][]): string {
  if (attempts.length === 0) return '';
  return JSON.stringify({ attempts: Object.fromEntries(attempts.map(([o, n]) => [String(o), n])) });
}

/** Reads what encodeAttempts wrote; anything else (another client's metadata) is no attempts. */
export function decodeAttempts(metadata: string | null | undefined): Map<number, number> {
  const out = new Map<number, number>();
  if (!metadata?.startsWith('{')) return out;
  try {
    const parsed: unknown = JSON.parse(metadata);
    const attempts = (parsed as { attempts?: unknown }).attempts;
    if (typeof attempts !== 'object' || attempts === null || Array.isArray(attempts)) return out;
    for (const [offset, n] of Object.entries(attempts)) {
      const at = Number(offset);
      if (Number.isSafeInteger(at) && at >= 0 && Number.isSafeInteger(n) && (n as number) > 0) {
        out.set(at, n as number);
      }
    }
  } catch {
    // not ours
  }
  return out;
}
