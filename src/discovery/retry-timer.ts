import { type BackoffOptions, backoffDelay } from '../governance/backoff.ts';

/**
 * The waits of one background task of a registry (a heartbeat, a watch that reconnects, a
 * lease that registers again): each failure in a row waits longer, by governance's backoff
 * (exponential, full jitter, so clients that failed together do not come back together), and
 * a success starts again from the shortest. One timer at a time, unref'd, so a registry never
 * holds the process open; `cancel()` when the task ends.
 */
export class RetryTimer {
  readonly #backoff: BackoffOptions;
  #failures = 0;
  #timer: NodeJS.Timeout | undefined;

  /** `backoff`: the waits of `failed()` and `retry()`; `after()` alone needs none. */
  constructor(backoff: BackoffOptions = {}) {
    this.#backoff = backoff;
  }

  /** Counts a failure and returns how long to wait before the next try. */
  failed(): number {
    return backoffDelay(this.#failures++, this.#backoff);
  }

  /** The task succeeded: the next failure waits the shortest delay again. */
  succeeded(): void {
    this.#failures = 0;
  }

  /** Counts a failure and runs `task` after the backoff. */
  retry(task: () => void): void {
    this.after(this.failed(), task);
  }

  /** Runs `task` after `ms`, in place of whatever was pending. */
  after(ms: number, task: () => void): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(task, ms);
    this.#timer.unref();
  }

  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
