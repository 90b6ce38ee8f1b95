/**
 * Settlements other than an ack, in AMQP terms:
 *
 * - retry without delay → basic.nack with requeue on a quorum queue, which counts it
 *   (x-delivery-count) and returns it ahead of undelivered messages; on a classic queue, which
 *   counts nothing, a copy with the attempt in `x-sb-attempts` goes to the queue's tail instead;
 * - retry with a delay (nack(delayMs), a handler error's backoff) → a copy into the delay queue,
 *   which dead-letters it back to the group's queue, then basic.ack;
 * - term, or a retry of the maxAttempts-th delivery → a copy to the dead-letter topic with the
 *   caller's headers plus x-death-reason, -attempts, -topic and -group, then basic.ack.
 *
 * Copies are confirmed before the original is acked, so a crash in between duplicates rather than
 * loses; a copy that fails leaves the original to be delivered again (nack with requeue).
 */
import type { Channel, ConsumeMessage } from 'amqplib';
import type { ResolvedSubscribeOptions } from '../validate.ts';
import type { Outcome, RabbitDelivery } from './delivery.ts';
import { ATTEMPTS_HEADER, amqpHeaders, keptProperties } from './headers.ts';
import type { ConfirmPublisher, PublishTarget } from './publisher.ts';
import { delayBucket, type Topology } from './topology.ts';

/** A channel's life: deliveries of a closed channel were requeued by RabbitMQ. */
export interface Epoch {
  readonly channel: Channel;
  alive: boolean;
  consumerTag?: string;
}

/** A delivery with what RabbitMQ needs to settle it. */
export interface Received {
  readonly id: string;
  readonly key: string | undefined;
  readonly delivery: RabbitDelivery;
  readonly message: ConsumeMessage;
  readonly epoch: Epoch;
}

export interface SettleSettings {
  topic: string;
  options: ResolvedSubscribeOptions;
  /** Quorum queue: a plain retry is a requeue, counted by RabbitMQ. */
  requeueCounts: boolean;
  /** Single active consumer: a requeued delivery comes back to this member. */
  singleActive: boolean;
}

/** Acks or nacks on the delivery's channel, unless that channel is gone already. */
export function tell(received: Received, act: (channel: Channel) => void): void {
  if (!received.epoch.alive) return;
  try {
    act(received.epoch.channel);
  } catch {
    // The channel closed meanwhile; RabbitMQ requeues the message.
  }
}

export class Settler {
  constructor(
    readonly publisher: ConfirmPublisher,
    readonly topology: Topology,
    readonly settings: SettleSettings,
    /** The group's queue. */
    readonly queue: string,
  ) {}

  /**
   * Settles at RabbitMQ. Resolves (never rejects) to the id the delivery's key must wait for
   * when it was requeued in place and will come back to this member, else undefined.
   */
  async apply(received: Received, outcome: Exclude<Outcome, { kind: 'ack' }>): Promise<string | undefined> {
    const { delivery, message } = received;
    const { maxAttempts } = this.settings.options;
    try {
      if (outcome.kind === 'term') {
        await this.#deadLetter(received, outcome.reason);
      } else if (delivery.attempt >= maxAttempts) {
        await this.#deadLetter(received, `max attempts (${maxAttempts}) reached: ${outcome.reason}`);
      } else if (outcome.delayMs === 0 && this.settings.requeueCounts) {
        tell(received, (channel) => channel.nack(message, false, true));
        return this.settings.singleActive ? delivery.id : undefined;
      } else {
        const bucket = outcome.delayMs === 0 ? 0 : delayBucket(outcome.delayMs);
        await this.#copy(received, this.topology.retryTarget(this.queue, bucket), {
          [ATTEMPTS_HEADER]: String(delivery.attempt),
        });
      }
      tell(received, (channel) => channel.ack(message));
    } catch {
      // The copy was not confirmed: leave the message to RabbitMQ to deliver again.
      tell(received, (channel) => channel.nack(message, false, true));
    }
    return undefined;
  }

  async #deadLetter(received: Received, reason: string): Promise<void> {
    const { topic, options } = this.settings;
    const to = options.deadLetterTopic;
    if (to === false) return;
    await this.#copy(received, this.topology.topicTarget(to ?? `${topic}.dlq`, received.key), {
      'x-death-reason': reason,
      'x-death-attempts': String(received.delivery.attempt),
      'x-death-topic': topic,
      'x-death-group': options.group,
    });
  }

  /** Publishes the delivered message again, with the caller's headers and `extra`. */
  #copy(received: Received, target: PublishTarget, extra: Record<string, string>): Promise<void> {
    const { delivery, message } = received;
    return this.publisher.publish(target, message.content, {
      ...keptProperties(message.properties),
      persistent: true,
      messageId: delivery.id,
      headers: { ...amqpHeaders(delivery.headers, delivery.key), ...extra },
    });
  }
}
