/**
 * One delivery of one stream entry to one member. The first settlement wins; a delivery the
 * member abandoned (its ack timeout passed, or the member left) ignores later settlements,
 * because the entry went on to another delivery.
 */
import { type Outcome, SettlingDelivery } from '../delivery.ts';
import type { DecodedEntry } from './entry-codec.ts';

export type { Outcome };

export class RedisDelivery extends SettlingDelivery {
  readonly id: string;
  readonly key: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly payload: Uint8Array;
  /** When the member handed it to the handler (Date.now()), for the ack timeout. */
  startedAt = 0;
  #settled = false;

  constructor(
    readonly topic: string,
    readonly entry: DecodedEntry,
    readonly attempt: number,
    readonly onSettle: (delivery: RedisDelivery, outcome: Outcome) => Promise<void>,
  ) {
    super();
    this.id = entry.id;
    this.key = entry.key;
    this.headers = entry.headers;
    this.payload = entry.payload;
  }

  get settled(): boolean {
    return this.#settled;
  }

  /** Resolves once Redis has the outcome; a second settlement resolves at once and does nothing. */
  settle(outcome: Outcome): Promise<void> {
    if (this.#settled) return Promise.resolve();
    this.#settled = true;
    return this.onSettle(this, outcome);
  }

  /** Marks it settled without telling Redis: the member gave the entry to another delivery. */
  abandon(): void {
    this.#settled = true;
  }
}
