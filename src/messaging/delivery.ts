/**
 * What every adapter's Delivery shares: ack, nack(delay) and term(reason) each become one
 * Outcome handed to `settle`, which the adapter implements (and guards: the first settlement
 * wins, so a late ack after an ack timeout is ignored).
 */
import type { Delivery } from './broker.ts';
import { MAX_TIMER_MS } from './validate.ts';

export type Outcome =
  | { kind: 'ack' }
  /** To the dead-letter topic (term, or too many attempts). */
  | { kind: 'term'; reason: string }
  /** nack, a handler error, an ack timeout or an abandoned delivery: try again after delayMs. */
  | { kind: 'retry'; delayMs: number; reason: string };

export abstract class SettlingDelivery implements Delivery {
  abstract readonly topic: string;
  abstract readonly id: string;
  abstract readonly key: string | undefined;
  abstract readonly headers: Readonly<Record<string, string>>;
  abstract readonly payload: Uint8Array;
  abstract readonly attempt: number;

  /** Acts on the outcome unless the delivery was settled already. */
  abstract settle(outcome: Outcome): unknown;

  async ack(): Promise<void> {
    await this.settle({ kind: 'ack' });
  }

  async nack(delayMs = 0): Promise<void> {
    if (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0) {
      throw new TypeError('nack delayMs must be a finite number ≥ 0');
    }
    // Every adapter waits with a timer somewhere; a longer delay would fire at once.
    await this.settle({ kind: 'retry', delayMs: Math.min(delayMs, MAX_TIMER_MS), reason: 'nacked' });
  }

  async term(reason = 'terminated'): Promise<void> {
    await this.settle({ kind: 'term', reason: String(reason) });
  }
}
