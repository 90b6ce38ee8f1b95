import { refusedStatus } from '../contract/errors.ts';
import { Status } from '../contract/status.ts';
import type { ServerInterceptor } from '../core/interceptors.ts';
import { ConcurrencyLimiter } from '../governance/concurrency-limiter.ts';
import { RateLimiter } from '../governance/rate-limiter.ts';

export interface ServerLimits {
  /** Calls handled at once (a streaming call counts until it ends); more are refused. */
  maxConcurrentCalls?: number;
  /** Calls accepted per second, on average. */
  ratePerSecond?: number;
  /** Calls that may arrive at once above the rate; the rate (one second's worth) unless set. */
  burst?: number;
}

/** The Server's concurrency limit unless configured: enough for any one process, not for a flood. */
export const DEFAULT_MAX_CONCURRENT_CALLS = 10_000;

/** Health probes must see the truth about an overloaded server, not a refusal. */
const EXEMPT = /^\/grpc\.health\.v1\.Health\//;

/**
 * Load shedding for a server: calls over the concurrency limit or the rate are refused with
 * RESOURCE_EXHAUSTED (HTTP 429) before their handler runs, marked unprocessed so a cluster
 * client may send them to another instance.
 */
export function limitsInterceptor(limits: ServerLimits): ServerInterceptor {
  const concurrency =
    limits.maxConcurrentCalls === undefined ? undefined : new ConcurrencyLimiter(limits.maxConcurrentCalls);
  const rate =
    limits.ratePerSecond === undefined
      ? undefined
      : new RateLimiter({ perSecond: limits.ratePerSecond, burst: limits.burst ?? limits.ratePerSecond });
  return (ctx, next) => {
    if (EXEMPT.test(ctx.method.path)) return next();
    if (rate && !rate.tryTake()) {
      return Promise.reject(
        refusedStatus(Status.RESOURCE_EXHAUSTED, `over the rate limit of ${limits.ratePerSecond} calls/s`),
      );
    }
    if (!concurrency) return next();
    const release = concurrency.acquire();
    if (!release) {
      return Promise.reject(
        refusedStatus(Status.RESOURCE_EXHAUSTED, `over the limit of ${concurrency.limit} concurrent calls`),
      );
    }
    return next().finally(release);
  };
}
