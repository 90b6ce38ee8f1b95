/**
 * One delivery of the in-process broker. The first settlement wins: a late ack after an ack
 * timeout or after the member left is ignored, because the message went to someone else.
 */
import { type Outcome, SettlingDelivery } from '../delivery.ts';
import type { StoredMessage } from './topic.ts';

export type { Outcome };

export class MemoryDelivery extends SettlingDelivery {
  readonly id: string;
  readonly key: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly payload: Uint8Array;
  #settled = false;

  constructor(
    readonly topic: string,
    readonly message: StoredMessage,
    readonly attempt: number,
    readonly onSettle: (delivery: MemoryDelivery, outcome: Outcome) => void,
  ) {
    super();
    this.id = message.id;
    this.key = message.key;
    this.headers = message.headers;
    // Each delivery its own copy, so one group's handler cannot change what another sees.
    // Buffer.from copies into pooled memory: much cheaper than a fresh ArrayBuffer per delivery.
    this.payload = Buffer.from(message.payload);
  }

  get settled(): boolean {
    return this.#settled;
  }

  /** Returns false when it was settled already. */
  settle(outcome: Outcome): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    this.onSettle(this, outcome);
    return true;
  }
}
