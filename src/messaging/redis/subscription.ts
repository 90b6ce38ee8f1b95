/**
 * One member of a consumer group: a blocking read loop on a connection of its own (new
 * entries), and a periodic sweep on the shared connection (ack timeouts here, retries that are
 * due, entries other members left idle too long, trimmed entries). Closing stops both, lets the
 * running handlers settle within drainTimeoutMs, and hands what is left to the group.
 */
import type { Redis } from 'ioredis';
import type { DeliveryHandler, Subscription } from '../broker.ts';
import type { ResolvedSubscribeOptions } from '../validate.ts';
import { blockingConnection } from './connection.ts';
import { Dispatcher } from './dispatcher.ts';
import type { Claims, GroupOps } from './group-ops.ts';
import { isNoGroup } from './reply.ts';

export interface MemberSettings {
  claimIntervalMs: number;
  blockMs: number;
  drainTimeoutMs: number;
  retryBackoffMs: number;
  onError: (error: Error) => void;
}

/** How long a closing member keeps asking Redis to unblock its read before dropping the connection. */
const UNBLOCK_WAIT_MS = 1000;

export class RedisSubscription implements Subscription {
  readonly #dispatcher: Dispatcher;
  readonly #reader: Redis;
  readonly #sweepTimer: NodeJS.Timeout;
  readonly #reading: Promise<void>;
  #readerId: number | undefined;
  #closing: Promise<void> | undefined;
  #sweeping = false;
  /** Claims on their way to Redis: closing waits for them, so none lands after the release. */
  readonly #claiming = new Set<Promise<void>>();
  #cursor = '-';
  #lastTrimReport = '';
  #wake: (() => void) | undefined;

