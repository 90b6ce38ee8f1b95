import { type SpanRecord, spanDestination, spanRpcService, spanTransport, topicNode } from './span-record.ts';

/** One arrow of the dashboard: calls (or messages) from one node to another over a window. */
export interface EdgeStats {
  from: string;
  to: string;
  transport: string;
  /** Calls per second over the window (or since the edge was first seen, when that is shorter). */
  rate: number;
  /** Failed share of `count`, 0..1. */
  errorRate: number;
  /** 99th percentile of durations in the window (nearest rank over a bounded sample). */
  p99Ms: number;
  count: number;
}

export interface TopologyStatsOptions {
  /** The sliding window. 60 s unless set. */
  windowMs?: number;
  now?: () => number;
  /** Edges tracked at most; new edges beyond are ignored. 10,000 unless set. */
  maxEdges?: number;
  /** Spans remembered while their partner (parent or child) may still arrive. 20,000 unless set. */
  maxPending?: number;
  /** Durations kept per edge and second for the p99. 500 unless set. */
  samplesPerSecond?: number;
}

interface Bucket {
  second: number;
  count: number;
  errors: number;
  /** A uniform sample of the second's durations (reservoir), at most `samplesPerSecond`. */
  durations: number[];
}

interface Series {
  readonly from: string;
  readonly to: string;
  readonly transport: string;
  readonly firstSeen: number;
  /** Oldest first; one per second with calls. */
  readonly buckets: Bucket[];
}

/** A client or producer span, kept until its server or consumer spans have been seen. */
interface Caller {
  readonly span: SpanRecord;
  readonly at: number;
  counted: boolean;
}

/** A server or consumer span whose caller has not arrived yet. */
interface Orphan {
  readonly span: SpanRecord;
  readonly at: number;
}

/**
 * Edges between services (and topics) from spans, over a sliding window. A call counts once:
 * when its client span and its server span have both arrived (in any order, in any batch),
 * or at once for a client span whose `rpc.service` a server span has already tied to a
 * service name. A message counts twice: producer → `topic:<name>` and `topic:<name>` →
 * consumer. Time is arrival time at the hub, so skewed clocks in services do not matter.
 */
export class TopologyStats {
  readonly #windowMs: number;
  readonly #now: () => number;
  readonly #maxEdges: number;
  readonly #maxPending: number;
  readonly #samples: number;
  readonly #series = new Map<string, Series>();
  readonly #callers = new Map<string, Caller>();
  readonly #orphans = new Map<string, Orphan[]>();
  /** rpc.service → the service.name serving it and over what, learned from server spans. */
  readonly #rpcServices = new Map<string, { service: string; transport: string | undefined }>();
  /** service.name → when a span of it last arrived. */
  readonly #seen = new Map<string, number>();

  constructor(options: TopologyStatsOptions = {}) {
    this.#windowMs = options.windowMs ?? 60_000;
    this.#now = options.now ?? Date.now;
    this.#maxEdges = options.maxEdges ?? 10_000;
    this.#maxPending = options.maxPending ?? 20_000;
    this.#samples = options.samplesPerSecond ?? 500;
  }

