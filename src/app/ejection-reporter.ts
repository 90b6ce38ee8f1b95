/**
 * Tells the hub which instances this process's clients by name have ejected, so the dashboard
 * can show it: outlier detection runs in each caller, and only the caller knows. The
 * reporter is a ClusterEvents observer; its hooks run on the call path, so they only record
 * and queue, and every request runs in the background.
 *
 * Protocol: `PUT <hub>/api/v1/telemetry/instances/<id>` with `{ ejected, by }`. The hub
 * forgets a report after 60 s, so one is renewed every 20 s while the ejection lasts and a
 * report lost to a hub that is down heals by itself.
 */
import type { ClusterEvents, EjectionEvent } from '../cluster/cluster-events.ts';
import { type Clock, systemClock } from '../governance/clock.ts';

/** The timers the reporter schedules renewals with: injectable, so tests can drive them. */
export interface ReporterTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: ReporterTimers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface EjectionReporterOptions {
  /** The hub's base URL, e.g. http://127.0.0.1:7070. */
  hubUrl: string;
  /** Who reports: the calling service's name. */
  by: string;
  /** Renew a standing ejection this often. 20 s unless set (the hub forgets after 60 s). */
  renewMs?: number;
  /** One request's time limit. 2 s unless set. */
  timeoutMs?: number;
  /** Instances tracked at most; ejections beyond are not reported. 1,000 unless set. */
  maxInstances?: number;
  /** Failures are passed to `onError` at most once per this. 60 s unless set. */
  errorIntervalMs?: number;
  /** Where failures go (rate-limited); a process warning unless set. Never thrown to callers. */
  onError?: (err: Error) => void;
  timers?: ReporterTimers;
  /** Reads the time for the error rate limit. */
  clock?: Clock;
  /** The hub's access token (docs/security.md#hub-access): `$SWITCHBOARD_TOKEN` unless set. */
  token?: string;
}

/** One instance some client of this process has ejected, or whose end is still to be sent. */
interface Tracked {
  readonly id: string;
  /** Ejections open for it here: several clients (or services) may eject one instance. */
  ejections: number;
  /** A request for it is in flight. */
  sending: boolean;
  /** The state changed while a request was in flight: send again when it ends. */
  dirty: boolean;
  renewal: unknown;
}

export class EjectionReporter implements Required<Pick<ClusterEvents, 'ejected' | 'ejectionEnded'>> {
  readonly #base: string;
  readonly #by: string;
  readonly #headers: Record<string, string>;
  readonly #renewMs: number;
  readonly #timeoutMs: number;
  readonly #max: number;
  readonly #errorIntervalMs: number;
  readonly #onError: (err: Error) => void;
  readonly #timers: ReporterTimers;
  readonly #clock: Clock;
  readonly #tracked = new Map<string, Tracked>();
  readonly #inFlight = new Set<Promise<void>>();
  #closed = false;
  #lastErrorAt = Number.NEGATIVE_INFINITY;
  #suppressed = 0;

  constructor(options: EjectionReporterOptions) {
    this.#base = `${options.hubUrl.replace(/\/+$/, '')}/api/v1/telemetry/instances/`;
    this.#by = options.by;
    const token = options.token ?? (process.env.SWITCHBOARD_TOKEN || undefined);
    this.#headers = {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    };
    this.#renewMs = options.renewMs ?? 20_000;
    this.#timeoutMs = options.timeoutMs ?? 2000;
    this.#max = options.maxInstances ?? 1000;
    this.#errorIntervalMs = options.errorIntervalMs ?? 60_000;
    this.#onError = options.onError ?? ((err) => process.emitWarning(err.message, 'SwitchboardWarning'));
    this.#timers = options.timers ?? realTimers;
    this.#clock = options.clock ?? systemClock;
  }

  /** Instances tracked now (ejected here, or with an end still to send). */
  get size(): number {
    return this.#tracked.size;
  }

