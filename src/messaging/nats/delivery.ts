/**
 * One delivery of a JetStream message to one member. The first settlement wins; a delivery
 * whose message JetStream handed out again (its ack wait passed) or whose member left is
 * superseded, and its late settlements are ignored, as the message went on without it.
 */
import type { JsMsg } from '@nats-io/jetstream';
import { type Outcome, SettlingDelivery } from '../delivery.ts';
import { fromNatsHeaders } from './headers.ts';

export type { Outcome };

export class NatsDelivery extends SettlingDelivery {
  readonly id: string;
  readonly key: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly payload: Uint8Array;
  readonly attempt: number;
  /** The stream sequence: one message, whatever the delivery. */
  readonly seq: number;
  /** When the broker last heard of this delivery (delivered, or told it is still being worked on). */
  touchedAt = Date.now();
  #settled = false;

  constructor(
    readonly topic: string,
    readonly stream: string,
    readonly msg: JsMsg,
    readonly onSettle: (delivery: NatsDelivery, outcome: Outcome) => void,
  ) {
    super();
    // The client's message has the ack subject as `reply`, though its interface does not say so.
    const reply = (msg as JsMsg & { reply?: unknown }).reply;
    const counts = typeof reply === 'string' ? ackSubjectCounts(reply) : undefined;
    this.seq = counts ? counts.seq : msg.seq;
    this.attempt = counts ? counts.attempt : msg.info.deliveryCount;
    this.payload = msg.data;
    let decoded: ReturnType<typeof fromNatsHeaders>;
    try {
      decoded = fromNatsHeaders(msg.headers);
    } catch {
      // A header block no client of ours wrote: the payload still deserves a handler.
      decoded = { id: undefined, key: undefined, headers: {} };
    }
    // A message published without an id (a foreign client's) is named by its place in the stream.
    this.id = decoded.id ?? `${stream}:${this.seq}`;
    this.key = decoded.key;
    this.headers = Object.freeze(decoded.headers);
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

  /** Settled by the broker, not the handler: whatever the handler does next is ignored. */
  supersede(): void {
    this.#settled = true;
  }

  /** Tells JetStream the message is still being worked on, restarting its ack wait. */
  touch(): void {
    this.touchedAt = Date.now();
    quietly(() => this.msg.working());
  }
}

/**
 * Acks, naks and terms are fire-and-forget publishes; on a closed connection they throw, and
 * then JetStream's ack wait redelivers the message, which is what at-least-once asks for.
 */
export function quietly(send: () => void): void {
  try {
    send();
  } catch {
    // see above
  }
}

/**
 * The delivery count and stream sequence in a JetStream ack subject, read in place: the client's
 * own parse (msg.info) splits the subject into an object of eleven fields, a seventh of a
 * consumer's CPU. `$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<time>.
 * <pending>`, or with `<domain>.<account hash>` after ACK and a token at the end. Undefined for
 * anything else (the caller falls back on the client's parse, which says what is wrong).
 */
export function ackSubjectCounts(reply: string): { attempt: number; seq: number } | undefined {
  if (!reply.startsWith('$JS.ACK.')) return undefined;
  const dots: number[] = [];
  for (let i = reply.indexOf('.'); i !== -1; i = reply.indexOf('.', i + 1)) dots.push(i);
  const tokens = dots.length + 1;
  const first = tokens === 9 ? 4 : tokens >= 11 ? 6 : -1;
  if (first < 0) return undefined;
  const attempt = Number(reply.slice(dots[first - 1]! + 1, dots[first]));
  const seq = Number(reply.slice(dots[first]! + 1, dots[first + 1]));
  if (!Number.isSafeInteger(attempt) || !Number.isSafeInteger(seq) || attempt < 1) return undefined;
  return { attempt, seq };
}