  record(spans: readonly SpanRecord[]): void {
    const now = this.#now();
    // Servers first, so clients of the same batch find their service by rpc.service.
    for (const span of spans) {
      const rpc = span.kind === 'server' ? spanRpcService(span) : undefined;
      if (rpc) {
        const transport = spanTransport(span);
        bounded(this.#rpcServices, rpc, { service: span.service, transport }, this.#maxPending);
      }
    }
    for (const span of spans) {
      bounded(this.#seen, span.service, now, this.#maxPending);
      switch (span.kind) {
        case 'client':
          this.#client(span, now);
          break;
        case 'producer':
          this.#producer(span, now);
          break;
        case 'server':
        case 'consumer':
          this.#callee(span, now);
          break;
        default:
          break;
      }
    }
    this.#forgetOld(now);
  }

  /** Every edge with calls in the window, busiest first. */
  edges(): EdgeStats[] {
    const now = this.#now();
    const out: EdgeStats[] = [];
    for (const [key, series] of this.#series) {
      this.#prune(series, now);
      if (series.buckets.length === 0) {
        this.#series.delete(key);
        continue;
      }
      let count = 0;
      let errors = 0;
      const durations: number[] = [];
      for (const b of series.buckets) {
        count += b.count;
        errors += b.errors;
        durations.push(...b.durations);
      }
      const seconds = Math.max(1, Math.min(this.#windowMs, now - series.firstSeen) / 1000);
      out.push({
        from: series.from,
        to: series.to,
        transport: series.transport,
        rate: round(count / seconds),
        errorRate: round(errors / count),
        p99Ms: round(percentile(durations, 0.99)),
        count,
      });
    }
    return out.sort((a, b) => b.count - a.count);
  }

  /** Services that sent spans within the window. */
  /** The service.name (process) whose server spans serve `rpcService` ("shop.v1.Orders"), if seen. */
  processOf(rpcService: string): string | undefined {
    return this.#rpcServices.get(rpcService)?.service;
  }

  services(): string[] {
    const since = this.#now() - this.#windowMs;
    return [...this.#seen].filter(([, at]) => at >= since).map(([name]) => name);
  }

  #client(span: SpanRecord, now: number): void {
    const caller: Caller = { span, at: now, counted: false };
    const waiting = this.#orphans.get(span.spanId);
    const server = waiting?.find((o) => o.span.kind === 'server');
    if (server) {
      this.#orphans.delete(span.spanId);
      this.#countCall(span, server.span, now);
      caller.counted = true;
    } else {
      const rpc = spanRpcService(span);
      const server = rpc === undefined ? undefined : this.#rpcServices.get(rpc);
      if (server !== undefined) {
        this.#count(
          span.service,
          server.service,
          spanTransport(span) ?? server.transport ?? 'unknown',
          span.durationMs,
          span.status.code === 'error',
          now,
        );
        caller.counted = true;
      }
    }
    bounded(this.#callers, span.spanId, caller, this.#maxPending);
  }

  #producer(span: SpanRecord, now: number): void {
    bounded(this.#callers, span.spanId, { span, at: now, counted: true }, this.#maxPending);
    const topic = spanDestination(span);
    if (topic === undefined) return;
    this.#count(span.service, topicNode(topic), 'queue', span.durationMs, span.status.code === 'error', now);
    const waiting = this.#orphans.get(span.spanId);
    if (!waiting) return;
    this.#orphans.delete(span.spanId);
    for (const o of waiting) if (o.span.kind === 'consumer') this.#consumed(o.span, topic, now);
  }

  #callee(span: SpanRecord, now: number): void {
    const parent = span.parentSpanId === undefined ? undefined : this.#callers.get(span.parentSpanId);
    if (span.kind === 'consumer') {
      const topic =
        spanDestination(span) ??
        (parent?.span.kind === 'producer' ? spanDestination(parent.span) : undefined);
      if (topic !== undefined) this.#consumed(span, topic, now);
      else if (span.parentSpanId !== undefined && !parent) this.#orphan(span, now);
      return;
    }
    if (!parent) {
      if (span.parentSpanId !== undefined) this.#orphan(span, now);
      return;
    }
    if (parent.span.kind === 'client' && !parent.counted) {
      parent.counted = true;
      this.#countCall(parent.span, span, now);
    }
  }

  #consumed(span: SpanRecord, topic: string, now: number): void {
    this.#count(topicNode(topic), span.service, 'queue', span.durationMs, span.status.code === 'error', now);
  }

  /** One call seen from both ends: the caller's latency, failed when either end says so. */
  #countCall(client: SpanRecord, server: SpanRecord, now: number): void {
    const failed = client.status.code === 'error' || server.status.code === 'error';
    const transport = spanTransport(client) ?? spanTransport(server) ?? 'unknown';
    this.#count(client.service, server.service, transport, client.durationMs, failed, now);
  }

  #orphan(span: SpanRecord, now: number): void {
    const parent = span.parentSpanId as string;
    const list = this.#orphans.get(parent);
    if (list) {
      if (list.length < 16) list.push({ span, at: now });
    } else {
      bounded(this.#orphans, parent, [{ span, at: now }], this.#maxPending);
    }
  }

  #count(
    from: string,
    to: string,
    transport: string,
    durationMs: number,
    failed: boolean,
    now: number,
  ): void {
    // A call within one service is not an edge of the map.
    if (from === to) return;
    const key = `${from}\u0000${to}\u0000${transport}`;
    let series = this.#series.get(key);
    if (!series) {
      if (this.#series.size >= this.#maxEdges) return;
      series = { from, to, transport, firstSeen: now, buckets: [] };
      this.#series.set(key, series);
    }
    const second = Math.floor(now / 1000);
    let bucket = series.buckets.at(-1);
    if (!bucket || bucket.second !== second) {
      bucket = { second, count: 0, errors: 0, durations: [] };
      series.buckets.push(bucket);
      this.#prune(series, now);
    }
    bucket.count++;
    if (failed) bucket.errors++;
    if (bucket.durations.length < this.#samples) bucket.durations.push(durationMs);
    else {
      const slot = Math.floor(Math.random() * bucket.count);
      if (slot < this.#samples) bucket.durations[slot] = durationMs;
    }
  }

  #prune(series: Series, now: number): void {
    const oldest = Math.floor((now - this.#windowMs) / 1000);
    let drop = 0;
    while (drop < series.buckets.length && (series.buckets[drop] as Bucket).second <= oldest) drop++;
    if (drop > 0) series.buckets.splice(0, drop);
  }

  /** Partners that have not shown up within the window never will. */
  #forgetOld(now: number): void {
    const since = now - this.#windowMs;
    for (const [id, caller] of this.#callers) {
      if (caller.at >= since) break;
      this.#callers.delete(id);
    }
    for (const [id, list] of this.#orphans) {
      if ((list[0] as Orphan).at >= since) break;
      this.#orphans.delete(id);
    }
  }
}

/** Sets `key` last in insertion order, evicting the first entries beyond `max`. */
function bounded<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  while (map.size > max) {
    const first = map.keys().next().value as K;
    map.delete(first);
  }
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  values.sort((a, b) => a - b);
  return values[Math.max(0, Math.ceil(p * values.length) - 1)] as number;
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
