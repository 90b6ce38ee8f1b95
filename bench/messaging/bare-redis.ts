/**
 * The bare baseline for Redis Streams: ioredis used directly, as a careful application would
 * without Switchboard. A publish is one XADD of the payload as field `p` (auto-pipelining
 * packs the concurrent ones into one write); a consumer is a consumer group read with
 * XREADGROUP … BLOCK on a connection of its own, `count` entries at a time, acking each batch
 * with one XACK sent on the command connection while the next read goes out. Streams are
 * `bare:<topic>`; the harness's key sweep finds them by the run's marker in the topic.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Consumption, MessagingDriver } from './driver.ts';

export interface BareRedisOptions {
  /** redis://127.0.0.1:6379 unless set. */
  url?: string;
  /** Entries one read may return (XREADGROUP COUNT), the adapter's window. 64 unless set. */
  count?: number;
  /** How long one read blocks for new entries. 1 s unless set. */
  blockMs?: number;
}

export class BareRedisDriver implements MessagingDriver {
  readonly name = 'bare redis';
  readonly #client: Redis;
  readonly #options: Required<BareRedisOptions>;
  readonly #readers = new Set<Redis>();

  private constructor(client: Redis, options: Required<BareRedisOptions>) {
    this.#client = client;
    this.#options = options;
  }

  static async connect(options: BareRedisOptions = {}): Promise<BareRedisDriver> {
    const resolved = { url: 'redis://127.0.0.1:6379', count: 64, blockMs: 1000, ...options };
    const client = new Redis(resolved.url, { enableAutoPipelining: true, lazyConnect: true });
    await client.connect();
    return new BareRedisDriver(client, resolved);
  }

  static stream(topic: string): string {
    return `bare:${topic}`;
  }

  async publish(topic: string, payload: Uint8Array): Promise<void> {
    const bytes = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    await this.#client.xadd(BareRedisDriver.stream(topic), '*', 'p', bytes);
  }

  async consume(
    topic: string,
    group: string,
    onMessage: (payload: Uint8Array) => void,
  ): Promise<Consumption> {
    const stream = BareRedisDriver.stream(topic);
    try {
      await this.#client.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
    } catch (err) {
      if (!(err instanceof Error && err.message.startsWith('BUSYGROUP'))) throw err;
    }
    const reader = this.#client.duplicate({ enableAutoPipelining: false });
    this.#readers.add(reader);
    const consumer = `bare-${randomUUID().slice(0, 8)}`;
    const { count, blockMs } = this.#options;
    let open = true;
    const loop = (async () => {
      while (open) {
        let reply: [Buffer, [Buffer, Buffer[]][]][] | null;
        try {
          // callBuffer: ioredis types no xreadgroupBuffer (this connection does not auto-pipeline).
          reply = (await reader.callBuffer(
            'XREADGROUP',
            'GROUP',
            group,
            consumer,
            'COUNT',
            count,
            'BLOCK',
            blockMs,
            'STREAMS',
            stream,
            '>',
          )) as [Buffer, [Buffer, Buffer[]][]][] | null;
        } catch (err) {
          if (!open) return;
          // A careful consumer carries on: recreate a deleted group, wait out a lost connection.
          if (err instanceof Error && err.message.startsWith('NOGROUP')) {
            await this.#client.xgroup('CREATE', stream, group, '0', 'MKSTREAM').catch(() => {});
          }
          await new Promise((resolve) => setTimeout(resolve, 100));
          continue;
        }
        if (!reply) continue;
        const ids: Buffer[] = [];
        for (const [, entries] of reply) {
          for (const [id, fields] of entries) {
            ids.push(id);
            onMessage(fields[1]!); // the entry is [p, payload], as publish wrote it
          }
        }
        if (ids.length) this.#client.xack(stream, group, ...ids).catch(() => {}); // unacked: redelivered later
      }
    })();
    return {
      close: async () => {
        open = false;
        reader.disconnect();
        this.#readers.delete(reader);
        await loop;
      },
    };
  }

  /** Deletes the streams of `topics`, and with them their groups. */
  async cleanup(topics: readonly string[], _groups: readonly string[]): Promise<void> {
    if (topics.length) await this.#client.unlink(...topics.map((t) => BareRedisDriver.stream(t)));
  }

  async close(): Promise<void> {
    for (const reader of this.#readers) reader.disconnect();
    this.#readers.clear();
    await this.#client.quit();
  }
}
