/**
 * The client's AMQP connection, kept alive: amqplib does not reconnect by itself, so when the
 * connection is lost (a closed socket, or missed heartbeats on a silent network) this opens a new
 * one after a fully jittered, growing backoff (governance's backoffDelay), and tells its
 * listeners — the publisher and every subscription — which re-create their channels and
 * topology. Each connection is a Session that shares one confirm channel (publishing) and one
 * channel for declarations, whose failures (an inequivalent queue, say) must not close the
 * publishing channel.
 */
import { type Channel, type ChannelModel, type ConfirmChannel, connect } from 'amqplib';
import { backoffDelay } from '../../governance/backoff.ts';
import { describeUrl, type ResolvedRabbitOptions } from './options.ts';

/** RabbitMQ cannot be reached now; the operation was not carried out. */
export class RabbitUnavailableError extends Error {
  override readonly name = 'RabbitUnavailableError';
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

interface Closable {
  close(): Promise<void>;
  once(event: 'close', listener: () => void): unknown;
}

/**
 * Closes an amqplib channel or connection, waiting for the broker's answer at most `ms`: amqplib
 * never settles a close whose connection dies before the answer (or never gets one, on a silent
 * network). Resolves either way; never rejects.
 */
export function closeQuietly(closable: Closable, ms = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    const done = () => {
      clearTimeout(timer);
      resolve(true);
    };
    closable.once('close', done);
    try {
      closable.close().then(done, done);
    } catch {
      done(); // closed already
    }
  });
}

/** One live connection and the channels shared on it. */
export class Session {
  #closed = false;
  /** Why the broker last closed the confirm channel, for the publishes that failed with it. */
  confirmError: string | undefined;
  /** Why the broker blocks this connection's publishes (a resource alarm), while it does. */
  blocked: string | undefined;
  #declarer: Promise<Channel> | undefined;
  #confirm: Promise<ConfirmChannel> | undefined;
  /** Declarations made on this connection, by name, so each is made once. */
  readonly #declared = new Map<string, Promise<unknown>>();
  /** The names of those that completed, for publishing without waiting. */
  readonly #completed = new Set<string>();
  /** The confirm channel once open, for publishing without waiting. */
  openConfirmChannel: ConfirmChannel | undefined;

  constructor(readonly model: ChannelModel) {}

  get closed(): boolean {
    return this.#closed;
  }

  markClosed(): void {
    this.#closed = true;
  }

  /** A new channel whose errors are reported by its 'close' event rather than thrown. */
  async openChannel(): Promise<Channel> {
    const channel = await this.model.createChannel();
    channel.on('error', () => {});
    return channel;
  }