  // Arrow properties, so the hooks can be handed around without their object.
  readonly ejected = (event: EjectionEvent): void => {
    if (this.#closed) return;
    let tracked = this.#tracked.get(event.instance);
    if (!tracked) {
      if (this.#tracked.size >= this.#max) {
        this.#fail(
          new Error(`${this.#max} ejected instances tracked already; ${event.instance} is not reported`),
        );
        return;
      }
      tracked = { id: event.instance, ejections: 0, sending: false, dirty: false, renewal: undefined };
      this.#tracked.set(event.instance, tracked);
    }
    tracked.ejections++;
    if (tracked.ejections === 1) this.#request(tracked);
  };

  readonly ejectionEnded = (event: EjectionEvent): void => {
    const tracked = this.#tracked.get(event.instance);
    if (!tracked || tracked.ejections === 0 || this.#closed) return;
    tracked.ejections--;
    if (tracked.ejections > 0) return;
    this.#cancelRenewal(tracked);
    this.#request(tracked);
  };

  /** Stops the renewals and sends nothing more; waits for the requests in flight (each time-limited). */
  async close(): Promise<void> {
    this.#closed = true;
    for (const tracked of this.#tracked.values()) this.#cancelRenewal(tracked);
    this.#tracked.clear();
    await Promise.all(this.#inFlight);
  }

  #request(tracked: Tracked): void {
    if (tracked.sending) {
      tracked.dirty = true;
      return;
    }
    tracked.sending = true;
    tracked.dirty = false;
    const sent = this.#send(tracked).finally(() => this.#inFlight.delete(sent));
    this.#inFlight.add(sent);
  }

  async #send(tracked: Tracked): Promise<void> {
    const ejected = tracked.ejections > 0;
    try {
      await this.#put(tracked.id, ejected);
    } catch (err) {
      this.#fail(err as Error);
    }
    tracked.sending = false;
    if (this.#closed) return;
    if (tracked.dirty) this.#request(tracked);
    else if (tracked.ejections > 0) this.#scheduleRenewal(tracked);
    // The end was sent (or failed: the hub forgets the report within a minute anyway).
    else this.#tracked.delete(tracked.id);
  }

  async #put(id: string, ejected: boolean): Promise<void> {
    // Not aborted by close(): an end reported as a client closes should still land.
    const signal = AbortSignal.timeout(this.#timeoutMs);
    let res: Response;
    try {
      res = await fetch(this.#base + encodeURIComponent(id), {
        method: 'PUT',
        headers: this.#headers,
        body: JSON.stringify({ ejected, by: this.#by }),
        signal,
      });
    } catch (err) {
      const why =
        (err as Error).name === 'TimeoutError' ? `no answer within ${this.#timeoutMs} ms` : reason(err);
      throw new Error(`could not report instance ${id} ${ejected ? 'ejected' : 'back'} to the hub: ${why}`, {
        cause: err,
      });
    }
    const text = await res.text().catch(() => '');
    if (!res.ok) {
      throw new Error(
        `the hub refused the ejection report for instance ${id}: ${res.status} ${text.slice(0, 200)}`,
      );
    }
  }

  #scheduleRenewal(tracked: Tracked): void {
    if (tracked.renewal !== undefined) return;
    tracked.renewal = this.#timers.setTimeout(() => {
      tracked.renewal = undefined;
      if (tracked.ejections > 0) this.#request(tracked);
    }, this.#renewMs);
  }

  #cancelRenewal(tracked: Tracked): void {
    if (tracked.renewal === undefined) return;
    this.#timers.clearTimeout(tracked.renewal);
    tracked.renewal = undefined;
  }

  /** At most one error per interval reaches onError; it says how many were left out before it. */
  #fail(err: Error): void {
    if (this.#closed) return;
    const now = this.#clock.now();
    if (now - this.#lastErrorAt < this.#errorIntervalMs) {
      this.#suppressed++;
      return;
    }
    this.#lastErrorAt = now;
    const suppressed = this.#suppressed;
    this.#suppressed = 0;
    const out =
      suppressed === 0
        ? err
        : new Error(`${err.message} (and ${suppressed} more failures since the last report)`, { cause: err });
    try {
      this.#onError(out);
    } catch {
      // A failing logger must not break the reporter either.
    }
  }
}

function reason(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message;
}
