/**
 * At most `limit` calls in flight: the caller takes a slot with tryAcquire() and gives it back
 * with release(), and is refused (not queued) when none is free, so excess load fails fast
 * with RESOURCE_EXHAUSTED instead of piling up in memory. A limit of 0 refuses everything;
 * Infinity never refuses.
 *
 * release() without a matching tryAcquire() throws: it is a bug in the caller, and quietly
 * ignoring it would hide the worse case, an extra release while other calls are in flight,
 * which silently raises the limit. acquire() hands out a release that cannot be called twice.
 */
export class ConcurrencyLimiter {
  readonly limit: number;
  #inFlight = 0;

  constructor(limit: number) {
    if (!(limit === Infinity || (Number.isInteger(limit) && limit >= 0))) {
      throw new RangeError(`limit: expected an integer >= 0 or Infinity, got ${limit}`);
    }
    this.limit = limit;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  tryAcquire(): boolean {
    if (this.#inFlight >= this.limit) return false;
    this.#inFlight++;
    return true;
  }

  release(): void {
    if (this.#inFlight === 0) throw new Error('ConcurrencyLimiter.release() without a matching tryAcquire()');
    this.#inFlight--;
  }

  /** tryAcquire() as a release function that is harmless to call twice, or undefined if refused. */
  acquire(): (() => void) | undefined {
    if (!this.tryAcquire()) return undefined;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.release();
    };
  }
}
