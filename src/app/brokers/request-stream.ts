/**
 * The requests of a client-side stream, pushed as they arise: an AsyncIterable the transport
 * pulls from. Unbounded by design only because every producer here is bounded already (one
 * subscribe, then one settle per delivery, which the broker's maxInFlight bounds).
 */
export class RequestStream<T> implements AsyncIterable<T> {
  #items: T[] = [];
  #ended = false;
  #waiting: ((result: IteratorResult<T>) => void) | undefined;

  push(item: T): void {
    if (this.#ended) return;
    const waiting = this.#waiting;
    if (waiting) {
      this.#waiting = undefined;
      waiting({ done: false, value: item });
    } else {
      this.#items.push(item);
    }
  }

  /** No more requests: the transport half-closes once those queued are sent. */
  end(): void {
    this.#ended = true;
    const waiting = this.#waiting;
    this.#waiting = undefined;
    if (waiting && this.#items.length === 0) waiting({ done: true, value: undefined });
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        const item = this.#items.shift();
        if (item !== undefined) return Promise.resolve({ done: false, value: item });
        if (this.#ended) return Promise.resolve({ done: true, value: undefined });
        return new Promise((resolve) => {
          this.#waiting = resolve;
        });
      },
      return: () => {
        this.#ended = true;
        this.#items = [];
        return Promise.resolve({ done: true, value: undefined });
      },
    };
  }
}
