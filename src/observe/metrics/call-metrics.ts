/**
 * Rate, errors and duration of every call, on both sides, as interceptors: the server one
 * sees every transport through the ServiceHost, the client one every call of a client.
 * A call is counted when it ends, a stream when its last message or its status has gone by.
 */
import type { MethodDescriptor } from '../../contract/descriptors.ts';
import { StatusError } from '../../contract/errors.ts';
import { Status, statusName } from '../../contract/status.ts';
import type { ClientInterceptor, ServerInterceptor } from '../../core/interceptors.ts';
import type { Metrics } from './metrics.ts';

export interface CallMetricsOptions {
  /**
   * The `transport` label of client series: the client interceptor cannot see which transport
   * carries its calls. "grpc", "http", "native" for a client of one target, "cluster" for a
   * client by name. "unknown" unless set.
   */
  clientTransport?: string;
}

export interface CallInterceptors {
  server: ServerInterceptor;
  client: ClientInterceptor;
}

type CallLabel = 'service' | 'method' | 'transport';
type DoneLabel = CallLabel | 'code';

/** The families of one side, "server" or "client". */
interface SideFamilies {
  side: 'server' | 'client';
  requests: ReturnType<Metrics['counter']>;
  duration: ReturnType<Metrics['histogram']>;
  inFlight: ReturnType<Metrics['gauge']>;
}

/**
 * The series of one method on one transport, looked up once: prom-client hashes the label set
 * on every labels() call, which would cost more than the rest of a native call's metrics.
 */
class MethodSeries {
  readonly #families: SideFamilies;
  readonly #labels: Record<CallLabel, string>;
  readonly inFlight: { inc(): void; dec(): void };
  readonly #duration: { observe(value: number): void };
  readonly #byCode = new Map<Status, { inc(): void }>();

  constructor(families: SideFamilies, method: MethodDescriptor, transport: string) {
    this.#families = families;
    this.#labels = { service: method.service.fullName, method: method.name, transport };
    this.inFlight = families.inFlight.labels(this.#labels);
    this.#duration = families.duration.labels(this.#labels);
  }

  done(code: Status, startedMs: number): void {
    this.inFlight.dec();
    this.#duration.observe((performance.now() - startedMs) / 1000);
    let counter = this.#byCode.get(code);
    if (!counter) {
      counter = this.#families.requests.labels({ ...this.#labels, code: statusName(code) });
      this.#byCode.set(code, counter);
    }
    counter.inc();
  }
}

class SeriesCache {
  readonly #families: SideFamilies;
  readonly #byMethod = new WeakMap<MethodDescriptor, Map<string, MethodSeries>>();

  constructor(families: SideFamilies) {
    this.#families = families;
  }

  get(method: MethodDescriptor, transport: string): MethodSeries {
    let byTransport = this.#byMethod.get(method);
    if (!byTransport) {
      byTransport = new Map();
      this.#byMethod.set(method, byTransport);
    }
    let series = byTransport.get(transport);
    if (!series) {
      series = new MethodSeries(this.#families, method, transport);
      byTransport.set(transport, series);
    }
    return series;
  }
}

function families(metrics: Metrics, side: 'server' | 'client'): SideFamilies {
  const who = side === 'server' ? 'handled by this server' : 'made by this client';
  return {
    side,
    requests: metrics.counter<DoneLabel>(
      `switchboard_${side}_requests_total`,
      `Calls ${who} that ended, by gRPC status code.`,
      ['service', 'method', 'transport', 'code'],
    ),
    duration: metrics.histogram<CallLabel>(
      `switchboard_${side}_request_duration_seconds`,
      `Duration of calls ${who}, from start to status (streams: to their end).`,
      ['service', 'method', 'transport'],
    ),
    inFlight: metrics.gauge<CallLabel>(
      `switchboard_${side}_in_flight`,
      `Calls ${who} that have started and not ended.`,
      ['service', 'method', 'transport'],
    ),
  };
}

/** The status code a call ended with: a StatusError's, else UNKNOWN (as the host reports it). */
export function codeOf(err: unknown): Status {
  return err instanceof StatusError ? err.code : Status.UNKNOWN;
}

/** Server and client interceptors recording into `metrics`; one pair may serve many servers and clients. */
export function metricsInterceptors(metrics: Metrics, options: CallMetricsOptions = {}): CallInterceptors {
  const serverSeries = new SeriesCache(families(metrics, 'server'));
  const clientSeries = new SeriesCache(families(metrics, 'client'));
  const clientTransport = options.clientTransport ?? 'unknown';

  const server: ServerInterceptor = async (ctx, next) => {
    const series = serverSeries.get(ctx.method, ctx.transport);
    series.inFlight.inc();
    const started = performance.now();
    try {
      const result = await next();
      series.done(Status.OK, started);
      return result;
    } catch (err) {
      series.done(codeOf(err), started);
      throw err;
    }
  };

  const client: ClientInterceptor = async (call, next) => {
    const series = clientSeries.get(call.method, clientTransport);
    series.inFlight.inc();
    const started = performance.now();
    let result: unknown;
    try {
      result = await next(call);
    } catch (err) {
      series.done(codeOf(err), started);
      throw err;
    }
    if (!call.method.responseStream) {
      series.done(Status.OK, started);
      return result;
    }
    return measuredStream(result as AsyncIterable<unknown>, series, started);
  };

  return { server, client };
}

/** Passes a response stream through and records the call once, when the stream ends. */
function measuredStream(
  stream: AsyncIterable<unknown>,
  series: MethodSeries,
  started: number,
): AsyncIterable<unknown> {
  return {
    [Symbol.asyncIterator]() {
      const inner = stream[Symbol.asyncIterator]();
      let recorded = false;
      const record = (code: Status) => {
        if (recorded) return;
        recorded = true;
        series.done(code, started);
      };
      return {
        async next() {
          try {
            const step = await inner.next();
            if (step.done) record(Status.OK);
            return step;
          } catch (err) {
            record(codeOf(err));
            throw err;
          }
        },
        async return(value?: unknown) {
          // The caller left the loop early: its call was cancelled, not failed.
          record(Status.CANCELLED);
          return inner.return ? inner.return(value) : { done: true, value: undefined };
        },
      };
    },
  };
}
