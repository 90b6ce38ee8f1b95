import type { IncomingMessage, ServerResponse } from 'node:http';
import type { InstanceTable } from '../../discovery/instance-table.ts';
import { sendError } from '../http-kit.ts';
import { LatestEventWriter } from '../latest-event-writer.ts';

export interface WatchStreamOptions {
  /** Open streams at most; more are refused with 503. */
  maxWatchers: number;
  /** A comment line this often keeps proxies and the client's idle timer content. */
  heartbeatMs: number;
  /** A watcher whose socket has not drained for this long is dropped. */
  stallMs: number;
}

/** One open event stream: the instances of `service`. */
class Watcher extends LatestEventWriter {
  readonly service: string;

  constructor(service: string, req: IncomingMessage, res: ServerResponse) {
    super(req, res);
    this.service = service;
  }
}

/**
 * The hub's pushed watches: server-sent events with the full instance list of one service,
 * at once and after every change. One table listener serves every stream; changes are
 * coalesced per service and turn, so a burst (a sweep, a restart) sends one event, rendered
 * once for all watchers of that service. Memory per watcher is bounded: a watcher that does not
 * read keeps at most its socket buffer plus the latest event, and is dropped once stalled for
 * `stallMs`.
 */
export class WatchStreams {
  readonly #table: InstanceTable;
  readonly #options: WatchStreamOptions;
  readonly #byService = new Map<string, Set<Watcher>>();
  readonly #dirty = new Set<string>();
  readonly #unsubscribe: () => void;
  #count = 0;
  #flushScheduled = false;
  #heartbeat: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(table: InstanceTable, options: WatchStreamOptions) {
    this.#table = table;
    this.#options = options;
    this.#unsubscribe = table.onChange((service) => {
      if (!this.#byService.has(service)) return;
      this.#dirty.add(service);
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  get count(): number {
    return this.#count;
  }

  /** Bytes written to watchers that their sockets have not sent yet. */
  get bufferedBytes(): number {
    let bytes = 0;
    for (const set of this.#byService.values()) for (const w of set) bytes += w.res.writableLength;
    return bytes;
  }

  /** Starts an event stream of `service` on `res`, or answers 503 at the limit. */
  open(service: string, req: IncomingMessage, res: ServerResponse): void {
    if (this.#closed) {
      sendError(res, 503, 'the hub is shutting down');
      return;
    }
    if (this.#count >= this.#options.maxWatchers) {
      sendError(
        res,
        503,
        `the hub serves its limit of ${this.#options.maxWatchers} watch streams; try again later`,
        { 'retry-after': '5' },
      );
      return;
    }
    const watcher = new Watcher(service, req, res);
    let set = this.#byService.get(service);
    if (!set) {
      set = new Set();
      this.#byService.set(service, set);
    }
    set.add(watcher);
    this.#count++;
    res.once('close', () => this.#remove(watcher));
    watcher.send(this.#event(service));
    if (!this.#heartbeat) {
      this.#heartbeat = setInterval(() => this.#beat(), this.#options.heartbeatMs);
      this.#heartbeat.unref();
    }
  }

  /** Ends every stream (the hub is stopping) and refuses new ones. */
  close(): void {
    this.#closed = true;
    this.#unsubscribe();
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
    for (const set of [...this.#byService.values()]) for (const w of [...set]) w.res.end();
  }

  /** Encoded once: the same bytes go to every watcher of the service (1,000 × 28 KB is common). */
  #event(service: string): Buffer {
    const index = this.#table.index;
    const data = JSON.stringify({ instances: this.#table.list(service), index });
    return Buffer.from(`event: instances\nid: ${index}\ndata: ${data}\n\n`);
  }

  #flush(): void {
    this.#flushScheduled = false;
    if (this.#closed) return;
    for (const service of this.#dirty) {
      const set = this.#byService.get(service);
      if (!set) continue;
      const event = this.#event(service);
      for (const watcher of set) watcher.send(event);
    }
    this.#dirty.clear();
  }

  #beat(): void {
    const now = Date.now();
    for (const set of this.#byService.values()) {
      for (const watcher of set) {
        if (!watcher.res.writableNeedDrain) watcher.send(': keepalive\n\n');
        else if (watcher.stalledSince !== 0 && now - watcher.stalledSince > this.#options.stallMs) {
          watcher.res.destroy();
        }
      }
    }
  }

  #remove(watcher: Watcher): void {
    const set = this.#byService.get(watcher.service);
    if (!set?.delete(watcher)) return;
    this.#count--;
    if (set.size === 0) this.#byService.delete(watcher.service);
    if (this.#count === 0) {
      clearInterval(this.#heartbeat);
      this.#heartbeat = undefined;
    }
  }
}
