/**
 * One subscription: a consumer of its group's queue on a channel of its own, with a prefetch of
 * maxInFlight and manual acks. It keeps order per key within the member (KeyGate), applies the
 * ack timeout on the client (RabbitMQ's consumer_timeout is server-wide), runs the handler and
 * hands settlements other than an ack to the Settler. A delivery that arrives beyond maxAttempts
 * (its consumers kept dying) is dead-lettered without running the handler.
 *
 * When the channel or the connection goes away RabbitMQ requeues everything unacked; the consumer
 * forgets those deliveries (a late settlement of one is ignored), opens a new channel (on the new
 * connection) and consumes again.
 */
import type { Channel, ConsumeMessage } from 'amqplib';
import { backoffDelay } from '../../governance/backoff.ts';
import type { DeliveryHandler } from '../broker.ts';
import {
  type AmqpConnection,
  type ConnectionListener,
  closeQuietly,
  errorText,
  RabbitUnavailableError,
  type Session,
} from './connection.ts';
import { type Outcome, RabbitDelivery } from './delivery.ts';
import { decodeMessage } from './headers.ts';
import { KeyGate } from './key-gate.ts';
import type { ConfirmPublisher } from './publisher.ts';
import { type Epoch, type Received, Settler, type SettleSettings, tell } from './settler.ts';
import type { Topology } from './topology.ts';

export interface ConsumerSettings extends SettleSettings {
  prefetch: number;
  drainTimeoutMs: number;
  /** The pause before a delivery whose handler threw is retried, by attempt. */
  backoffMs(attempt: number): number;
  reconnect: { baseMs: number; maxMs: number };
}

const settledAlready = Promise.resolve();
/**
 * How long a closing channel lets RabbitMQ apply its last acks: a quorum queue may ignore acks
 * that arrive just before their channel closes (rabbitmq-server#10327) and deliver those
 * messages again; a round trip on the channel is not enough.
 */
const ACK_GRACE_MS = 100;

export class GroupConsumer implements ConnectionListener {
  readonly #s: ConsumerSettings;
  readonly #queue: string;
  readonly #settler: Settler;
  readonly #gate = new KeyGate<Received>();
  /** Deliveries handed to the handler and not settled, with their ack timers. */
  readonly #running = new Map<RabbitDelivery, NodeJS.Timeout>();
  /** Settlements still talking to RabbitMQ. */
  readonly #settling = new Set<Promise<void>>();
  readonly #unwatch: () => void;
  #epoch: Epoch | undefined;
  #starting = false;
  #failures = 0;
  #restartTimer: NodeJS.Timeout | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  #idle: (() => void) | undefined;
  /** Told when a start succeeds or the consumer closes, for startAgain. */
  #started: ((error?: Error) => void) | undefined;

  constructor(
    readonly connection: AmqpConnection,
    readonly publisher: ConfirmPublisher,
    readonly topology: Topology,
    readonly handler: DeliveryHandler,
    settings: ConsumerSettings,
  ) {
    this.#s = settings;
    this.#queue = topology.groupQueue(settings.topic, settings.options.group);
    this.#settler = new Settler(publisher, topology, settings, this.#queue);
    this.#unwatch = connection.watch(this);
  }

