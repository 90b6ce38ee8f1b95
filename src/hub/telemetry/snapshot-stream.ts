import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendError } from '../http-kit.ts';
import { LatestEventWriter } from '../latest-event-writer.ts';
import type { DashboardSnapshot } from './snapshot.ts';

export interface SnapshotStreamOptions {
  /** A snapshot goes to every open stream this often. 1 s unless set. */
  intervalMs: number;
  /** A comment line this often keeps proxies content. 15 s unless set. */
  heartbeatMs: number;
  /** A reader whose socket has not drained for this long is dropped. 30 s unless set. */
  stallMs: number;
  /** Open streams at most; more get 503. 1,000 unless set. */
  maxStreams: number;
}

/**
 * `GET /api/v1/dashboard/stream`: server-sent events, `event: snapshot` with the whole
 * snapshot at once and then every `intervalMs`. One snapshot is built and encoded per tick
 * for all readers, and only while someone reads. A reader that cannot keep up holds at most
 * its socket buffer and the latest snapshot (older ones are skipped), and is dropped once
 * stalled for `stallMs`.
 */
export class SnapshotStream {
  readonly #build: () => Promise<DashboardSnapshot>;
  readonly #options: SnapshotStreamOptions;
  readonly #readers = new Set<LatestEventWriter>();
  #ticker: NodeJS.Timeout | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #building = false;
  #closed = false;

  constructor(build: () => Promise<DashboardSnapshot>, options: SnapshotStreamOptions) {
    this.#build = build;
    this.#options = options;
  }

  get count(): number {
    return this.#readers.size;
  }

  /** Bytes written to readers and not yet taken by their sockets. */
  get bufferedBytes(): number {
    let bytes = 0;
    for (const r of this.#readers) bytes += r.res.writableLength;
    return bytes;
  }

  async open(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.#closed) {
      sendError(res, 503, 'the hub is shutting down');
      return;
    }
    if (this.#readers.size >= this.#options.maxStreams) {
      sendError(res, 503, `the hub serves its limit of ${this.#options.maxStreams} dashboard streams`, {
        'retry-after': '5',
      });
      return;
    }
    const reader = new LatestEventWriter(req, res);
    this.#readers.add(reader);
    res.once('close', () => this.#remove(reader));
    // Tell the browser how long to wait before reconnecting after the hub restarts.
    reader.send('retry: 2000\n\n');
    if (!this.#ticker) {
      this.#ticker = setInterval(() => void this.#tick(), this.#options.intervalMs);
      this.#heartbeat = setInterval(() => this.#beat(), this.#options.heartbeatMs);
      this.#ticker.unref();
      this.#heartbeat.unref();
    }
    reader.send(event(await this.#build()));
  }

  /** Ends every stream (the hub is stopping) and refuses new ones. */
  close(): void {
    this.#closed = true;
    this.#stopTimers();
    for (const reader of [...this.#readers]) reader.res.end();
  }

  async #tick(): Promise<void> {
    // A build slower than the interval (a busy broker) skips ticks rather than piling up.
    if (this.#building || this.#readers.size === 0) return;
    this.#building = true;
    try {
      const bytes = event(await this.#build());
      this.#dropStalled();
      for (const reader of this.#readers) reader.send(bytes);
    } catch {
      // Next tick tries again; a snapshot is built from in-memory state and should not fail.
    } finally {
      this.#building = false;
    }
  }

  #beat(): void {
    this.#dropStalled();
    for (const reader of this.#readers) if (!reader.res.writableNeedDrain) reader.send(': keepalive\n\n');
  }

  #dropStalled(): void {
    const now = Date.now();
    for (const reader of this.#readers) {
      if (reader.stalledSince !== 0 && now - reader.stalledSince > this.#options.stallMs)
        reader.res.destroy();
    }
  }

  #remove(reader: LatestEventWriter): void {
    this.#readers.delete(reader);
    if (this.#readers.size === 0) this.#stopTimers();
  }

  #stopTimers(): void {
    clearInterval(this.#ticker);
    clearInterval(this.#heartbeat);
    this.#ticker = undefined;
    this.#heartbeat = undefined;
  }
}

function event(snapshot: DashboardSnapshot): Buffer {
  return Buffer.from(`event: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`);
}