  private constructor(
    readonly command: Redis,
    readonly ops: GroupOps,
    handler: DeliveryHandler,
    readonly options: ResolvedSubscribeOptions,
    readonly settings: MemberSettings,
  ) {
    this.#dispatcher = new Dispatcher(ops.topic, handler, options, ops, {
      retryBackoffMs: settings.retryBackoffMs,
      onError: settings.onError,
      onDelayed: (delayMs) => {
        // Claim it as soon as it is due, rather than at the next sweep.
        setTimeout(() => void this.#claimDue(), delayMs + 5).unref();
      },
    });
    this.#reader = blockingConnection(command);
    this.#reader.on('error', settings.onError);
    this.#reader.on('close', () => {
      this.#readerId = undefined;
    });
    this.#sweepTimer = setInterval(() => void this.#sweep(), settings.claimIntervalMs).unref();
    this.#reading = this.#readLoop();
  }

  /** Creates the group if needed, then starts reading. */
  static async start(
    command: Redis,
    ops: GroupOps,
    handler: DeliveryHandler,
    options: ResolvedSubscribeOptions,
    settings: MemberSettings,
  ): Promise<RedisSubscription> {
    await ops.ensureGroup(options.startAt);
    return new RedisSubscription(command, ops, handler, options, settings);
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #readLoop(): Promise<void> {
    while (!this.#closing) {
      const room = this.#dispatcher.room;
      if (room <= 0) {
        await this.#dispatcher.roomFreed();
        // Let the handlers that finish in this turn settle too, so the next read is a batch
        // rather than one entry per freed slot.
        await new Promise((resolve) => setImmediate(resolve));
        continue;
      }
      if (this.#reader.status !== 'ready') {
        await this.#readerReady();
        continue;
      }
      try {
        this.#readerId ??= Number(await this.#reader.client('ID'));
        const entries = await this.ops.read(this.#reader, room, this.settings.blockMs);
        this.#dispatcher.accept(entries);
      } catch (error) {
        if (this.#closing) break;
        if (isNoGroup(error)) {
          // The stream or the group was deleted (or the server restarted without its data).
          await this.ops.ensureGroup(this.options.startAt).catch((e: unknown) => this.#report(e));
        } else {
          this.#report(error);
        }
        await this.#pause(200);
      }
    }
  }

  /** The periodic work of every member; one sweep at a time. */
  async #sweep(): Promise<void> {
    if (this.#sweeping || this.#closing) return;
    this.#sweeping = true;
    try {
      this.#dispatcher.expire(Date.now());
      await this.#claimDue();
      await this.#claimStuck();
      await this.#checkTrimmed();
    } catch (error) {
      this.#report(error);
    } finally {
      this.#sweeping = false;
    }
  }

  async #claimDue(): Promise<void> {
    const room = this.#dispatcher.room;
    if (room <= 0 || this.#closing) return;
    try {
      this.#take(await this.#claim(this.ops.claimDue(room)));
    } catch (error) {
      this.#report(error);
    }
  }

  /** Remembers a claim until Redis answers it. */
  #claim<T>(claim: Promise<T>): Promise<T> {
    const settled = claim.then(
      () => {},
      () => {},
    );
    this.#claiming.add(settled);
    void settled.then(() => this.#claiming.delete(settled));
    return claim;
  }

  /** Entries other members left idle past ackTimeoutMs, and entries this one lost track of. */
  async #claimStuck(): Promise<void> {
    const room = this.#dispatcher.room;
    if (room <= 0) return;
    if (this.#closing) return;
    const claims = await this.#claim(this.ops.claimStuck(this.options.ackTimeoutMs, room, this.#cursor));
    this.#cursor = claims.cursor;
    this.#take(claims);
    const lost = claims.own.filter((id) => !this.#dispatcher.knows(id));
    if (lost.length > 0 && !this.#closing) this.#take(await this.#claim(this.ops.recover(lost)));
  }

  async #checkTrimmed(): Promise<void> {
    const { lost, firstEntry } = await this.ops.trimmedUnread();
    if (lost > 0 && firstEntry !== this.#lastTrimReport) {
      this.#lastTrimReport = firstEntry;
      this.#dispatcher.reportLost(lost, 'unread');
    }
  }

  #take(claims: Claims): void {
    if (claims.lost > 0) this.#dispatcher.reportLost(claims.lost, 'pending');
    if (this.#closing) return; // claimed just now: they stay in this member's list for release
    this.#dispatcher.accept(
      claims.entries.map((c) => c.entry),
      claims.entries.map((c) => c.count),
    );
  }

  async #close(): Promise<void> {
    clearInterval(this.#sweepTimer);
    this.#dispatcher.stop();
    this.#wake?.();
    await this.#stopReading();
    await Promise.all(this.#claiming);
    await this.#dispatcher.idle(this.settings.drainTimeoutMs);
    const seen = await this.#dispatcher.abandon();
    try {
      await this.ops.release(seen);
    } catch (error) {
      // What it held stays in its pending list; other members claim it after ackTimeoutMs.
      this.#report(error);
    }
    this.#reader.disconnect();
  }

  /** Ends the read loop: unblocks its read on the server, so no read is served after release. */
  async #stopReading(): Promise<void> {
    const until = Date.now() + UNBLOCK_WAIT_MS;
    let ended = false;
    void this.#reading.then(() => {
      ended = true;
    });
    while (!ended && Date.now() < until) {
      if (this.#readerId !== undefined) {
        await this.command.client('UNBLOCK', this.#readerId).catch(() => {});
      }
      await Promise.race([this.#reading, new Promise((resolve) => setTimeout(resolve, 50))]);
    }
    if (!ended) {
      this.#reader.disconnect();
      await this.#reading;
    }
  }

  /** Waits until the reading connection is (back) up, a second at most, or less when closing. */
  #readerReady(): Promise<void> {
    const reader = this.#reader;
    return new Promise((resolve) => {
      const timer = setTimeout(done, 1000);
      reader.once('ready', done);
      function done() {
        clearTimeout(timer);
        reader.off('ready', done);
        resolve();
      }
      this.#wake = done;
    });
  }

  /** Waits `ms`, or less when closing. */
  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }

  #report(error: unknown): void {
    this.settings.onError(error instanceof Error ? error : new Error(String(error)));
  }
}
