/**
 * One delivery of the in-process broker. The first settlement wins: a late ack after an ack
 * timeout or after the member left is ignored, because the message went to someone else.
 */
import type { Delivery } from '../broker.ts';
import { type Outcome, SettlingDelivery } from '../delivery.ts';
import type { StoredMessage } from './topic.ts';

export type { Outcome };

/** Every ack is the same outcome: one object for all. */
export const ACK: Outcome = Object.freeze({ kind: 'ack' });

export class MemoryDelivery extends SettlingDelivery {
  readonly id: string;
  readonly key: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
  #payload: Uint8Array | undefined;
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
  }

  /**
   * Each delivery its own copy, so one group's handler cannot change what another sees; made
   * on first use, so a delivery whose bytes are only read (readOnlyPayload) is never copied.
   * Buffer.from copies into pooled memory: much cheaper than a fresh ArrayBuffer per delivery.
   */
  get payload(): Uint8Array {
    this.#payload ??= Buffer.from(this.message.payload);
    return this.#payload;
  }

  get settled(): boolean {
    return this.#settled;
  }

  /** As SettlingDelivery's, without an async function's extra turn: settling here is synchronous. */
  override ack(): Promise<void> {
    try {
      this.settle(ACK);
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Returns false when it was settled already. */
  settle(outcome: Outcome): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    this.onSettle(this, outcome);
    return true;
  }
}

/**
 * The payload of `delivery` for reading only, without the copy a MemoryDelivery makes for its
 * handler: for code that copies the bytes anyway (an encoder) and never writes them.
 */
export function readOnlyPayload(delivery: Delivery): Uint8Array {
  return delivery instanceof MemoryDelivery ? delivery.message.payload : delivery.payload;
}
