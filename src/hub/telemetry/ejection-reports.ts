/**
 * What callers say about instances they ejected (outlier detection runs in each caller, so the
 * hub only hears of it). A report lasts `ttlMs` unless renewed; an instance is shown ejected
 * while any caller's unexpired report says so.
 */

export interface EjectionReportsOptions {
  /** A report not renewed within this is forgotten. 60 s unless set. */
  ttlMs?: number;
  /** Reports held at most (instance × caller); the oldest go first. 10,000 unless set. */
  maxReports?: number;
  now?: () => number;
}

interface Report {
  readonly ejected: boolean;
  readonly expiresAt: number;
}

export class EjectionReports {
  readonly #ttlMs: number;
  readonly #max: number;
  readonly #now: () => number;
  /** instance id → caller → report, instances in order of their last report. */
  readonly #byInstance = new Map<string, Map<string, Report>>();
  #size = 0;

  constructor(options: EjectionReportsOptions = {}) {
    this.#ttlMs = options.ttlMs ?? 60_000;
    this.#max = options.maxReports ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  get ttlMs(): number {
    return this.#ttlMs;
  }

  report(instanceId: string, by: string, ejected: boolean): void {
    const reports = this.#byInstance.get(instanceId) ?? new Map<string, Report>();
    this.#byInstance.delete(instanceId);
    this.#byInstance.set(instanceId, reports);
    if (!reports.has(by)) this.#size++;
    reports.set(by, { ejected, expiresAt: this.#now() + this.#ttlMs });
    this.#evict();
  }

  /** Whether an unexpired report of some caller says the instance is ejected. */
  isEjected(instanceId: string): boolean {
    const reports = this.#byInstance.get(instanceId);
    if (!reports) return false;
    const now = this.#now();
    let ejected = false;
    for (const [by, report] of reports) {
      if (report.expiresAt <= now) {
        reports.delete(by);
        this.#size--;
      } else if (report.ejected) ejected = true;
    }
    if (reports.size === 0) this.#byInstance.delete(instanceId);
    return ejected;
  }

  /** Who currently reports the instance ejected. */
  ejectedBy(instanceId: string): string[] {
    if (!this.isEjected(instanceId)) return [];
    const reports = this.#byInstance.get(instanceId) ?? new Map<string, Report>();
    return [...reports].filter(([, r]) => r.ejected).map(([by]) => by);
  }

  #evict(): void {
    for (const [id, reports] of this.#byInstance) {
      if (this.#size <= this.#max) return;
      this.#size -= reports.size;
      this.#byInstance.delete(id);
    }
  }
}
