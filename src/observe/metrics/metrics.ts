/**
 * The metrics of one process: a prom-client Registry of its own, never prom-client's global
 * one, so two servers (or a test and its server) in one process never share series, and the
 * families that the interceptors, the cluster observer and the metered broker create.
 */
import {
  Counter,
  collectDefaultMetrics,
  Gauge,
  Histogram,
  type Metric,
  type MetricObjectWithValues,
  type MetricValue,
  Registry,
} from 'prom-client';

export interface MetricsOptions {
  /**
   * Node's process metrics too (CPU, memory, event-loop lag, GC, handles), prefixed
   * `process_`/`nodejs_` as prom-client names them. Off unless set: they cost a timer and an
   * event-loop monitor, and one process wants them once, not once per Metrics.
   */
  processMetrics?: boolean;
  /** Labels added to every series of this registry, e.g. `{ instance: 'orders-1' }`. */
  defaultLabels?: Readonly<Record<string, string>>;
  /** Buckets (seconds) of the call and publish duration histograms; RPC_BUCKETS unless set. */
  durationBuckets?: readonly number[];
}

/**
 * Seconds. From 0.5 ms (a native call on loopback takes tens of microseconds, a gRPC one a few
 * hundred) to 30 s (the default deadline), about 2.5× apart so a quantile is never off by more.
 */
export const RPC_BUCKETS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

export class Metrics {
  readonly registry: Registry;
  readonly durationBuckets: readonly number[];

  constructor(options: MetricsOptions = {}) {
    this.registry = new Registry();
    this.durationBuckets = options.durationBuckets ?? RPC_BUCKETS;
    if (options.defaultLabels) this.registry.setDefaultLabels({ ...options.defaultLabels });
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  /** The Content-Type of `text()`: the Prometheus text format 0.0.4. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Every family in the Prometheus text format; gauges collected at scrape time run now. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** The family `name` as data, for tests and the dashboard; undefined when it does not exist. */
  async values(name: string): Promise<MetricValue<string>[] | undefined> {
    const metric = this.registry.getSingleMetric(name);
    if (!metric) return undefined;
    const data: MetricObjectWithValues<MetricValue<string>> = await metric.get();
    return data.values;
  }

  /**
   * The counter `name`, created on first use: every interceptor and decorator made from one
   * Metrics shares the family. A name already taken by another kind of metric throws.
   */
  counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> {
    return this.#family(
      name,
      Counter,
      () => new Counter({ name, help, labelNames, registers: [this.registry] }),
    );
  }

  gauge<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    collect?: (this: Gauge<L>) => void | Promise<void>,
  ): Gauge<L> {
    return this.#family(
      name,
      Gauge,
      () =>
        new Gauge({ name, help, labelNames, registers: [this.registry], ...(collect ? { collect } : {}) }),
    );
  }

  histogram<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    buckets: readonly number[] = this.durationBuckets,
  ): Histogram<L> {
    return this.#family(
      name,
      Histogram,
      () => new Histogram({ name, help, labelNames, buckets: [...buckets], registers: [this.registry] }),
    );
  }

  #family<M extends Metric<string>>(
    name: string,
    kind: abstract new (...args: never[]) => M,
    create: () => M,
  ): M {
    const existing = this.registry.getSingleMetric(name);
    if (existing === undefined) return create();
    if (!(existing instanceof kind)) throw new TypeError(`metric ${name} exists as another kind`);
    return existing;
  }
}