  /** Runs `declare` once per connection for `name` (again after a failure or `forget`). */
  declare<T>(name: string, declare: (channel: Channel) => Promise<T>): Promise<T> {
    let done = this.#declared.get(name) as Promise<T> | undefined;
    if (!done) {
      const declaring = this.#declaringChannel().then(declare);
      declaring.then(
        () => {
          if (this.#declared.get(name) === declaring) this.#completed.add(name);
        },
        () => {
          if (this.#declared.get(name) === declaring) this.#declared.delete(name);
        },
      );
      this.#declared.set(name, declaring);
      done = declaring;
    }
    return done;
  }

  isDeclared(name: string): boolean {
    return this.#completed.has(name);
  }

  forget(name: string): void {
    this.#declared.delete(name);
    this.#completed.delete(name);
  }

  /** The shared confirm channel, opened again when the broker closed it (a publish to a
   * deleted exchange does), together with what was declared, which may be gone. */
  confirmChannel(): Promise<ConfirmChannel> {
    if (!this.#confirm) {
      const opening = this.model.createConfirmChannel().then((channel) => {
        channel.on('error', (error: unknown) => {
          this.confirmError = errorText(error);
        });
        channel.on('close', () => {
          this.#confirm = undefined;
          this.openConfirmChannel = undefined;
          this.#declared.clear();
          this.#completed.clear();
        });
        this.openConfirmChannel = channel;
        return channel;
      });
      opening.catch(() => {
        if (this.#confirm === opening) this.#confirm = undefined;
      });
      this.#confirm = opening;
    }
    return this.#confirm;
  }

  #declaringChannel(): Promise<Channel> {
    if (!this.#declarer) {
      const opening = this.openChannel().then((channel) => {
        channel.on('close', () => {
          this.#declarer = undefined;
        });
        return channel;
      });
      opening.catch(() => {
        if (this.#declarer === opening) this.#declarer = undefined;
      });
      this.#declarer = opening;
    }
    return this.#declarer;
  }
}

export interface ConnectionListener {
  /** A new connection is up: open channels and declare on it. */
  up(session: Session): void;
  /** The connection is lost; a new one is on its way. */
  down(): void;
}

interface Waiter {
  resolve(session: Session): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

export class AmqpConnection {
  readonly #options: ResolvedRabbitOptions;
  readonly #url: string;
  readonly #listeners = new Set<ConnectionListener>();
  readonly #waiters = new Set<Waiter>();
  #session: Session | undefined;
  #failures = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #lastError = 'not connected yet';

  private constructor(options: ResolvedRabbitOptions) {
    this.#options = options;
    const url = new URL(options.url);
    if (!url.searchParams.has('heartbeat')) {
      url.searchParams.set('heartbeat', String(options.heartbeatSeconds));
    }
    this.#url = url.toString();
  }

  /** Connects; fails when the first connection cannot be made. */
  static async open(options: ResolvedRabbitOptions): Promise<AmqpConnection> {
    const connection = new AmqpConnection(options);
    await connection.#connect(true);
    return connection;
  }

  /** Why the last connection ended or failed, for error messages. */
  get lastError(): string {
    return this.#lastError;
  }

  /** The live connection, if there is one now. */
  get session(): Session | undefined {
    return this.#session;
  }

  /** The live connection; during an outage, waits for the next up to `timeoutMs`. */
  waitForSession(timeoutMs: number, what: string): Promise<Session> {
    if (this.#session) return Promise.resolve(this.#session);
    if (this.#closed) return Promise.reject(new Error('rabbitmq broker client is closed'));
    const limit = this.#options.maxBufferedPublishes;
    if (this.#waiters.size >= limit) {
      return Promise.reject(
        new RabbitUnavailableError(
          `RabbitMQ is unreachable (${this.#lastError}) and ${limit} operations already wait for it ` +
            `(maxBufferedPublishes): ${what} refused`,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#waiters.delete(waiter);
          reject(
            new RabbitUnavailableError(
              `RabbitMQ has been unreachable for ${timeoutMs} ms (${this.#lastError}): ${what} not done`,
            ),
          );
        }, timeoutMs),
      };
      this.#waiters.add(waiter);
    });
  }

  watch(listener: ConnectionListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    for (const waiter of this.#waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(new Error('rabbitmq broker client is closed'));
    }
    this.#waiters.clear();
    const session = this.#session;
    this.#session = undefined;
    if (!session) return;
    session.markClosed();
    if (!(await closeQuietly(session.model))) {
      // No answer: drop the socket rather than leave it open.
      (session.model.connection as unknown as { stream?: { destroy(): void } }).stream?.destroy();
    }
  }

  async #connect(first: boolean): Promise<void> {
    let model: ChannelModel;
    try {
      model = await connect(this.#url, {
        timeout: this.#options.connectTimeoutMs,
        clientProperties: { connection_name: 'switchboard' },
      });
    } catch (error) {
      this.#lastError = errorText(error);
      if (first) {
        throw new RabbitUnavailableError(
          `cannot connect to RabbitMQ at ${describeUrl(this.#options.url)}: ${this.#lastError}`,
        );
      }
      return this.#scheduleReconnect();
    }
    if (this.#closed) {
      await closeQuietly(model);
      return;
    }
    const session = new Session(model);
    model.on('error', (error: unknown) => {
      this.#lastError = errorText(error);
    });
    model.on('close', (error: unknown) => this.#lost(session, error));
    // Memory or disk alarms: publishes wait for their confirm (then time out) meanwhile.
    model.on('blocked', (reason: unknown) => {
      session.blocked = String(reason);
    });
    model.on('unblocked', () => {
      session.blocked = undefined;
    });
    this.#session = session;
    this.#failures = 0;
    for (const waiter of this.#waiters) {
      clearTimeout(waiter.timer);
      waiter.resolve(session);
    }
    this.#waiters.clear();
    for (const listener of this.#listeners) listener.up(session);
  }

  #lost(session: Session, error: unknown): void {
    session.markClosed();
    if (this.#session !== session) return;
    this.#session = undefined;
    this.#lastError = error ? errorText(error) : 'connection closed';
    for (const listener of this.#listeners) listener.down();
    if (!this.#closed) this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#closed) return;
    const delay = backoffDelay(this.#failures++, this.#options.reconnect);
    // Not unref'd: a subscriber process waits for its broker as it waits on an open socket.
    this.#timer = setTimeout(() => void this.#connect(false), delay);
  }
}
