import { createHistogram, performance } from 'node:perf_hooks';

/**
 * A fixed-rate (open-loop) load generator: calls start on a schedule of `ratePerS` per second,
 * whether or not earlier ones have answered, as in Linkerd's "Beyond Round Robin" experiment and
 * wrk2. A closed loop slows down when answers do, so a slow instance lowers the offered load
 * instead of showing in the latencies; a fixed rate keeps offering it.
 *
 * Every call scheduled inside the measured window counts, however late it answers (the run waits
 * for it), so slow calls near the end are not dropped. Latency runs from the moment the call was
 * sent; `lag` is how late that was behind the schedule (timer resolution, a busy client), so a
 * stalled generator shows instead of hiding (coordinated omission).
 */

export interface OpenLoopOptions {
  ratePerS: number;
  warmupMs: number;
  durationMs: number;
  /** How long to wait for the measured calls after the window. 10 s unless set. */
  drainMs?: number;
}

export interface OpenLoopResult {
  offeredPerS: number;
  /** Calls scheduled inside the measured window. */
  scheduled: number;
  /** Of those, answered correctly (the others failed, answered wrongly or never answered). */
  requests: number;
  errors: number;
  firstError?: string;
  seconds: number;
  /** Correct answers per second of the window. */
  rps: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  meanMs: number;
  maxMs: number;
  /** How late calls were sent behind the schedule: p99 and max, ms. */
  lagP99Ms: number;
  lagMaxMs: number;
  /** Most calls in flight at once during the window. */
  maxInFlight: number;
}

/** The schedule ticks this often; due calls are sent in a batch on each tick. */
const TICK_MS = 1;

export function runOpenLoop<T>(
  call: () => Promise<T>,
  options: OpenLoopOptions,
  isCorrect: (value: T) => boolean = () => true,
): Promise<OpenLoopResult> {
  if (!(options.ratePerS > 0)) throw new RangeError(`ratePerS must be positive, got ${options.ratePerS}`);
  const latency = createHistogram();
  const lag = createHistogram();
  const intervalMs = 1000 / options.ratePerS;
  const windowStart = options.warmupMs;
  const windowEnd = options.warmupMs + options.durationMs;
  let sent = 0;
  let scheduled = 0;
  let requests = 0;
  let errors = 0;
  let firstError: string | undefined;
  let pending = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let done = false;

  return new Promise((resolve) => {
    const start = performance.now();
    let tickTimer: NodeJS.Timeout | undefined;
    let drainTimer: NodeJS.Timeout | undefined;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(tickTimer);
      clearTimeout(drainTimer);
      // Calls still unanswered at the end of the drain count as failures.
      if (pending > 0) {
        errors += pending;
        firstError ??= `${pending} calls unanswered ${options.drainMs ?? 10_000} ms after the window`;
      }
      const ms = (ns: number) => (requests > 0 ? ns / 1e6 : Number.NaN);
      resolve({
        offeredPerS: options.ratePerS,
        scheduled,
        requests,
        errors,
        firstError,
        seconds: options.durationMs / 1000,
        rps: requests / (options.durationMs / 1000),
        p50Ms: ms(latency.percentile(50)),
        p90Ms: ms(latency.percentile(90)),
        p99Ms: ms(latency.percentile(99)),
        p999Ms: ms(latency.percentile(99.9)),
        meanMs: ms(latency.mean),
        maxMs: ms(latency.max),
        lagP99Ms: scheduled > 0 ? lag.percentile(99) / 1e6 : Number.NaN,
        lagMaxMs: scheduled > 0 ? lag.max / 1e6 : Number.NaN,
        maxInFlight,
      });
    };

    const launch = (due: number) => {
      const measured = due >= windowStart && due < windowEnd;
      const sentAt = performance.now();
      inFlight++;
      if (measured) {
        scheduled++;
        pending++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        lag.record(Math.max(1, Math.round((sentAt - start - due) * 1e6)));
      }
      const settle = (ok: boolean, why?: string) => {
        inFlight--;
        if (!ok) {
          errors++;
          firstError ??= why;
        }
        if (!measured || done) return;
        pending--;
        if (ok) {
          latency.record(Math.max(1, Math.round((performance.now() - sentAt) * 1e6)));
          requests++;
        }
        if (pending === 0 && sent * intervalMs >= windowEnd) finish();
      };
      let answer: Promise<T>;
      try {
        answer = call();
      } catch (err) {
        answer = Promise.reject(err);
      }
      answer.then(
        (value) =>
          isCorrect(value) ? settle(true) : settle(false, `unexpected response ${JSON.stringify(value)}`),
        (err: unknown) => settle(false, err instanceof Error ? err.message : String(err)),
      );
    };

    const tick = () => {
      const elapsed = performance.now() - start;
      // Every call whose time has come, each with its own place in the schedule.
      while (sent * intervalMs <= elapsed && sent * intervalMs < windowEnd) launch(sent++ * intervalMs);
      if (sent * intervalMs < windowEnd) {
        tickTimer = setTimeout(tick, TICK_MS);
        return;
      }
      if (pending === 0) finish();
      else drainTimer = setTimeout(finish, options.drainMs ?? 10_000);
    };
    tick();
  });
}
