/** What an IdleWatchdog watches. */
export interface IdleWatched {
  /** When the last complete frame arrived (epoch ms). */
  readonly lastFrameAt: number;
  /** Whether silence counts now: no call in flight, or stuck in the middle of a frame. */
  readonly idleOrStuck: boolean;
  idleExpired(waitedMs: number): void;
}

/**
 * Closes a server connection that completed no frame for `idleMs` while it was idle or stuck
 * mid-frame: a silent client, and a slowloris dripping the bytes of one frame, alike. One timer,
 * re-armed for the time left; unref'd.
 */
export class IdleWatchdog {
  readonly #watched: IdleWatched;
  readonly #idleMs: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(watched: IdleWatched, idleMs: number) {
    this.#watched = watched;
    this.#idleMs = idleMs;
  }

  start(): void {
    if (this.#idleMs > 0 && Number.isFinite(this.#idleMs)) this.#arm(this.#idleMs);
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(ms: number): void {
    this.#timer = setTimeout(() => this.#check(), ms);
    this.#timer.unref();
  }

  #check(): void {
    const waited = Date.now() - this.#watched.lastFrameAt;
    const counts = this.#watched.idleOrStuck;
    if (counts && waited >= this.#idleMs) {
      this.#timer = undefined;
      this.#watched.idleExpired(waited);
      return;
    }
    this.#arm(counts ? this.#idleMs - waited : this.#idleMs);
  }
}
