export type HealthStatus = 'unknown' | 'healthy' | 'unhealthy';

export interface HealthTrackerOptions {
  /** Successful probes in a row that make an instance healthy. Default 1. */
  healthyThreshold?: number;
  /** Failed probes in a row that make it unhealthy. Default 2, so one lost probe is not enough. */
  unhealthyThreshold?: number;
}

interface KeyState {
  status: HealthStatus;
  /** Probes in a row with the same outcome as the last one; its sign is that outcome. */
  streak: number;
}

/**
 * Active health check state per instance, as Envoy's and Kubernetes' thresholds: the status
 * changes only after enough probes in a row agree, so one slow or lost probe does not flap
 * an instance out of rotation. Every instance starts 'unknown' and stays so until a
 * threshold is first reached either way. The prober (timers, requests) lives elsewhere.
 */
export class HealthTracker {
  readonly #healthy: number;
  readonly #unhealthy: number;
  readonly #states = new Map<string, KeyState>();

  constructor(options: HealthTrackerOptions = {}) {
    this.#healthy = options.healthyThreshold ?? 1;
    this.#unhealthy = options.unhealthyThreshold ?? 2;
    for (const [name, value] of [
      ['healthyThreshold', this.#healthy],
      ['unhealthyThreshold', this.#unhealthy],
    ] as const) {
      if (!(Number.isInteger(value) && value >= 1)) {
        throw new RangeError(`${name}: expected an integer >= 1, got ${value}`);
      }
    }
  }

  /** Records a probe's outcome and returns the status it leaves. */
  onProbe(key: string, ok: boolean): HealthStatus {
    let state = this.#states.get(key);
    if (state === undefined) {
      state = { status: 'unknown', streak: 0 };
      this.#states.set(key, state);
    }
    if (ok) {
      state.streak = state.streak > 0 ? state.streak + 1 : 1;
      if (state.streak >= this.#healthy) state.status = 'healthy';
    } else {
      state.streak = state.streak < 0 ? state.streak - 1 : -1;
      if (-state.streak >= this.#unhealthy) state.status = 'unhealthy';
    }
    return state.status;
  }

  status(key: string): HealthStatus {
    return this.#states.get(key)?.status ?? 'unknown';
  }

  retain(keys: ReadonlySet<string>): void {
    for (const key of this.#states.keys()) if (!keys.has(key)) this.#states.delete(key);
  }
}
