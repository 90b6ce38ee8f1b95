/** Who a MessageQueue reports to: consumption grants flow-control credit, abandonment may cancel. */
export interface QueueOwner {
  /** A message of `payloadBytes` left the queue (delivered or dropped). */
  consumed(payloadBytes: number): void;
  /** The reader stopped iterating before the end. */
  abandoned(): void;
  /**
   * The reader is about to get the end: `err`, or done when undefined. Returns what it gets
   * instead (trailers callbacks run here, after the last message was read).
   */
  ending(err: unknown): unknown;
}

type Waiter = { resolve: (result: IteratorResult<unknown>) => void; reject: (err: unknown) => void };

const DONE: IteratorResult<unknown> = Object.freeze({ done: true, value: undefined });

/**
 * The messages received on one stream, read as an async iterator. Holds only what the peer
 * was allowed to send (flow control bounds it); after an error, messages already received
 * are delivered first unless the error is urgent (a cancellation).
 */
export class MessageQueue implements AsyncIterableIterator<unknown> {
  readonly #owner: QueueOwner;
  #values: unknown[] = [];
  #sizes: number[] = [];
  #head = 0;
  #waiter: Waiter | undefined;
  #ended = false;
  #error: unknown;
  #abandoned = false;
  #endTaken = false;

  constructor(owner: QueueOwner) {
    this.#owner = owner;
  }

  get length(): number {
    return this.#values.length - this.#head;
  }

  push(value: unknown, payloadBytes: number): void {
    if (this.#ended || this.#abandoned) {
      this.#owner.consumed(payloadBytes);
      return;
    }
    const waiter = this.#waiter;
    if (waiter) {
      this.#waiter = undefined;
      this.#owner.consumed(payloadBytes);
      waiter.resolve({ done: false, value });
      return;
    }
    this.#values.push(value);
    this.#sizes.push(payloadBytes);
  }

  /** No more messages: the reader gets `done` once it has read what is queued. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#wakeDone();
  }

  /** The stream failed: the reader gets `err` after what is queued, or at once when `urgent`. */
  fail(err: unknown, urgent = false): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#error = err;
    if (urgent) this.#clear();
    this.#wakeDone();
  }

  next(): Promise<IteratorResult<unknown>> {
    if (this.#head < this.#values.length) {
      const value = this.#values[this.#head];
      const size = this.#sizes[this.#head]!;
      this.#values[this.#head] = undefined;
      this.#head++;
      if (this.#head === this.#values.length) this.#clear();
      this.#owner.consumed(size);
      return Promise.resolve({ done: false, value });
    }
    if (this.#ended || this.#abandoned) {
      const err = this.#takeEnd();
      return err === undefined ? Promise.resolve(DONE) : Promise.reject(err);
    }
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  /** The reader left early (break, return, throw in a for-await loop). */
  return(): Promise<IteratorResult<unknown>> {
    if (!this.#abandoned && !this.#ended) {
      this.#abandoned = true;
      this.#clearConsumed();
      this.#owner.abandoned();
    }
    this.#abandoned = true;
    return Promise.resolve(DONE);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<unknown> {
    return this;
  }

  #wakeDone(): void {
    const waiter = this.#waiter;
    if (!waiter) return;
    this.#waiter = undefined;
    const err = this.#takeEnd();
    if (err === undefined) waiter.resolve(DONE);
    else waiter.reject(err);
  }

  /** The end the reader gets, once: the owner sees it first. */
  #takeEnd(): unknown {
    if (this.#endTaken) return undefined;
    this.#endTaken = true;
    const err = this.#error;
    this.#error = undefined;
    return this.#abandoned ? undefined : this.#owner.ending(err);
  }

  /** Drops queued messages, reporting them consumed so the sender is not starved of credit. */
  #clearConsumed(): void {
    for (let i = this.#head; i < this.#sizes.length; i++) this.#owner.consumed(this.#sizes[i]!);
    this.#clear();
  }

  #clear(): void {
    this.#values.length = 0;
    this.#sizes.length = 0;
    this.#head = 0;
  }
}
