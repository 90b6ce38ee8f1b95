import type { Clock, Random } from './clock.ts';
import { LeastOutstandingBalancer } from './least-outstanding-balancer.ts';
import { PeakEwmaBalancer, type PeakEwmaOptions } from './peak-ewma-balancer.ts';
import { RandomBalancer } from './random-balancer.ts';
import { RoundRobinBalancer } from './round-robin-balancer.ts';

/** What a balancer chooses between: an instance, known by a key stable across its lifetime. */
export interface Candidate {
  readonly key: string;
  readonly zone?: string;
}

export type BalancerName = 'round_robin' | 'random' | 'least_outstanding' | 'p2c_peak_ewma';

export const BALANCER_NAMES: readonly BalancerName[] = [
  'round_robin',
  'random',
  'least_outstanding',
  'p2c_peak_ewma',
];

/**
 * Power of two choices over peak EWMA, as Linkerd and Finagle default to. Round robin and
 * random send a slow or overloaded instance its full share; least outstanding sees load but
 * not latency. Peak EWMA weighs both (latency × calls in flight), reacts to a slowdown at once
 * and lets it go slowly, and choosing the cheaper of two random instances, rather than the
 * cheapest of all, keeps many clients with the same view from herding onto one instance
 * (Linkerd, "Beyond Round Robin: Load Balancing for Latency", 2016; Mitzenmacher, "The Power
 * of Two Choices in Randomized Load Balancing", 2001).
 */
export const DEFAULT_BALANCER: BalancerName = 'p2c_peak_ewma';

export interface CallResult {
  latencyMs: number;
  ok: boolean;
}

/**
 * Picks an instance per call and learns from calls. It is on every call's path, so it takes
 * keys rather than handing out per-call objects, and accepts the time (`now`, the clock's
 * reading) from a caller that already has it.
 */
export interface Balancer {
  readonly name: BalancerName;
  /** One of `candidates` (already filtered of ejected instances), or undefined if empty. */
  pick<C extends Candidate>(candidates: readonly C[], now?: number): C | undefined;
  /** A call starts on `key` (outstanding++). */
  begin(key: string): void;
  /** The call begun on `key` ended (outstanding--, latency recorded). Once per begin. */
  end(key: string, result: CallResult, now?: number): void;
  /** Forget per-key state of keys not in `keys` (instances that left). */
  retain(keys: ReadonlySet<string>): void;
}

export interface BalancerOptions {
  clock?: Clock;
  random?: Random;
  /** Only for p2c_peak_ewma. */
  peakEwma?: Omit<PeakEwmaOptions, 'clock' | 'random'>;
}

export function isBalancerName(value: unknown): value is BalancerName {
  return BALANCER_NAMES.includes(value as BalancerName);
}

export function createBalancer(
  name: BalancerName = DEFAULT_BALANCER,
  options: BalancerOptions = {},
): Balancer {
  const { clock, random } = options;
  switch (name) {
    case 'round_robin':
      return new RoundRobinBalancer({ random });
    case 'random':
      return new RandomBalancer({ random });
    case 'least_outstanding':
      return new LeastOutstandingBalancer({ random });
    case 'p2c_peak_ewma':
      return new PeakEwmaBalancer({ ...options.peakEwma, clock, random });
    default:
      throw new TypeError(
        `unknown balancer ${JSON.stringify(name)}; expected one of ${BALANCER_NAMES.join(', ')}`,
      );
  }
}
