/**
 * Where a command consumer remembers which commands ran, so that a redelivered or duplicated
 * command runs once. A delivery claims its idempotency key before it runs; the claim becomes a
 * record of completion (with the encoded response, for late duplicates of a request) only
 * after the handler succeeded, and is released when it failed, so a retry may run it again.
 * A claim held by a delivery that never settles expires after its lease.
 */
import { randomUUID } from 'node:crypto';
import { type Clock, systemClock } from '../../governance/clock.ts';

export type IdempotencyClaim =
  /** Run it, then `complete` or `release` with this token. */
  | { readonly state: 'claimed'; readonly token: string }
  /** It ran: skip it. `result` is the encoded response when one was recorded. */
  | { readonly state: 'done'; readonly result: Uint8Array | undefined }
  /**
   * Another delivery is running it now: try again later. `settled` resolves once that run
   * completes or releases the key, where the store can tell (an in-process one can).
   */
  | { readonly state: 'running'; readonly settled?: Promise<void> };

export interface IdempotencyStore {
  /** Claims `key` for one run, for at most `leaseMs`. */
  claim(key: string, leaseMs: number): Promise<IdempotencyClaim>;
  /** The run succeeded: remember the key (and its result) for the store's retention. */
  complete(key: string, token: string, result?: Uint8Array): Promise<void>;
  /** The run failed: forget the claim, unless another delivery holds the key by now. */
  release(key: string, token: string): Promise<void>;
}

export interface MemoryIdempotencyStoreOptions {
  /** Keys remembered at most; the least recently used completed ones go first. 10,000. */
  maxEntries?: number;
  /** How long a completed key is remembered. 1 hour. */
  ttlMs?: number;
  clock?: Clock;
}

interface Entry {
  token: string;
  done: boolean;
  /** A claim's lease end, or a completion's retention end, by `clock`. */
  until: number;
  result: Uint8Array | undefined;
  /** Wakes the duplicates waiting for a running claim. */
  settled?: { promise: Promise<void>; resolve: () => void };
}

/** A bounded LRU with expiry, for one process: duplicates that reach another process run again. */
export class MemoryIdempotencyStore implements IdempotencyStore {
  readonly #entries = new Map<string, Entry>();
  readonly #maxEntries: number;
  readonly #ttlMs: number;
  readonly #clock: Clock;

  constructor(options: MemoryIdempotencyStoreOptions = {}) {
    this.#maxEntries = positive('maxEntries', options.maxEntries ?? 10_000);
    this.#ttlMs = positive('ttlMs', options.ttlMs ?? 3_600_000);
    this.#clock = options.clock ?? systemClock;
  }

  get size(): number {
    return this.#entries.size;
  }

  async claim(key: string, leaseMs: number): Promise<IdempotencyClaim> {
    const now = this.#clock.now();
    const entry = this.#entries.get(key);
    if (entry && entry.until > now) {
      this.#touch(key, entry);
      if (entry.done) return { state: 'done', result: entry.result };
      entry.settled ??= settledSignal();
      return { state: 'running', settled: entry.settled.promise };
    }
    const token = randomUUID();
    entry?.settled?.resolve();
    this.#entries.delete(key);
    this.#entries.set(key, { token, done: false, until: now + leaseMs, result: undefined });
    this.#evict();
    return { state: 'claimed', token };
  }

  async complete(key: string, token: string, result?: Uint8Array): Promise<void> {
    // Recorded even when the lease ran out meanwhile: the command did run.
    const entry = { token, done: true, until: this.#clock.now() + this.#ttlMs, result };
    this.#entries.get(key)?.settled?.resolve();
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    this.#evict();
  }

  async release(key: string, token: string): Promise<void> {
    const entry = this.#entries.get(key);
    if (entry && !entry.done && entry.token === token) {
      this.#entries.delete(key);
      entry.settled?.resolve();
    }
  }

  #touch(key: string, entry: Entry): void {
    this.#entries.delete(key);
    this.#entries.set(key, entry);
  }

  /**
   * Drops the least recently used entries that are completed or expired, down to the bound.
   * Running claims stay: dropping one would let its duplicate run at the same time, and there
   * are at most as many as deliveries in flight.
   */
  #evict(): void {
    if (this.#entries.size <= this.#maxEntries) return;
    const now = this.#clock.now();
    for (const [key, entry] of this.#entries) {
      if (entry.done || entry.until <= now) this.#entries.delete(key);
      if (this.#entries.size <= this.#maxEntries) return;
    }
  }
}

function settledSignal(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number`);
  return value;
}
