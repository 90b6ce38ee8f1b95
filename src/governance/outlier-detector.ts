import type { Candidate } from './balancer.ts';
import { type Clock, systemClock } from './clock.ts';

export interface OutlierOptions {
  /** Failures in a row that eject an instance. Default 5 (Envoy's consecutive_5xx). */
  consecutiveFailures?: number;
  /** First ejection's length; the n-th in a row lasts base × 2^(n−1). Default 30 s (Envoy). */
  baseEjectionMs?: number;
  /** Longest ejection. Default 300 s (Envoy). */
  maxEjectionMs?: number;
  /** Share of known instances that may be ejected at once; at least one always may. Default 50 (Envoy 10, see docs/governance.md). */
  maxEjectedPercent?: number;
  /** How long a half-open probe may go unanswered before another is let through. Default 10 s. */
  probeTimeoutMs?: number;
  clock?: Clock;
}

interface KeyState {
  /** Failures in a row while in rotation. */
  failures: number;
  /** Out of rotation until `until`, then until a probe succeeds. */
  ejected: boolean;
  until: number;
  /** When the pending half-open probe was handed out; undefined when none is pending. */
  probeSince: number | undefined;
  /** Ejections in a row: sets the next ejection's length; decays while healthy. */
  ejections: number;
  /** When the instance last came (back) into rotation. */
  healthySince: number;
}

/**
 * Passive outlier detection (Envoy's consecutive-failure ejection with a circuit breaker's
 * half-open state): an instance whose calls keep failing is taken out of rotation for a
 * while, then tried with one call before it gets traffic again.
 *
 * - `consecutiveFailures` failures in a row eject it; any success in between resets the count.
 *   A refused or reset connection (onConnectFailure) ejects at once.
 * - The n-th ejection in a row lasts min(maxEjectionMs, baseEjectionMs × 2^(n−1)). n drops
 *   by one for every baseEjectionMs the instance stays healthy, so an old episode is forgiven.
 * - When the ejection runs out, the next available() returns that instance alone: the next
 *   call is its probe, certain to be sent (offered among others, the balancer might pass it
 *   over while its probe slot stays taken). Until the probe's result, it gets no other call; a
 *   success restores it, a failure ejects it again for longer. A probe unanswered after
 *   probeTimeoutMs is presumed lost (the caller never reported) and the next available()
 *   sends another. Results are not tied to calls, so the first result reported for an
 *   instance whose ejection has run out counts as its probe's.
 * - Results for an instance still inside its ejection (calls made before it, or in panic
 *   mode) are ignored: a late success must not cut an ejection short.
 * - At most max(1, floor(n × maxEjectedPercent / 100)) instances are out at once, n being the
 *   number of keys the detector knows: those passed to available(), retain(), onResult() or
 *   onConnectFailure(), less those dropped by retain(). One detector serves one pool. An
 *   instance due for ejection beyond that bound stays in and is ejected at its next failure
 *   if a place has come free.
 * - If every candidate is ejected, available() returns them all (Envoy's panic mode): a call
 *   to a doubtful instance beats no call.
 */
export class OutlierDetector {
  readonly #clock: Clock;
  readonly #threshold: number;
  readonly #baseMs: number;
  readonly #maxMs: number;
  readonly #maxPercent: number;
  readonly #probeTimeoutMs: number;
  readonly #states = new Map<string, KeyState>();
  /** How many states have `ejected` set: kept so that available() is free when it is 0. */
  #ejectedCount = 0;

