import type { SpanRecord } from './span-record.ts';

export interface TraceStoreOptions {
  /** Traces kept; the oldest (first seen) go first. 2,000 unless set. */
  maxTraces?: number;
  /** Spans kept per trace; later ones are counted and dropped. 500 unless set. */
  maxSpansPerTrace?: number;
}

/** What the trace list shows of one trace. */
export interface TraceSummary {
  traceId: string;
  rootName: string;
  rootService: string;
  /** Every service with a span in the trace, in order of their first span. */
  services: string[];
  spanCount: number;
  /** Spans beyond the per-trace limit that were not kept. */
  droppedSpans: number;
  startMs: number;
  durationMs: number;
  error: boolean;
}

class Trace {
  readonly spans = new Map<string, SpanRecord>();
  dropped = 0;
  #summary: TraceSummary | undefined;

  constructor(readonly traceId: string) {}

  add(span: SpanRecord, max: number): void {
    if (!this.spans.has(span.spanId) && this.spans.size >= max) {
      this.dropped++;
      return;
    }
    this.spans.set(span.spanId, span);
    this.#summary = undefined;
  }

  /** Computed once per change: the list endpoint asks for every trace's. */
  summary(): TraceSummary {
    if (this.#summary) return this.#summary;
    const ordered = [...this.spans.values()].sort((a, b) => a.startMs - b.startMs);
    // The root: the earliest span without a parent here (its parent may be outside the hub's view).
    const root = ordered.find((s) => !s.parentSpanId || !this.spans.has(s.parentSpanId)) ?? ordered[0];
    let start = Number.POSITIVE_INFINITY;
    let end = Number.NEGATIVE_INFINITY;
    const services = new Set<string>();
    let error = false;
    for (const s of ordered) {
      start = Math.min(start, s.startMs);
      end = Math.max(end, s.startMs + s.durationMs);
      services.add(s.service);
      if (s.status.code === 'error') error = true;
    }
    this.#summary = {
      traceId: this.traceId,
      rootName: root?.name ?? '',
      rootService: root?.service ?? '',
      services: [...services],
      spanCount: this.spans.size,
      droppedSpans: this.dropped,
      startMs: start,
      durationMs: Math.max(0, end - start),
      error,
    };
    return this.#summary;
  }
}

/**
 * The recent traces the hub received, bounded in both directions: at most `maxTraces`
 * traces (the oldest evicted) of at most `maxSpansPerTrace` spans each. A span sent twice
 * (a retried export) replaces itself.
 */
export class TraceStore {
  readonly #maxTraces: number;
  readonly #maxSpans: number;
  /** In order of first sight, so the first key is the one to evict. */
  readonly #traces = new Map<string, Trace>();

  constructor(options: TraceStoreOptions = {}) {
    this.#maxTraces = options.maxTraces ?? 2000;
    this.#maxSpans = options.maxSpansPerTrace ?? 500;
  }

  get size(): number {
    return this.#traces.size;
  }

  add(spans: readonly SpanRecord[]): void {
    for (const span of spans) {
      let trace = this.#traces.get(span.traceId);
      if (!trace) {
        if (this.#traces.size >= this.#maxTraces) {
          const oldest = this.#traces.keys().next().value;
          if (oldest !== undefined) this.#traces.delete(oldest);
        }
        trace = new Trace(span.traceId);
        this.#traces.set(span.traceId, trace);
      }
      trace.add(span, this.#maxSpans);
    }
  }

  /** The spans of one trace in start order, or undefined when the hub does not hold it. */
  spans(traceId: string): SpanRecord[] | undefined {
    const trace = this.#traces.get(traceId.toLowerCase());
    if (!trace) return undefined;
    return [...trace.spans.values()].sort((a, b) => a.startMs - b.startMs);
  }

  /** Newest first (by start), at most `limit`, only those `service` has a span in when given. */
  list(options: { limit?: number; service?: string } = {}): TraceSummary[] {
    const service = options.service;
    const summaries: TraceSummary[] = [];
    for (const trace of this.#traces.values()) {
      const summary = trace.summary();
      if (service === undefined || summary.services.includes(service)) summaries.push(summary);
    }
    summaries.sort((a, b) => b.startMs - a.startMs);
    return summaries.slice(0, options.limit ?? 50);
  }
}
