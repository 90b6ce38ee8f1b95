/**
 * Publishing with publisher confirms: a publish resolves when RabbitMQ confirms it (a persistent
 * message is then on disk in every queue it was routed to). The whole publish — waiting for a
 * connection during an outage, declaring the exchange, the confirm — is bounded by
 * publishTimeoutMs, and at most maxBufferedPublishes wait for a connection.
 *
 * A publish that was sent but not confirmed when the connection is lost is rejected, not sent
 * again: RabbitMQ keeps no ids, so a resend could be a second copy. The caller decides (the
 * message may or may not have been stored).
 *
 * Once the exchange is declared and the confirm channel open, a publish is written at once,
 * without a hop through the event loop: that path is most of the adapter's publishing cost.
 */
import type { Channel, ConfirmChannel, Options } from 'amqplib';
import { type AmqpConnection, errorText, RabbitUnavailableError, type Session } from './connection.ts';

/** Where a message goes, and what must be declared first (once per connection). */
export interface PublishTarget {
  exchange: string;
  routingKey: string;
  /** Names the declaration, so it runs once per connection. */
  declaration: string;
  declare(channel: Channel): Promise<unknown>;
}

/**
 * One publish until it is confirmed or fails. A class rather than closures: a publish is the hot
 * path, and its state is one object.
 */
class PendingPublish {
  readonly #timer: NodeJS.Timeout;
  #done = false;
  /** Where it is, for the timeout's message. */
  stage: 'connecting' | 'declaring' | 'sent' = 'connecting';

  constructor(
    readonly publisher: ConfirmPublisher,
    readonly resolve: () => void,
    readonly reject: (error: Error) => void,
  ) {
    this.#timer = setTimeout(timedOut, publisher.timeoutMs, this);
  }

  finish(error?: Error): void {
    if (this.#done) return;
    this.#done = true;
    clearTimeout(this.#timer);
    this.publisher.settled();
    if (error) this.reject(error);
    else this.resolve();
  }
}

function blocked(connection: AmqpConnection): string {
  const reason = connection.session?.blocked;
  return reason === undefined ? '' : ` (it blocks publishers: ${reason})`;
}

function timedOut(pending: PendingPublish): void {
  const { timeoutMs, connection } = pending.publisher;
  const within = `within ${timeoutMs} ms (publishTimeoutMs)`;
  const why =
    pending.stage === 'sent'
      ? `RabbitMQ did not confirm the publish ${within}${blocked(connection)}; ` +
        'it may or may not have been stored'
      : pending.stage === 'declaring'
        ? `RabbitMQ did not answer ${within} (declaring the exchange); the message was not sent`
        : `RabbitMQ has been unreachable for ${timeoutMs} ms (${connection.lastError}): publish not done`;
  pending.finish(new RabbitUnavailableError(why));
}

export class ConfirmPublisher {
  readonly connection: AmqpConnection;
  readonly timeoutMs: number;
  /** Publishes not yet confirmed or failed, and who waits for there to be none. */
  #pending = 0;
  #idle: (() => void)[] = [];

  constructor(connection: AmqpConnection, timeoutMs: number) {
    this.connection = connection;
    this.timeoutMs = timeoutMs;
  }

  publish(target: PublishTarget, content: Buffer, options: Options.Publish): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#pending++;
      const pending = new PendingPublish(this, resolve, reject);
      const session = this.connection.session;
      const channel = session?.openConfirmChannel;
      if (session && channel && session.isDeclared(target.declaration)) {
        this.#send(session, channel, target, content, options, pending);
      } else {
        this.#prepareAndSend(target, content, options, pending).catch((error: Error) =>
          pending.finish(error),
        );
      }
    });
  }

  /** A publish is over (PendingPublish.finish). */
  settled(): void {
    if (--this.#pending === 0) for (const wake of this.#idle.splice(0)) wake();
  }

  /** Resolves once every publish in flight has been confirmed or has failed. */
  idle(): Promise<void> {
    if (this.#pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  async #prepareAndSend(
    target: PublishTarget,
    content: Buffer,
    options: Options.Publish,
    pending: PendingPublish,
  ): Promise<void> {
    const session =
      this.connection.session ?? (await this.connection.waitForSession(this.timeoutMs, 'publish'));
    pending.stage = 'declaring';
    try {
      await session.declare(target.declaration, target.declare);
      const channel = await session.confirmChannel();
      this.#send(session, channel, target, content, options, pending);
    } catch (error) {
      this.#failed(session, error, pending);
    }
  }

  #send(
    session: Session,
    channel: ConfirmChannel,
    target: PublishTarget,
    content: Buffer,
    options: Options.Publish,
    pending: PendingPublish,
  ): void {
    pending.stage = 'sent';
    try {
      channel.publish(target.exchange, target.routingKey, content, options, (error) => {
        if (error) this.#failed(session, error, pending);
        else pending.finish();
      });
    } catch (error) {
      this.#failed(session, error, pending);
    }
  }

  /**
   * A lost connection closes its channels (failing their publishes) before it reports itself
   * closed, synchronously: look at the session once that is over, to say which happened.
   */
  #failed(session: Session, error: unknown, pending: PendingPublish): void {
    queueMicrotask(() => {
      if (session.closed) {
        pending.finish(
          new RabbitUnavailableError(
            `the connection to RabbitMQ was lost before it confirmed the publish (${errorText(error)}); ` +
              'it may or may not have been stored',
          ),
        );
        return;
      }
      const why = session.confirmError ? `${errorText(error)}: ${session.confirmError}` : errorText(error);
      pending.finish(new Error(`RabbitMQ refused the publish (${why})`));
    });
  }
}
