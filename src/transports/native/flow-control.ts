import { HEADER_BYTES } from './frame.ts';

/**
 * Per-stream, credit-based flow control of MESSAGE frames. A message costs its payload plus
 * the frame header, so even empty messages use credit. A sender may send while its credit is
 * above zero (the last message may overdraw it): a receiver holds at most its window plus one
 * message per stream, and a message larger than the window still gets through.
 */
export function messageCost(payloadBytes: number): number {
  return payloadBytes + HEADER_BYTES;
}

/** The sender's side: credit granted by the peer's WINDOW frames. */
export class SendWindow {
  #credit: number;
  #waiter: (() => void) | undefined;

  constructor(initialCredit: number) {
    this.#credit = initialCredit;
  }

  get open(): boolean {
    return this.#credit > 0;
  }

  get credit(): number {
    return this.#credit;
  }

  spend(payloadBytes: number): void {
    this.#credit -= messageCost(payloadBytes);
  }

  grant(bytes: number): void {
    this.#credit += bytes;
    if (this.#credit > 0) this.release();
  }

  /** Resolves once credit arrives, or `release` is called (the stream ended). */
  wait(): Promise<void> {
    return new Promise((resolve) => {
      this.#waiter = resolve;
    });
  }

  release(): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.();
  }
}

/** The receiver's side: checks the sender kept to its credit, and grants more as messages are consumed. */
export class ReceiveWindow {
  readonly #size: number;
  /** Credit the sender has, as far as the receiver knows. */
  #available: number;
  #consumed = 0;

  constructor(size: number) {
    this.#size = size;
    this.#available = size;
  }

  /** Accounts a received message; false when the sender had no credit left (a protocol violation). */
  receive(payloadBytes: number): boolean {
    if (this.#available <= 0) return false;
    this.#available -= messageCost(payloadBytes);
    return true;
  }

  /**
   * Accounts a consumed message and returns the credit to grant now: 0 until a quarter of the
   * window was consumed, so WINDOW frames stay few.
   */
  consume(payloadBytes: number): number {
    this.#consumed += messageCost(payloadBytes);
    if (this.#consumed < this.#size / 4) return 0;
    const grant = this.#consumed;
    this.#consumed = 0;
    this.#available += grant;
    return grant;
  }
}
