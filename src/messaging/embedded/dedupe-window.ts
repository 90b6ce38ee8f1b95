/**
 * The ids a topic has taken within its dedupe window, so a second publish of one id is
 * answered `duplicate` instead of appended (JetStream's Nats-Msg-Id window). Bounded in time
 * (`windowMs` after the first publish) and in count (`maxIds`, oldest forgotten first).
 *
 * The window is rebuilt at open from the tail of each partition (rebuild-dedupe.ts), so it
 * survives a restart for ids still in the log.
 */
export class DedupeWindow {
  /** id → when it may be forgotten. Insertion order is expiry order: one fixed window. */
  readonly #expires = new Map<string, number>();
  /** Publishes of an id still being appended: a second one waits to see how the first ends. */
  readonly #appending = new Map<string, Promise<unknown>>();

  constructor(
    readonly windowMs: number,
    readonly maxIds: number,
  ) {}

  /** True when `id` was taken within the window. */
  has(id: string, now: number): boolean {
    this.#forget(now);
    return this.#expires.has(id);
  }

  /** Remembers `id` as taken at `at` (ms since the epoch). */
  add(id: string, at: number): void {
    this.#expires.delete(id);
    this.#expires.set(id, at + this.windowMs);
    if (this.#expires.size > this.maxIds) this.#forget(Number.NEGATIVE_INFINITY);
  }

  /** The append in progress for `id`, if any. */
  appending(id: string): Promise<unknown> | undefined {
    return this.#appending.get(id);
  }

  /** Marks `id` as being appended until `append` settles. */
  track(id: string, append: Promise<unknown>): void {
    this.#appending.set(id, append);
    const done = () => {
      if (this.#appending.get(id) === append) this.#appending.delete(id);
    };
    append.then(done, done);
  }

  #forget(now: number): void {
    for (const [id, expires] of this.#expires) {
      if (expires > now && this.#expires.size <= this.maxIds) return;
      this.#expires.delete(id);
    }
  }
}
