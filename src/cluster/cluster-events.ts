import type { Status } from '../contract/status.ts';

/** A call the cluster sends once more, or the retry it was refused. */
export interface RetryEvent {
  /** The name the cluster resolves, e.g. "greet.Greeter". */
  readonly service: string;
  /** The method's proto name, e.g. "SayHello". */
  readonly method: string;
  /** The attempt about to start: 2 for the first retry. */
  readonly attempt: number;
  /** Why the previous attempt failed; undefined for a hedge (sent while the others still run). */
  readonly code: Status | undefined;
}

/** An instance taken out of rotation, or back in. */
export interface EjectionEvent {
  readonly service: string;
  /** The instance id, the key the balancer and the outlier detector know it by. */
  readonly instance: string;
}

/**
 * Why an ejection ended: a probe call succeeded, the instance left the registry while out,
 * or the cluster was closed.
 */
export type EjectionEnd = 'recovered' | 'removed' | 'closed';

/**
 * What a ClusterTransport tells an observer about its governance, for metrics and logs. Every
 * hook is optional and is called synchronously on the call path: keep it cheap, never throw.
 * Each `ejected` is followed by exactly one `ejectionEnded`, so a gauge may add and subtract.
 */
export interface ClusterEvents {
  /** A failed attempt is tried again (after its backoff), or a hedge is sent. */
  retry?(event: RetryEvent): void;
  /** A retry (or hedge) the call could have made was refused by the retry budget. */
  retryBudgetExhausted?(event: RetryEvent): void;
  ejected?(event: EjectionEvent): void;
  ejectionEnded?(event: EjectionEvent & { readonly reason: EjectionEnd }): void;
}

/**
 * One ClusterEvents that tells each of `observers` in order (undefined ones are skipped): the
 * caller's own events, metrics, the hub's ejection reports. Only hooks some observer has are
 * defined, so a cluster can still tell when nobody listens to one.
 */
export function combineClusterEvents(
  ...observers: readonly (ClusterEvents | undefined)[]
): ClusterEvents | undefined {
  const present = observers.filter((o): o is ClusterEvents => o !== undefined);
  if (present.length <= 1) return present[0];
  const combined: ClusterEvents = {};
  const retry = hooks(present, (o) => o.retry?.bind(o));
  if (retry) combined.retry = retry;
  const exhausted = hooks(present, (o) => o.retryBudgetExhausted?.bind(o));
  if (exhausted) combined.retryBudgetExhausted = exhausted;
  const ejected = hooks(present, (o) => o.ejected?.bind(o));
  if (ejected) combined.ejected = ejected;
  const ended = hooks(present, (o) => o.ejectionEnded?.bind(o));
  if (ended) combined.ejectionEnded = ended;
  return combined;
}

/** One hook calling every observer's, or undefined when none has it. */
function hooks<E>(
  observers: readonly ClusterEvents[],
  pick: (observer: ClusterEvents) => ((event: E) => void) | undefined,
): ((event: E) => void) | undefined {
  const all = observers.flatMap((o) => {
    const hook = pick(o);
    return hook ? [hook] : [];
  });
  if (all.length === 0) return undefined;
  return (event) => {
    for (const hook of all) hook(event);
  };
}
