import type { StatusError } from '../../contract/errors.ts';

/** How many undelivered responses a handler may run ahead of its caller before `push` waits. */
const HIGH_WATER = 16;

interface Waiter {
  resolve(result: IteratorResult<unknown>): void;
  reject(err: unknown): void;
}

/**
 * The responses of one streamed call, handed from the handler (push) to the caller (next),
 * with backpressure: a handler that runs ahead waits, as it would on a full socket.
 */
export class ResponseQueue implements AsyncIterator<unknown> {
  readonly #items: unknown[] = [];
  readonly #onLeave: () => void;
  #waiter: Waiter | undefined;
  #drained: (() => void) | undefined;
  #error: StatusError | undefined;
  #ended = false;

  /** `onLeave` runs when the caller stops reading before the stream ended. */
  constructor(onLeave: () => void) {
    this.#onLeave = onLeave;
  }

  push(message: unknown): Promise<void> | undefined {
    if (this.#ended) return undefined;
    if (this.#waiter) {
      const waiter = this.#waiter;
      this.#waiter = undefined;
      waiter.resolve({ done: false, value: message });
      return undefined;
    }
    this.#items.push(message);
    if (this.#items.length < HIGH_WATER) return undefined;
    return new Promise((resolve) => {
      this.#drained = resolve;
    });
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#release();
    if (this.#waiter && this.#items.length === 0) {
      const waiter = this.#waiter;
      this.#waiter = undefined;
      waiter.resolve({ done: true, value: undefined });
    }
  }

  /** Ends the stream with an error, delivered after the responses already queued. */
  fail(err: StatusError): void {
    if (this.#ended) return;
    this.#error = err;
    this.#ended = true;
    this.#release();
    if (this.#waiter && this.#items.length === 0) {
      const waiter = this.#waiter;
      this.#waiter = undefined;
      waiter.reject(err);
    }
  }

  next(): Promise<IteratorResult<unknown>> {
    if (this.#items.length > 0) {
      const value = this.#items.shift();
      if (this.#items.length < HIGH_WATER / 2) this.#release();
      return Promise.resolve({ done: false, value });
    }
    if (this.#error) {
      const err = this.#error;
      this.#error = undefined;
      return Promise.reject(err);
    }
    if (this.#ended) return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  /** The caller left the loop: the call is cancelled, what was queued is dropped. */
  return(): Promise<IteratorResult<unknown>> {
    const wasRunning = !this.#ended;
    this.#items.length = 0;
    this.#error = undefined;
    this.#ended = true;
    this.#release();
    if (wasRunning) this.#onLeave();
    return Promise.resolve({ done: true, value: undefined });
  }

  #release(): void {
    const drained = this.#drained;
    this.#drained = undefined;
    drained?.();
  }
}