  /** Declares the group's queue and starts consuming; rejects when that fails. */
  async start(session: Session): Promise<void> {
    this.#starting = true;
    try {
      const { topic, options } = this.#s;
      await session.declare(`group:${this.#queue}`, (ch) =>
        this.topology.declareGroup(ch, topic, options.group),
      );
      const channel = await session.openChannel();
      const epoch: Epoch = { channel, alive: true };
      channel.on('close', () => this.#lost(epoch));
      this.#epoch = epoch;
      await channel.prefetch(this.#s.prefetch);
      const { consumerTag } = await channel.consume(this.#queue, (m) => this.#arrive(epoch, m), {
        noAck: false,
      });
      epoch.consumerTag = consumerTag;
      this.#failures = 0;
      this.#started?.();
      if (this.#closed) await closeQuietly(channel); // closed while starting
    } catch (error) {
      if (this.#epoch) await closeQuietly(this.#epoch.channel);
      throw error;
    } finally {
      this.#starting = false;
    }
  }

  /**
   * After a start whose connection was lost: starts on the next connection, as a restart would,
   * and resolves once consuming; rejects with `cause`'s story after `timeoutMs`.
   */
  startAgain(timeoutMs: number, cause: unknown): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#started?.(
          new RabbitUnavailableError(
            `the connection to RabbitMQ was lost while subscribing (${errorText(cause)}) and no new one ` +
              `consumed within ${timeoutMs} ms (${this.connection.lastError})`,
          ),
        );
      }, timeoutMs);
      this.#started = (error) => {
        clearTimeout(timer);
        this.#started = undefined;
        if (error) reject(error);
        else resolve();
      };
      // A connection that came back during the failed start found it busy and left it alone.
      this.#scheduleRestart();
    });
  }

  up(session: Session): void {
    this.#failures = 0;
    void this.#restart(session);
  }

  down(): void {
    // The channel's own 'close' event follows.
  }

  /** Stops taking deliveries, waits (bounded) for the running ones, then leaves the group. */
  close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    clearTimeout(this.#restartTimer);
    this.#started?.(new Error('rabbitmq subscription closed while subscribing'));
    this.#unwatch();
    const epoch = this.#epoch;
    // Competing members: cancel at once so the others take new messages during the drain. A
    // single active consumer keeps its place instead, so what it returns at the end goes to the
    // next member ahead of newer messages.
    if (epoch?.consumerTag !== undefined && !this.#s.singleActive) {
      await epoch.channel.cancel(epoch.consumerTag).catch(() => {});
    }
    await this.#drained(this.#s.drainTimeoutMs);
    if (epoch) {
      await this.#roundTrip(epoch.channel);
      await closeQuietly(epoch.channel);
      this.#lost(epoch);
    }
  }

  /**
   * Waits (at most 2 s) until RabbitMQ has taken what was sent on the channel, with a basic.qos
   * that changes nothing: acks sent just before a channel.close may be dropped with the channel,
   * and a quorum queue then delivers those messages again.
   */
  async #roundTrip(channel: Channel): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      channel.prefetch(this.#s.prefetch).catch(() => {}),
      new Promise((resolve) => {
        timer = setTimeout(resolve, 2000);
      }),
    ]);
    clearTimeout(timer);
    await new Promise((resolve) => setTimeout(resolve, ACK_GRACE_MS));
  }

  #arrive(epoch: Epoch, message: ConsumeMessage | null): void {
    if (!epoch.alive) return;
    if (message === null) {
      // Cancelled by the broker (its queue was deleted): a new channel declares it again.
      void closeQuietly(epoch.channel);
      return;
    }
    if (this.#closed) return; // left unacked: requeued when the channel closes
    const decoded = decodeMessage(message);
    const received: Received = {
      id: decoded.id,
      key: decoded.key,
      message,
      epoch,
      delivery: new RabbitDelivery(this.#s.topic, decoded, message.content, (_, outcome) =>
        this.#settle(received, outcome),
      ),
    };
    if (this.#gate.admit(received)) this.#run(received);
  }

  #run(received: Received): void {
    if (this.#closed || !received.epoch.alive) return;
    const { delivery } = received;
    const { maxAttempts, ackTimeoutMs } = this.#s.options;
    if (delivery.attempt > maxAttempts) {
      void delivery.settle({
        kind: 'term',
        reason: `delivered ${delivery.attempt - 1} times without success`,
      });
      return;
    }
    const timer = setTimeout(() => {
      void delivery.settle({ kind: 'retry', delayMs: 0, reason: 'ack timeout' });
    }, ackTimeoutMs);
    this.#running.set(delivery, timer.unref());
    this.#invoke(delivery);
  }

  /** Runs the handler; a synchronous one settles without a hop through the microtask queue. */
  #invoke(delivery: RabbitDelivery): void {
    let result: unknown;
    try {
      result = this.handler(delivery);
    } catch (error) {
      this.#handlerFailed(delivery, error);
      return;
    }
    if (typeof (result as PromiseLike<void> | undefined)?.then === 'function') {
      (result as PromiseLike<void>).then(
        () => delivery.settle({ kind: 'ack' }),
        (error: unknown) => this.#handlerFailed(delivery, error),
      );
    } else {
      void delivery.settle({ kind: 'ack' });
    }
  }

  #handlerFailed(delivery: RabbitDelivery, error: unknown): void {
    const reason = error instanceof Error ? error.message : String(error);
    void delivery.settle({ kind: 'retry', delayMs: this.#s.backoffMs(delivery.attempt), reason });
  }

  #settle(received: Received, outcome: Outcome): Promise<void> {
    const timer = this.#running.get(received.delivery);
    if (timer) {
      clearTimeout(timer);
      this.#running.delete(received.delivery);
    }
    if (!received.epoch.alive) {
      this.#checkIdle();
      return settledAlready; // RabbitMQ requeued it with its channel
    }
    if (outcome.kind === 'ack') {
      tell(received, (channel) => channel.ack(received.message));
      this.#next(received);
      this.#checkIdle();
      return settledAlready;
    }
    const done = this.#settler.apply(received, outcome).then((awaitId) => this.#next(received, awaitId));
    this.#settling.add(done);
    void done.then(() => {
      this.#settling.delete(done);
      this.#checkIdle();
    });
    return done;
  }

  /** Lets the key's next delivery run, or (awaitId) waits for the requeued one to return first. */
  #next(received: Received, awaitId?: string): void {
    const { key } = received;
    if (awaitId !== undefined && key !== undefined) {
      this.#gate.release(key, awaitId);
      const timer = setTimeout(() => {
        const next = this.#gate.giveUp(key, awaitId);
        if (next) this.#run(next);
      }, this.#s.options.ackTimeoutMs);
      timer.unref();
      return;
    }
    const next = this.#gate.release(key);
    if (next) this.#run(next);
  }

  #lost(epoch: Epoch): void {
    if (!epoch.alive) return;
    epoch.alive = false;
    if (this.#epoch === epoch) this.#epoch = undefined;
    this.#gate.clear();
    for (const [delivery, timer] of this.#running) {
      clearTimeout(timer);
      this.#running.delete(delivery);
    }
    this.#checkIdle();
    if (!this.#closed) this.#scheduleRestart();
  }

  #scheduleRestart(): void {
    if (this.#closed || this.#restartTimer || !this.connection.session) return;
    const delay = backoffDelay(this.#failures++, this.#s.reconnect);
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      const session = this.connection.session;
      if (session) void this.#restart(session);
    }, delay);
  }

  async #restart(session: Session): Promise<void> {
    if (this.#closed || this.#epoch || this.#starting || session.closed) return;
    session.forget(`group:${this.#queue}`); // it may have been deleted
    try {
      await this.start(session);
    } catch {
      this.#scheduleRestart();
    }
  }

  #drained(ms: number): Promise<void> {
    if (this.#isIdle()) return settledAlready;
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#idle = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  #isIdle(): boolean {
    return this.#running.size === 0 && this.#settling.size === 0;
  }

  #checkIdle(): void {
    if (this.#idle && this.#isIdle()) {
      this.#idle();
      this.#idle = undefined;
    }
  }
}
