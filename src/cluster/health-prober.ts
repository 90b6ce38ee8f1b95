import { HealthTracker } from '../governance/health-tracker.ts';
import type { Member } from './endpoint-pool.ts';

export interface HealthCheckOptions {
  /** Time between probes of one instance. 5 s unless set. */
  intervalMs?: number;
  /** A probe not answered within this fails. 1 s unless set. */
  timeoutMs?: number;
  /** Passing probes in a row that bring an instance back. 1 unless set. */
  healthyThreshold?: number;
  /** Failing probes in a row that take it out. 2 unless set. */
  unhealthyThreshold?: number;
}

/**
 * Asks one instance whether it is healthy: true or false, never throws. app/ supplies it
 * (gRPC health for gRPC and native endpoints, GET /healthz for HTTP ones), so the cluster
 * knows no protocol.
 */
export type HealthProbe = (member: Member, signal: AbortSignal) => Promise<boolean>;

/**
 * Active health checking: every instance is probed on a timer, and one that fails
 * `unhealthyThreshold` probes in a row is left out of balancing until it passes again.
 * Complements outlier ejection, which only learns from calls that were made.
 */
export class HealthProber {
  readonly #probe: HealthProbe;
  readonly #intervalMs: number;
  readonly #timeoutMs: number;
  readonly #tracker: HealthTracker;
  readonly #timers = new Map<string, { member: Member; timer: NodeJS.Timeout }>();
  readonly #unhealthy = new Set<string>();

  constructor(probe: HealthProbe, options: HealthCheckOptions = {}) {
    this.#probe = probe;
    this.#intervalMs = options.intervalMs ?? 5000;
    this.#timeoutMs = options.timeoutMs ?? 1000;
    this.#tracker = new HealthTracker({
      healthyThreshold: options.healthyThreshold,
      unhealthyThreshold: options.unhealthyThreshold,
    });
  }

  /** True while no instance fails its probes: then nothing needs filtering. */
  get allHealthy(): boolean {
    return this.#unhealthy.size === 0;
  }

  /** False only for an instance whose probes failed; unknown ones are given the benefit of the doubt. */
  healthy(key: string): boolean {
    return this.#tracker.status(key) !== 'unhealthy';
  }

  /** Starts probing new members at once, stops probing departed ones. */
  update(members: readonly Member[]): void {
    const keys = new Set(members.map((m) => m.key));
    for (const [key, entry] of this.#timers) {
      const current = members.find((m) => m.key === key);
      if (!current || current.transport !== entry.member.transport) {
        clearInterval(entry.timer);
        this.#timers.delete(key);
      }
    }
    for (const member of members) {
      if (this.#timers.has(member.key)) continue;
      const timer = setInterval(() => void this.#run(member), this.#intervalMs);
      timer.unref();
      this.#timers.set(member.key, { member, timer });
      void this.#run(member);
    }
    this.#tracker.retain(keys);
    for (const key of this.#unhealthy) if (!keys.has(key)) this.#unhealthy.delete(key);
  }

  close(): void {
    for (const { timer } of this.#timers.values()) clearInterval(timer);
    this.#timers.clear();
    this.#unhealthy.clear();
  }

  async #run(member: Member): Promise<void> {
    const signal = AbortSignal.timeout(this.#timeoutMs);
    let ok: boolean;
    try {
      ok = await this.#probe(member, signal);
    } catch {
      ok = false;
    }
    if (this.#timers.get(member.key)?.member.transport !== member.transport) return;
    if (this.#tracker.onProbe(member.key, ok) === 'unhealthy') this.#unhealthy.add(member.key);
    else this.#unhealthy.delete(member.key);
  }
}
