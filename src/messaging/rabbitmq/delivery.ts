/**
 * One delivery of a RabbitMQ message to a handler. The first settlement wins: a late ack after
 * an ack timeout, or after the member's channel went away (RabbitMQ then requeued the message),
 * is ignored. Settling never rejects: when RabbitMQ cannot be told, the message stays unacked
 * and comes back, as at-least-once delivery allows.
 */
import { type Outcome, SettlingDelivery } from '../delivery.ts';
import type { DecodedMessage } from './headers.ts';

export type { Outcome };

export class RabbitDelivery extends SettlingDelivery {
  readonly id: string;
  readonly key: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly attempt: number;
  #settled = false;

  constructor(
    readonly topic: string,
    message: DecodedMessage,
    readonly payload: Uint8Array,
    readonly onSettle: (delivery: RabbitDelivery, outcome: Outcome) => Promise<void>,
  ) {
    super();
    this.id = message.id;
    this.key = message.key;
    this.headers = Object.freeze(message.headers);
    this.attempt = message.attempt;
  }

  get settled(): boolean {
    return this.#settled;
  }

  /** Settles unless it was settled already; resolves once RabbitMQ was told (or could not be). */
  settle(outcome: Outcome): Promise<void> {
    if (this.#settled) return Promise.resolve();
    this.#settled = true;
    return this.onSettle(this, outcome);
  }
}
