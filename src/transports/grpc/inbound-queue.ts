/** The byte source behind a queue: paused while the consumer is not keeping up. */
export interface FlowSource {
  pause(): unknown;
  resume(): unknown;
}

/** Messages waiting beyond this count pause the source; HTTP/2 flow control does the rest. */
const HIGH_WATER = 16;

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/**
 * Decoded messages of one stream, as an AsyncIterable with backpressure: the producer pushes,
 * the consumer pulls, and the HTTP/2 stream is paused while too many wait unread.
 */
export class InboundQueue<T> implements AsyncIterableIterator<T> {
  readonly #source: FlowSource;
  readonly #onReturn: (() => void) | undefined;
  #items: T[] = [];
  #head = 0;
  #paused = false;
  #ended = false;
  #error: unknown;
  #hasError = false;
  #resolve: ((result: IteratorResult<T>) => void) | undefined;
  #reject: ((err: unknown) => void) | undefined;

  /** `onReturn` runs when the consumer leaves before the end (break, return, throw). */
  constructor(source: FlowSource, onReturn?: () => void) {
    this.#source = source;
    this.#onReturn = onReturn;
  }

  /** Whether the consumer has stopped listening or the stream is over. */
  get closed(): boolean {
    return this.#ended;
  }

  push(item: T): void {
    if (this.#ended) return;
    const resolve = this.#resolve;
    if (resolve) {
      this.#resolve = undefined;
      this.#reject = undefined;
      resolve({ done: false, value: item });
      return;
    }
    this.#items.push(item);
    if (!this.#paused && this.#items.length - this.#head >= HIGH_WATER) {
      this.#paused = true;
      this.#source.pause();
    }
  }

  /** No more messages: the consumer sees the end after those already queued. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#resolve && this.#head === this.#items.length) this.#settle(DONE);
  }

  /**
   * The stream failed. The consumer gets `err` after the queued messages, or at once (dropping
   * them) when `immediately`, as for a cancellation.
   */
  fail(err: unknown, immediately = false): void {
    if (this.#ended && !immediately) return;
    this.#ended = true;
    this.#hasError = true;
    this.#error = err;
    if (immediately) {
      this.#items = [];
      this.#head = 0;
    }
    if (this.#reject && this.#head === this.#items.length) {
      const reject = this.#reject;
      this.#resolve = undefined;
      this.#reject = undefined;
      reject(err);
    }
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#head < this.#items.length) {
      const value = this.#items[this.#head]!;
      this.#head++;
      if (this.#head === this.#items.length) {
        this.#items = [];
        this.#head = 0;
      }
      if (this.#paused && this.#items.length - this.#head < HIGH_WATER / 2) {
        this.#paused = false;
        this.#source.resume();
      }
      return Promise.resolve({ done: false, value });
    }
    if (this.#hasError) {
      this.#hasError = false;
      return Promise.reject(this.#error);
    }
    if (this.#ended) return Promise.resolve(DONE);
    if (this.#paused) {
      this.#paused = false;
      this.#source.resume();
    }
    return new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  return(): Promise<IteratorResult<T>> {
    const early = !this.#ended;
    this.#ended = true;
    this.#items = [];
    this.#head = 0;
    this.#hasError = false;
    if (this.#paused) {
      // Let the rest flow (and be dropped) rather than stall the stream.
      this.#paused = false;
      this.#source.resume();
    }
    if (early) this.#onReturn?.();
    return Promise.resolve(DONE);
  }

  throw(err?: unknown): Promise<IteratorResult<T>> {
    void this.return();
    return Promise.reject(err);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  #settle(result: IteratorResult<T>): void {
    const resolve = this.#resolve;
    this.#resolve = undefined;
    this.#reject = undefined;
    resolve?.(result);
  }
}