  constructor(options: OutlierOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#threshold = options.consecutiveFailures ?? 5;
    this.#baseMs = options.baseEjectionMs ?? 30_000;
    this.#maxMs = options.maxEjectionMs ?? 300_000;
    this.#maxPercent = options.maxEjectedPercent ?? 50;
    this.#probeTimeoutMs = options.probeTimeoutMs ?? 10_000;
    if (!(Number.isInteger(this.#threshold) && this.#threshold >= 1)) {
      throw new RangeError(
        `consecutiveFailures: expected an integer >= 1, got ${options.consecutiveFailures}`,
      );
    }
    if (!(this.#baseMs > 0 && Number.isFinite(this.#baseMs))) {
      throw new RangeError(`baseEjectionMs: expected a positive number, got ${options.baseEjectionMs}`);
    }
    if (!(this.#maxMs >= this.#baseMs && Number.isFinite(this.#maxMs))) {
      throw new RangeError(
        `maxEjectionMs: expected a number >= baseEjectionMs, got ${options.maxEjectionMs}`,
      );
    }
    if (!(this.#maxPercent >= 0 && this.#maxPercent <= 100)) {
      throw new RangeError(`maxEjectedPercent: expected 0 to 100, got ${options.maxEjectedPercent}`);
    }
    if (!(this.#probeTimeoutMs > 0)) {
      throw new RangeError(`probeTimeoutMs: expected a positive number, got ${options.probeTimeoutMs}`);
    }
  }

  /** A call's outcome on `key`: failures that count are those the caller classifies as instance failures (UNAVAILABLE, INTERNAL, connect errors...) — the detector only gets ok/failed. */
  onResult(key: string, ok: boolean, now = this.#clock.now()): void {
    const state = this.#state(key, now);
    if (state.ejected) {
      if (now < state.until) return;
      if (ok) this.#restore(state, now);
      else this.#eject(state, now);
      return;
    }
    if (ok) {
      state.failures = 0;
      return;
    }
    state.failures++;
    if (state.failures >= this.#threshold) this.#tryEject(state, now);
  }

  /** Connection to `key` refused/reset before any call: eject now (no waiting for 5 failures). */
  onConnectFailure(key: string, now = this.#clock.now()): void {
    const state = this.#state(key, now);
    if (state.ejected) {
      if (now >= state.until) this.#eject(state, now);
      return;
    }
    state.failures = Math.max(state.failures + 1, this.#threshold);
    this.#tryEject(state, now);
  }

  /** Out of rotation: ejected, or ejected and waiting for a successful probe. */
  isEjected(key: string): boolean {
    return this.#states.get(key)?.ejected ?? false;
  }

  /** The candidates to balance over; see the class comment for the probe and panic mode. */
  available<C extends Candidate>(candidates: readonly C[], now = this.#clock.now()): readonly C[] {
    // The common case, on every call: nobody is out, so nobody is due a probe either.
    if (this.#ejectedCount === 0) return candidates;
    const inRotation: C[] = [];
    let probe: KeyState | undefined;
    let probeCandidate: C | undefined;
    for (const candidate of candidates) {
      const state = this.#state(candidate.key, now);
      if (!state.ejected) inRotation.push(candidate);
      else if (probe === undefined && this.#probeDue(state, now)) {
        probe = state;
        probeCandidate = candidate;
      }
    }
    if (probe !== undefined && probeCandidate !== undefined) {
      probe.probeSince = now;
      return [probeCandidate];
    }
    return inRotation.length > 0 ? inRotation : [...candidates];
  }

  retain(keys: ReadonlySet<string>): void {
    for (const [key, state] of this.#states) {
      if (keys.has(key)) continue;
      if (state.ejected) this.#ejectedCount--;
      this.#states.delete(key);
    }
    const now = this.#clock.now();
    for (const key of keys) this.#state(key, now);
  }

  /** For metrics/dashboard: keys ejected now. */
  ejected(): string[] {
    const keys: string[] = [];
    for (const [key, state] of this.#states) if (state.ejected) keys.push(key);
    return keys;
  }

  /** The most instances that may be out at once. */
  get maxEjected(): number {
    return Math.max(1, Math.floor((this.#states.size * this.#maxPercent) / 100));
  }

  #state(key: string, now: number): KeyState {
    let state = this.#states.get(key);
    if (state === undefined) {
      state = {
        failures: 0,
        ejected: false,
        until: 0,
        probeSince: undefined,
        ejections: 0,
        healthySince: now,
      };
      this.#states.set(key, state);
    }
    return state;
  }

  #probeDue(state: KeyState, now: number): boolean {
    if (now < state.until) return false;
    return state.probeSince === undefined || now - state.probeSince >= this.#probeTimeoutMs;
  }

  #tryEject(state: KeyState, now: number): void {
    // Beyond the bound it stays in, its failure count at the threshold: the next failure retries.
    if (this.#ejectedCount < this.maxEjected) this.#eject(state, now);
  }

  /** Ejects, or ejects again after a failed probe (already counted among those out). */
  #eject(state: KeyState, now: number): void {
    if (!state.ejected) {
      this.#ejectedCount++;
      const forgiven = Math.floor(Math.max(0, now - state.healthySince) / this.#baseMs);
      state.ejections = Math.max(0, state.ejections - forgiven);
    }
    state.ejections++;
    state.ejected = true;
    state.until = now + Math.min(this.#maxMs, this.#baseMs * 2 ** (state.ejections - 1));
    state.probeSince = undefined;
    state.failures = 0;
  }

  #restore(state: KeyState, now: number): void {
    if (state.ejected) this.#ejectedCount--;
    state.ejected = false;
    state.probeSince = undefined;
    state.failures = 0;
    state.healthySince = now;
  }
}
