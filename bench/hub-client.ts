import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { HubRegistry } from '../src/discovery/hub/registry.ts';
import type { ServiceInstance } from '../src/discovery/instance.ts';

/**
 * The clients of the hub part, in one process: they register instances through HubRegistry (as
 * servers do), open raw watch streams, make single changes and say when each stream had them.
 *
 * The watchers are plain HTTP clients of `GET /api/v1/watch/<service>` that only find where each
 * event ends and read its `id:` (the hub's index when it rendered the event), without parsing
 * the JSON: 1,000 watchers sharing two cores with the hub would otherwise measure the cost of
 * parsing 1,000 copies of one event in one process, not the hub's delivery. A real watcher is its
 * own process and parses its one copy; the report gives the event's size.
 */

/** Wall-clock milliseconds with sub-millisecond precision, comparable between processes. */
export function wallClock(): number {
  return performance.timeOrigin + performance.now();
}

/** An instance as a Switchboard server announces itself: three endpoints, a version, a zone. */
export function benchInstance(service: string, id: string, n: number): ServiceInstance {
  const host = `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
  return {
    service,
    id,
    endpoints: [
      { transport: 'native', host, port: 50052 },
      { transport: 'grpc', host, port: 50051 },
      { transport: 'http', host, port: 8080 },
    ],
    version: '1.4.2',
    zone: `zone-${n % 3}`,
    metadata: { commit: '3f2a9c1' },
  };
}

/**
 * Reads one event stream: the `id:` of each event and when its last byte arrived. The data
 * line (the whole instance list) is never decoded; only the first bytes of each line are kept.
 */
export class EventStreamReader {
  /** Each complete event: its id and arrival time, in arrival order. */
  readonly events: { id: number; at: number }[] = [];
  /** Size in bytes of the last complete event (its data line included). */
  lastEventBytes = 0;
  #head = '';
  #lineBytes = 0;
  #eventBytes = 0;
  #id: number | undefined;
  readonly #onEvent: (id: number) => void;

  constructor(onEvent: (id: number) => void = () => {}) {
    this.#onEvent = onEvent;
  }

  push(chunk: Buffer, at: number): void {
    let pos = 0;
    while (pos < chunk.length) {
      const newline = chunk.indexOf(10, pos);
      const end = newline === -1 ? chunk.length : newline;
      if (this.#lineBytes < 32)
        this.#head += chunk.toString('latin1', pos, Math.min(end, pos + 32 - this.#lineBytes));
      this.#lineBytes += end - pos;
      this.#eventBytes += end - pos;
      if (newline === -1) return;
      this.#eventBytes++;
      this.#endLine(at);
      pos = newline + 1;
    }
  }

  /** When the first event with an id at or after `index` arrived; undefined if none has. */
  arrival(index: number): number | undefined {
    return this.events.find((e) => e.id >= index)?.at;
  }

  #endLine(at: number): void {
    if (this.#lineBytes === 0) {
      // A blank line ends an event (or a keep-alive comment, which has no id).
      const id = this.#id;
      if (id !== undefined) {
        this.events.push({ id, at });
        this.lastEventBytes = this.#eventBytes;
        this.#onEvent(id);
      }
      this.#id = undefined;
      this.#eventBytes = 0;
    } else if (this.#head.startsWith('id: ')) {
      this.#id = Number(this.#head.slice(4));
    }
    this.#head = '';
    this.#lineBytes = 0;
  }
}

interface OpenStream {
  service: string;
  reader: EventStreamReader;
  request: http.ClientRequest;
}

/** Streams are opened this many at a time, each waiting for its first event. */
const OPEN_BATCH = 50;

export class HubBenchClient {
  readonly #url: URL;
  readonly #registry: HubRegistry;
  #streams: OpenStream[] = [];
  /** Called on every event of every stream, while `arrivals` waits. */
  #listener: ((stream: OpenStream, id: number, previous: number | undefined) => void) | undefined;

  constructor(url: string) {
    this.#url = new URL(url);
    this.#registry = new HubRegistry({ url, requestTimeoutMs: 60_000 });
  }

  /** Registers `perService` instances of each service, `concurrency` registrations in flight. */
  async register(options: { services: string[]; perService: number; concurrency: number; ttlMs: number }) {
    const work = options.services.flatMap((service, s) =>
      Array.from({ length: options.perService }, (_, i) => ({
        service,
        id: `i-${s}-${i}`,
        n: s * options.perService + i,
      })),
    );
    let next = 0;
    let errors = 0;
    let firstError: string | undefined;
    const started = performance.now();
    const worker = async () => {
      while (next < work.length) {
        const { service, id, n } = work[next++]!;
        try {
          await this.#registry.register(benchInstance(service, id, n), { ttlMs: options.ttlMs });
        } catch (err) {
          errors++;
          firstError ??= (err as Error).message;
        }
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, worker));
    return { count: work.length - errors, ms: performance.now() - started, errors, firstError };
  }

  /** Opens one stream per entry of `services` and resolves once each has had its first event. */
  async watch(services: string[]) {
    const started = performance.now();
    for (let i = 0; i < services.length; i += OPEN_BATCH) {
      await Promise.all(services.slice(i, i + OPEN_BATCH).map((service) => this.#open(service)));
    }
    return {
      count: services.length,
      ms: performance.now() - started,
      eventBytes: this.#streams[0]?.reader.lastEventBytes ?? 0,
    };
  }

  unwatch(): void {
    for (const stream of this.#streams) stream.request.destroy();
    this.#streams = [];
  }

  /** Registers or deregisters one instance directly over HTTP; returns the hub's index of the change. */
  async change(options: { kind: 'register' | 'deregister'; service: string; id: string }) {
    const at = wallClock();
    const path =
      options.kind === 'register'
        ? '/api/v1/instances'
        : `/api/v1/instances/${encodeURIComponent(options.service)}/${encodeURIComponent(options.id)}`;
    const res = await fetch(new URL(path, this.#url), {
      method: options.kind === 'register' ? 'PUT' : 'DELETE',
      headers: { 'content-type': 'application/json' },
      body:
        options.kind === 'register'
          ? JSON.stringify({ instance: benchInstance(options.service, options.id, 0), ttlMs: 300_000 })
          : undefined,
    });
    const body = (await res.json()) as { index?: number };
    if (res.status !== 200 || typeof body.index !== 'number')
      throw new Error(`${options.kind} ${options.id}: hub answered ${res.status} ${JSON.stringify(body)}`);
    return { index: body.index, at };
  }

  /** When each stream of `service` first had an event at or after `index`, waiting up to `timeoutMs`. */
  arrivals(service: string, index: number, timeoutMs: number): Promise<{ at: number[]; missing: number }> {
    const streams = this.#streams.filter((s) => s.service === service);
    let waiting = streams.filter((s) => s.reader.arrival(index) === undefined).length;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#listener = undefined;
        const at = streams.map((s) => s.reader.arrival(index)).filter((t): t is number => t !== undefined);
        resolve({ at, missing: streams.length - at.length });
      };
      const timer = setTimeout(done, timeoutMs);
      if (waiting === 0) return done();
      this.#listener = (stream, id, previous) => {
        if (stream.service !== service || id < index || (previous !== undefined && previous >= index)) return;
        if (--waiting === 0) done();
      };
    });
  }

  #open(service: string): Promise<void> {
    return new Promise((resolve, reject) => {
      let stream: OpenStream | undefined;
      let previous: number | undefined;
      const reader = new EventStreamReader((id) => {
        if (previous === undefined) resolve();
        if (stream) this.#listener?.(stream, id, previous);
        previous = id;
      });
      const request = http.get(
        {
          host: this.#url.hostname,
          port: this.#url.port,
          path: `/api/v1/watch/${encodeURIComponent(service)}`,
          headers: { accept: 'text/event-stream' },
          agent: false,
        },
        (res) => {
          if (res.statusCode !== 200) {
            reject(new Error(`watch ${service}: hub answered ${res.statusCode}`));
            res.resume();
            return;
          }
          res.on('data', (chunk: Buffer) => reader.push(chunk, wallClock()));
          // A stream that breaks shows as a watcher missing its arrivals; unwatch() breaks them all.
          res.on('error', () => {});
        },
      );
      request.on('error', reject);
      stream = { service, reader, request };
      this.#streams.push(stream);
    });
  }
}
