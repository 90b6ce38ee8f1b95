/**
 * What the messaging benchmark drives: one broker, reached either through a Switchboard Broker
 * adapter or through the broker's own client used directly (the "bare" baseline the issue's
 * ≥0.8× target compares against). Both sides of one comparison run the same workload: 1 KiB
 * payloads whose first 8 bytes carry the publish time, so the consumer measures end to end.
 */
export interface Consumption {
  /** Stops consuming; resolves once the consumer has left. */
  close(): Promise<void>;
}

export interface MessagingDriver {
  /** "switchboard nats", "bare nats", … */
  readonly name: string;
  /** Publishes one message; resolves when the broker has confirmed it (its durable ack). */
  publish(topic: string, payload: Uint8Array): Promise<void>;
  /**
   * Consumes `topic` as a member of `group` from the earliest message, calling `onMessage` for
   * each one and acknowledging it (manual ack, as an at-least-once consumer does).
   */
  consume(topic: string, group: string, onMessage: (payload: Uint8Array) => void): Promise<Consumption>;
  /** Creates the topic/stream/queue when the broker needs that before publishing. */
  prepare?(topic: string): Promise<void>;
  /**
   * Removes what a run made on the broker for these topics and groups (streams, queues, keys),
   * when the driver knows how; the benchmark calls it once its phases are over.
   */
  cleanup?(topics: readonly string[], groups: readonly string[]): Promise<void>;
  close(): Promise<void>;
}
