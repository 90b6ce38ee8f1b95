/**
 * The waits of a subscription that closing (or losing a partition) must be able to cut short:
 * a free handler slot, and the pause before a redelivery. A cut wait resolves false.
 */

/** At most `size` handlers at once; the others wait their turn, first come first served. */
export class Slots {
  #free: number;
  readonly #waiting: ((ok: boolean) => void)[] = [];
  #closed = false;

  constructor(size: number) {
    this.#free = size;
  }

  acquire(): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  release(): void {
    const next = this.#waiting.shift();
    if (next) next(true);
    else this.#free++;
  }

  /** Every waiter, now and later, gets false. */
  close(): void {
    this.#closed = true;
    for (const resolve of this.#waiting.splice(0)) resolve(false);
  }
}

/** Sleeps that cancel() ends early, all at once. */
export class Sleeps {
  readonly #pending = new Map<NodeJS.Timeout, (ok: boolean) => void>();
  #cancelled = false;

  sleep(ms: number): Promise<boolean> {
    if (this.#cancelled) return Promise.resolve(false);
    if (ms <= 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(timer);
        resolve(true);
      }, ms);
      this.#pending.set(timer, resolve);
    });
  }

  cancel(): void {
    this.#cancelled = true;
    for (const [timer, resolve] of this.#pending) {
      clearTimeout(timer);
      resolve(false);
    }
    this.#pending.clear();
  }
}
