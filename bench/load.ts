import { createHistogram, performance } from 'node:perf_hooks';

/**
 * A closed-loop load generator: it keeps `concurrency` calls in flight, starting a new call the
 * moment one completes, first for a warm-up, then for the measured period. Only calls that
 * complete within the measured period count; their latencies go into an HDR histogram.
 */

export interface LoadOptions {
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  /** How long to wait for the last calls after the measured period. */
  drainMs?: number;
}

export interface LoadResult {
  /** Calls completed correctly within the measured period. */
  requests: number;
  /** Calls that failed or answered wrongly, warm-up included. */
  errors: number;
  firstError?: string;
  seconds: number;
  rps: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  meanMs: number;
  maxMs: number;
}

export function runClosedLoop<T>(
  call: () => Promise<T>,
  options: LoadOptions,
  isCorrect: (value: T) => boolean = () => true,
): Promise<LoadResult> {
  // Nanoseconds: createHistogram records integers, and sub-microsecond rounding is irrelevant.
  const histogram = createHistogram();
  let measuring = false;
  let stopped = false;
  let inFlight = 0;
  let requests = 0;
  let errors = 0;
  let firstError: string | undefined;
  let measureStart = 0;
  let measureEnd = 0;

  return new Promise((resolve) => {
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(drainTimer);
      const seconds = (measureEnd - measureStart) / 1000;
      const ms = (ns: number) => (requests > 0 ? ns / 1e6 : Number.NaN);
      resolve({
        requests,
        errors,
        firstError,
        seconds,
        rps: requests / seconds,
        p50Ms: ms(histogram.percentile(50)),
        p90Ms: ms(histogram.percentile(90)),
        p99Ms: ms(histogram.percentile(99)),
        meanMs: ms(histogram.mean),
        maxMs: ms(histogram.max),
      });
    };

    const failed = (reason: string) => {
      errors++;
      firstError ??= reason;
    };

    const complete = (start: number, ok: boolean) => {
      inFlight--;
      if (ok && measuring) {
        histogram.record(Math.max(1, Math.round((performance.now() - start) * 1e6)));
        requests++;
      }
      if (!stopped) {
        // After a failure, yield to the event loop: a server that fails instantly must not
        // starve the timers that end the run.
        if (ok) launch();
        else setImmediate(launch);
      } else if (inFlight === 0) finish();
    };

    const launch = () => {
      if (stopped) return;
      inFlight++;
      const start = performance.now();
      let pending: Promise<T>;
      try {
        pending = call();
      } catch (err) {
        pending = Promise.reject(err);
      }
      pending.then(
        (value) => {
          const ok = isCorrect(value);
          if (!ok) failed(`unexpected response ${JSON.stringify(value)}`);
          complete(start, ok);
        },
        (err: unknown) => {
          failed(err instanceof Error ? err.message : String(err));
          complete(start, false);
        },
      );
    };

    setTimeout(() => {
      histogram.reset();
      requests = 0;
      measuring = true;
      measureStart = performance.now();
    }, options.warmupMs);
    setTimeout(() => {
      measuring = false;
      stopped = true;
      measureEnd = performance.now();
      if (inFlight === 0) finish();
    }, options.warmupMs + options.durationMs);
    const drainTimer = setTimeout(finish, options.warmupMs + options.durationMs + (options.drainMs ?? 5000));

    for (let i = 0; i < options.concurrency; i++) launch();
  });
}
