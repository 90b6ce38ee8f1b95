import { type Clock, systemClock } from './clock.ts';

export interface RetryBudgetOptions {
  /** Retries allowed per original request, over the window. Default 0.2 (20%). */
  ratio?: number;
  /** Retries allowed regardless of traffic, so a quiet client can still retry. Default 10/s. */
  minRetriesPerSecond?: number;
  /** How long a request's deposit (and a retry's withdrawal) counts. Default 10 s. */
  windowMs?: number;
  clock?: Clock;
}

export interface RetryBudgetStats {
  requests: number;
  retries: number;
  refused: number;
}

/** Integer units, Finagle's ScaleFactor: with ratio 0.2 five deposits make exactly one retry, no float drift. */
const UNIT = 1000;
/** The window slides in tenths (Finagle's WindowedAdder), so a deposit lasts 90–100% of windowMs. */
const SLOTS = 10;

/**
 * A retry budget with Finagle's and Linkerd's semantics: each original request deposits
 * `ratio` of a retry, each retry withdraws one, deposits and withdrawals count for
 * `windowMs`, and a reserve of minRetriesPerSecond × window seconds is always there. Retries
 * stay a bounded share of traffic (20% + 10/s by default) however many layers retry, so a
 * struggling service gets at most 1.2× its load instead of the (1 + retries)× that per-call
 * retry limits allow, and a client that sends little can still retry its few failures.
 *
 * The reserve is available at once: a quiet client may spend it in a burst (100 retries by
 * default) and then gets it back as its withdrawals leave the window.
 */
export class RetryBudget {
  readonly #clock: Clock;
  readonly #deposit: number;
  readonly #reserve: number;
  readonly #slotMs: number;
  /** Net units added in each slot of the window: a ring indexed by absolute slot number. */
  readonly #slots = new Array<number>(SLOTS).fill(0);
  #slot: number;
  #sum = 0;
  #requests = 0;
  #retries = 0;
  #refused = 0;

  constructor(options: RetryBudgetOptions = {}) {
    const ratio = options.ratio ?? 0.2;
    const minRetriesPerSecond = options.minRetriesPerSecond ?? 10;
    const windowMs = options.windowMs ?? 10_000;
    if (!(ratio >= 0 && Number.isFinite(ratio)))
      throw new RangeError(`ratio: expected a number >= 0, got ${ratio}`);
    if (!(minRetriesPerSecond >= 0 && Number.isFinite(minRetriesPerSecond))) {
      throw new RangeError(`minRetriesPerSecond: expected a number >= 0, got ${minRetriesPerSecond}`);
    }
    if (!(windowMs > 0 && Number.isFinite(windowMs))) {
      throw new RangeError(`windowMs: expected a positive number, got ${windowMs}`);
    }
    this.#clock = options.clock ?? systemClock;
    this.#deposit = Math.round(ratio * UNIT);
    this.#reserve = Math.round(minRetriesPerSecond * (windowMs / 1000) * UNIT);
    this.#slotMs = windowMs / SLOTS;
    this.#slot = this.#slotAt(this.#clock.now());
  }

  /** Every original request deposits. */
  onRequest(now?: number): void {
    this.#add(this.#deposit, now);
    this.#requests++;
  }

  /** True (and withdraws) if a retry is allowed now. */
  tryRetry(): boolean {
    if (this.#balance() >= UNIT) {
      this.#add(-UNIT);
      this.#retries++;
      return true;
    }
    this.#refused++;
    return false;
  }

  /** Whole retries allowed now. */
  get available(): number {
    return Math.max(0, Math.floor(this.#balance() / UNIT));
  }

  /**
   * Counters since creation, never reset (Prometheus counters: take their rate), rather than
   * figures over the window, which would move without any call happening.
   */
  get stats(): RetryBudgetStats {
    return { requests: this.#requests, retries: this.#retries, refused: this.#refused };
  }

  #balance(): number {
    this.#slide();
    return this.#reserve + this.#sum;
  }

  #add(units: number, now?: number): void {
    this.#slide(now);
    const index = ringIndex(this.#slot);
    this.#slots[index] = this.#slots[index]! + units;
    this.#sum += units;
  }

  /** Empties the slots that have left the window since the last call. */
  #slide(now = this.#clock.now()): void {
    const slot = this.#slotAt(now);
    // A clock that went backwards is treated as standing still.
    if (slot <= this.#slot) return;
    if (slot - this.#slot >= SLOTS) {
      this.#slots.fill(0);
      this.#sum = 0;
    } else {
      for (let s = this.#slot + 1; s <= slot; s++) {
        const index = ringIndex(s);
        this.#sum -= this.#slots[index]!;
        this.#slots[index] = 0;
      }
    }
    this.#slot = slot;
  }

  #slotAt(now: number): number {
    return Math.floor(now / this.#slotMs);
  }
}

/** The ring position of an absolute slot number, negative ones too (a clock may start below 0). */
function ringIndex(slot: number): number {
  return ((slot % SLOTS) + SLOTS) % SLOTS;
}
