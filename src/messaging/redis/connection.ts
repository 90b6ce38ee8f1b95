/**
 * The broker's connections to Redis. ioredis reconnects by itself; what this file adds is that
 * nothing waits without bound while it does: no offline queue (a command on a lost connection
 * fails at once), a command timeout, and a gate where publishes wait for the connection within
 * `publishTimeoutMs`, at most `maxBufferedPublishes` of them.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { ResolvedRedisOptions } from './options.ts';

/** Redis could not be reached, or did not answer in time. */
export class RedisUnavailableError extends Error {
  readonly code = 'REDIS_UNAVAILABLE';

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'RedisUnavailableError';
  }
}

const CONNECTION_TROUBLE =
  /Connection is closed|isn't writeable|Command timed out|ECONNREFUSED|ECONNRESET|EPIPE/;

/** A lost connection becomes a RedisUnavailableError; a reply error (WRONGTYPE, OOM…) stays. */
export function explain(error: unknown, what: string, where: string): Error {
  if (!(error instanceof Error)) return new Error(`${what} failed: ${String(error)}`);
  if (error instanceof RedisUnavailableError) {
    return new RedisUnavailableError(`${what} failed: ${error.message}`, { cause: error });
  }
  if (CONNECTION_TROUBLE.test(error.message)) {
    return new RedisUnavailableError(`${what} failed: Redis at ${where} is unavailable (${error.message})`, {
      cause: error,
    });
  }
  return new Error(`${what} failed: ${error.message}`, { cause: error });
}

/** The shared command connection: publishes, acks, scripts. */
export function commandConnection(options: ResolvedRedisOptions): Redis {
  const settings: RedisOptions = {
    enableAutoPipelining: true,
    ...options.redis,
    enableOfflineQueue: false,
    // A command the connection lost fails by its timeout instead of running again later,
    // after its caller was told it failed.
    autoResendUnfulfilledCommands: false,
    commandTimeout: options.publishTimeoutMs,
  };
  return options.url === undefined ? new Redis(settings) : new Redis(options.url, settings);
}

/** A connection of its own for one subscription's blocking reads. */
export function blockingConnection(command: Redis): Redis {
  return command.duplicate({
    enableAutoPipelining: false,
    enableOfflineQueue: false,
    // A read lost with the connection is sent again once it is back (it is only a read).
    autoResendUnfulfilledCommands: true,
    commandTimeout: undefined,
  });
}

/** "host:port", for error messages. */
export function address(client: Redis): string {
  const { host, port, path } = client.options;
  return path ?? `${host}:${port}`;
}

/** Resolves when `client` is ready; rejects after `timeoutMs` or when it will never be. */
export function whenReady(client: Redis, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (error?: Error) => {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('end', onEnd);
      if (error) reject(error);
      else resolve();
    };
    const onReady = () => done();
    const onEnd = () =>
      done(new RedisUnavailableError(`the connection to Redis at ${address(client)} is closed`));
    const timer = setTimeout(
      () =>
        done(
          new RedisUnavailableError(`Redis at ${address(client)} is unavailable (waited ${timeoutMs} ms)`),
        ),
      timeoutMs,
    );
    client.on('ready', onReady);
    client.on('end', onEnd);
    if (client.status === 'end') onEnd();
  });
}

/** Where publishes wait for a lost connection: bounded in time and in number. */
export class PublishGate {
  #waiting = 0;

  constructor(
    readonly client: Redis,
    readonly timeoutMs: number,
    readonly maxWaiting: number,
  ) {}

  async ready(): Promise<void> {
    if (this.client.status === 'ready') return;
    if (this.#waiting >= this.maxWaiting) {
      throw new RedisUnavailableError(
        `Redis at ${address(this.client)} is unavailable and ${this.#waiting} publishes already wait for it`,
      );
    }
    this.#waiting++;
    try {
      await whenReady(this.client, this.timeoutMs);
    } finally {
      this.#waiting--;
    }
  }
}
