/**
 * One delivery of a Kafka record to a handler. The first settlement wins: a late ack after the
 * ack timeout, or after the member gave the message up (closing, partition revoked), is ignored.
 */
import type { DeliveryHandler } from '../broker.ts';
import { type Outcome as SettleOutcome, SettlingDelivery } from '../delivery.ts';
import type { ReceivedMessage } from './envelope.ts';

export type Outcome =
  | SettleOutcome
  /** This member let go of the message unsettled; it stays uncommitted for the next owner. */
  | { kind: 'abandoned' };

export class KafkaDelivery extends SettlingDelivery {
  readonly topic: string;
  readonly id: string;
  readonly key: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly payload: Uint8Array;
  #settled = false;

  constructor(
    message: ReceivedMessage,
    readonly attempt: number,
    readonly onSettle: (outcome: Outcome) => void,
  ) {
    super();
    this.topic = message.topic;
    this.id = message.id;
    this.key = message.key;
    this.headers = message.headers;
    // Each delivery its own copy, so a handler that changes it cannot change a redelivery.
    this.payload = new Uint8Array(message.payload);
  }

  /** Returns false when it was settled already. */
  settle(outcome: Outcome): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    this.onSettle(outcome);
    return true;
  }
}

export interface DeliverOptions {
  ackTimeoutMs: number;
  /** The pause before a delivery whose handler threw is retried. */
  backoffMs: (attempt: number) => number;
  /** Deliveries in flight, so that closing can wait for them and then give them up. */
  inFlight: Set<KafkaDelivery>;
}

/** Runs the handler once; resolves with how the delivery was settled. */
export function deliverOnce(
  handler: DeliveryHandler,
  message: ReceivedMessage,
  attempt: number,
  options: DeliverOptions,
): Promise<Outcome> {
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const delivery = new KafkaDelivery(message, attempt, (outcome) => {
      clearTimeout(timer);
      options.inFlight.delete(delivery);
      resolve(outcome);
    });
    options.inFlight.add(delivery);
    timer = setTimeout(
      () => delivery.settle({ kind: 'retry', delayMs: 0, reason: 'ack timeout' }),
      options.ackTimeoutMs,
    ).unref();
    const run = async () => handler(delivery);
    run().then(
      () => delivery.settle({ kind: 'ack' }),
      (err: unknown) => {
        const reason = err instanceof Error ? err.message : String(err);
        delivery.settle({ kind: 'retry', delayMs: options.backoffMs(attempt), reason });
      },
    );
  });
}
