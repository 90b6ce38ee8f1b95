/**
 * The Switchboard side of a comparison: any Broker adapter driven as an application uses it.
 * A publish awaits its receipt (the broker's durable acknowledgement); a consumer is a
 * subscription of the group from the earliest message whose handler returns after
 * `onMessage`, which acknowledges the delivery (broker.ts: resolving without settling acks).
 */
import type { Broker } from '../../src/messaging/broker.ts';
import type { Consumption, MessagingDriver } from './driver.ts';

export interface SwitchboardDriverOptions {
  /** "switchboard <broker kind>" unless set. */
  name?: string;
  /** Deliveries a subscription holds unsettled (SubscribeOptions.maxInFlight). 256 unless set. */
  maxInFlight?: number;
}

export const DEFAULT_MAX_IN_FLIGHT = 256;

export class SwitchboardDriver implements MessagingDriver {
  readonly name: string;
  readonly #broker: Broker;
  readonly #maxInFlight: number;

  constructor(broker: Broker, options: SwitchboardDriverOptions = {}) {
    this.#broker = broker;
    this.name = options.name ?? `switchboard ${broker.kind}`;
    this.#maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
  }

  async publish(topic: string, payload: Uint8Array): Promise<void> {
    await this.#broker.publish(topic, { payload });
  }

  async consume(
    topic: string,
    group: string,
    onMessage: (payload: Uint8Array) => void,
  ): Promise<Consumption> {
    const subscription = await this.#broker.subscribe(
      topic,
      (delivery) => {
        onMessage(delivery.payload);
      },
      { group, startAt: 'earliest', maxInFlight: this.#maxInFlight },
    );
    return { close: () => subscription.close() };
  }

  close(): Promise<void> {
    return this.#broker.close();
  }
}
