/**
 * One delivery of a RabbitMQ message to a handler. The first settlement wins: a late ack after
 * an ack timeout, or after the member's channel went away (RabbitMQ then requeued the message),
 * is ignored. Settling never rejects: when RabbitMQ cannot be told, the message stays unacked
 * and comes back, as at-least-once delivery allows.
 */
import type { Delivery } from '../broker.ts';
import type { DecodedMessage } from './headers.ts';

export type Outcome =
  | { kind: 'ack' }
  /** To the dead-letter topic (term, or too many attempts). */
  | { kind: 'dead'; reason: string }
  /** nack, a handler error or an ack timeout: deliver again after delayMs. */
  | { kind: 'retry'; delayMs: number; reason: string };

export class RabbitDelivery implements Delivery {
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

  ack(): Promise<void> {
    return this.settle({ kind: 'ack' });
  }

  async nack(delayMs = 0): Promise<void> {
    if (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0) {
      throw new TypeError('nack delayMs must be a finite number ≥ 0');
    }
    return this.settle({ kind: 'retry', delayMs, reason: 'nacked' });
  }

  term(reason = 'terminated'): Promise<void> {
    return this.settle({ kind: 'dead', reason: String(reason) });
  }
}
