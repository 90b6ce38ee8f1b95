import { StatusError } from '../contract/errors.ts';
import { Status } from '../contract/status.ts';
import type { ClientTransport, OutgoingCall } from '../core/transport.ts';
import type { EndpointTransport, ServiceInstance } from '../discovery/instance.ts';
import type { Registry } from '../discovery/registry.ts';
import { type BackoffOptions, backoffDelay } from '../governance/backoff.ts';
import { type Balancer, type BalancerName, createBalancer } from '../governance/balancer.ts';
import { type Clock, type Random, systemClock } from '../governance/clock.ts';
import type { HedgingPolicy } from '../governance/hedging.ts';
import { OutlierDetector, type OutlierOptions } from '../governance/outlier-detector.ts';
import { RetryBudget } from '../governance/retry-budget.ts';
import { preferZone } from '../governance/zone.ts';
import { retryable, verdictOf } from './call-outcome.ts';
import type { ClusterEvents, EjectionEnd, RetryEvent } from './cluster-events.ts';
import { type EndpointConnector, EndpointPool, type Member } from './endpoint-pool.ts';
import { type HealthCheckOptions, type HealthProbe, HealthProber } from './health-prober.ts';
import { ServiceResolver, type ServiceResolverOptions } from './service-resolver.ts';

export interface RetryOptions {
  /** Attempts in all, the first included. 3 unless set. */
  maxAttempts?: number;
  backoff?: BackoffOptions;
  /** Shared by every call of the cluster: retries stay within 20% of requests + 10/s. */
  budget?: RetryBudget;
}

export interface ClusterOptions {
  registry: Registry;
  /** The name to resolve, e.g. "greet.Greeter". */
  service: string;
  connect: EndpointConnector;
  /** Which endpoint of an instance to use, first match wins. native, grpc, http unless set. */
  transports?: readonly EndpointTransport[];
  /** p2c_peak_ewma unless set. */
  balancer?: BalancerName;
  /** This client's zone: instances in it are preferred while there are any. */
  zone?: string;
  /** Retries where safe; false turns them off. */
  retry?: RetryOptions | false;
  /** Hedged requests for idempotent unary methods: off unless set. */
  hedging?: HedgingPolicy;
  /** Outlier ejection; false turns it off. */
  outlier?: OutlierOptions | false;
  resolver?: ServiceResolverOptions;
  /** Active health checks: off unless set. */
  healthCheck?: HealthCheckOptions & { probe: HealthProbe };
  /** Told of retries, refused retries and ejections (metrics, logs): nothing unless set. */
  events?: ClusterEvents;
  clock?: Clock;
  random?: Random;
}

export const DEFAULT_TRANSPORT_PREFERENCE: readonly EndpointTransport[] = ['native', 'grpc', 'http'];

/**
 * A client transport for a service name: resolves instances through a registry, balances each
 * call over the healthy ones, retries where safe within a budget, ejects outliers. To the
 * client above it is one more ClientTransport; the transports below it know nothing of it.
 */
export class ClusterTransport implements ClientTransport {
  readonly name = 'cluster';
  readonly service: string;
  readonly #resolver: ServiceResolver;
  readonly #pool: EndpointPool;
  readonly #balancer: Balancer;
  readonly #outlier: OutlierDetector | undefined;
  readonly #prober: HealthProber | undefined;
  readonly #budget: RetryBudget | undefined;
  readonly #maxAttempts: number;
  readonly #backoff: BackoffOptions | undefined;
  readonly #hedging: HedgingPolicy | undefined;
  readonly #zone: string | undefined;
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #events: ClusterEvents | undefined;
  #closed = false;

  constructor(options: ClusterOptions) {
    this.service = options.service;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.#events = options.events;
    this.#balancer = createBalancer(options.balancer ?? 'p2c_peak_ewma', {
      clock: this.#clock,
      random: this.#random,
    });
    this.#outlier =
      options.outlier === false ? undefined : new OutlierDetector({ clock: this.#clock, ...options.outlier });
    const retry = options.retry === false ? undefined : (options.retry ?? {});
    this.#budget = retry ? (retry.budget ?? new RetryBudget({ clock: this.#clock })) : undefined;
    this.#maxAttempts = retry ? Math.max(1, retry.maxAttempts ?? 3) : 1;
    this.#backoff = retry?.backoff;
    this.#hedging = options.hedging;
    this.#zone = options.zone;
    this.#prober = options.healthCheck
      ? new HealthProber(options.healthCheck.probe, options.healthCheck)
      : undefined;
    this.#pool = new EndpointPool(options.connect, options.transports ?? DEFAULT_TRANSPORT_PREFERENCE);
    this.#resolver = new ServiceResolver(options.registry, options.service, options.resolver);
    const update = (instances: readonly ServiceInstance[]) => {
      const keys = this.#pool.update(instances);
      this.#balancer.retain(keys);
      const out = this.#events?.ejectionEnded ? this.#outlier?.ejected() : undefined;
      this.#outlier?.retain(keys);
      for (const key of out ?? []) if (!keys.has(key)) this.#ejectionEnded(key, 'removed');
      this.#prober?.update(this.#pool.members);
    };
    this.#resolver.onChange(update);
    if (this.#resolver.instances) update(this.#resolver.instances);
  }

  /** The instances being balanced over now, for `switchboard ls` and the dashboard. */
  get members(): readonly Member[] {
    return this.#pool.members;
  }

  /** Keys of instances ejected now. */
  ejected(): string[] {
    return this.#outlier?.ejected() ?? [];
  }

  /**
   * Every call through the cluster comes here, so the first attempt allocates nothing it can
   * avoid: one clock reading before, one after, no per-call closures or sets.
   */
  async unary(call: OutgoingCall, request: unknown): Promise<unknown> {
    let started = this.#clock.now();
    this.#budget?.onRequest(started);
    const hedging = this.#hedging;
    if (hedging && hedging.maxAttempts > 1 && call.method.idempotency !== 'unknown') {
      return this.#hedged(call, request, hedging);
    }
    let tried: Set<string> | undefined;
    // #attempt's body, inline: one async frame less on the path every call takes.
    for (let attempt = 1; ; attempt++) {
      const member = this.#resolver.instances ? this.#choose(tried, started) : await this.#pick(call, tried);
      this.#begin(member);
      try {
        const response = await member.transport.unary(call, request);
        this.#end(member, started, undefined);
        return response;
      } catch (e) {
        const err = StatusError.from(e);
        this.#end(member, started, err);
        tried ??= new Set();
        tried.add(member.key);
        await this.#beforeRetry(err, call, attempt);
        started = this.#clock.now();
      }
    }
  }

  stream(call: OutgoingCall, requests: unknown): AsyncIterable<unknown> {
    this.#budget?.onRequest(this.#clock.now());
    return this.#streamed(call, requests);
  }

  async close(): Promise<void> {
    if (!this.#closed) for (const key of this.ejected()) this.#ejectionEnded(key, 'closed');
    this.#closed = true;
    this.#resolver.close();
    this.#prober?.close();
    await this.#pool.close();
  }

  /**
   * A streaming call goes to one instance. It is tried again elsewhere only when the server
   * never saw it and no response has come yet (a refused connection, a draining server).
   */
  async *#streamed(call: OutgoingCall, requests: unknown): AsyncGenerator<unknown> {
    const tried = new Set<string>();
    for (let attempt = 1; ; attempt++) {
      const member = await this.#pick(call, tried);
      tried.add(member.key);
      const started = this.#clock.now();
      this.#begin(member);
      let received = false;
      let ended = false;
      try {
        for await (const message of member.transport.stream(call, requests)) {
          received = true;
          yield message;
        }
        ended = true;
        this.#end(member, started, undefined);
        return;
      } catch (e) {
        const err = StatusError.from(e);
        ended = true;
        this.#end(member, started, err);
        if (received || !err.unprocessed) throw err;
        await this.#beforeRetry(err, call, attempt);
      } finally {
        // The caller left the loop early: the call was cancelled, not failed by the instance.
        if (!ended) this.#end(member, started, undefined);
      }
    }
  }

  /**
   * First success of up to maxAttempts staggered attempts on different instances wins; the
   * others are cancelled. Hedges after the first draw on the retry budget. A failure that may
   * not be retried ends the call; a retryable one starts the next attempt at once.
   */
  #hedged(call: OutgoingCall, request: unknown, policy: HedgingPolicy): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const tried = new Set<string>();
      const controllers: AbortController[] = [];
      let running = 0;
      let started = 0;
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const finish = (err: StatusError | undefined, value?: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        for (const c of controllers)
          c.abort(new StatusError(Status.CANCELLED, 'another hedged attempt answered'));
        if (err) reject(err);
        else resolve(value);
      };
      /** Starts one more attempt if allowed; false when none may start. */
      const launch = (): boolean => {
        clearTimeout(timer);
        if (settled || started >= policy.maxAttempts || call.signal?.aborted) return false;
        if (started > 0 && this.#budget && !this.#budget.tryRetry()) {
          this.#events?.retryBudgetExhausted?.(this.#retryEvent(call, started + 1, undefined));
          return false;
        }
        started++;
        running++;
        if (started > 1) this.#events?.retry?.(this.#retryEvent(call, started, undefined));
        if (started < policy.maxAttempts) timer = setTimeout(launch, policy.delayMs);
        const controller = new AbortController();
        controllers.push(controller);
        const signal = call.signal ? AbortSignal.any([call.signal, controller.signal]) : controller.signal;
        const attempt: OutgoingCall = { ...call, signal };
        this.#pick(attempt, tried)
          .then((member) => {
            tried.add(member.key);
            return this.#attempt(member, attempt, request);
          })
          .then(
            (value) => finish(undefined, value),
            (e) => {
              running--;
              const err = StatusError.from(e);
              if (!retryable(err, call.method.idempotency)) finish(err);
              else if (!launch() && running === 0) finish(err);
            },
          );
        return true;
      };
      launch();
    });
  }

  /** One unary attempt on `member`, feeding the balancer and the outlier detector. */
  async #attempt(member: Member, call: OutgoingCall, request: unknown): Promise<unknown> {
    const started = this.#clock.now();
    this.#begin(member);
    try {
      const response = await member.transport.unary(call, request);
      this.#end(member, started, undefined);
      return response;
    } catch (e) {
      const err = StatusError.from(e);
      this.#end(member, started, err);
      throw err;
    }
  }

  #begin(member: Member): void {
    member.active++;
    this.#balancer.begin(member.key);
  }

  /** Once per #begin: the latency to the balancer, the verdict to the outlier detector. */
  #end(member: Member, started: number, err: StatusError | undefined): void {
    const now = this.#clock.now();
    const verdict = verdictOf(err);
    this.#balancer.end(member.key, { latencyMs: now - started, ok: verdict === 'ok' }, now);
    const outlier = this.#outlier;
    // Once closed, close() has ended every ejection for the observer: later ones are not told.
    const watched = this.#closed || this.#events === undefined ? undefined : outlier;
    const wasOut = watched?.isEjected(member.key) ?? false;
    if (verdict === 'unreachable') outlier?.onConnectFailure(member.key, now);
    else outlier?.onResult(member.key, verdict === 'ok', now);
    if (watched && wasOut !== watched.isEjected(member.key)) {
      if (wasOut) this.#ejectionEnded(member.key, 'recovered');
      else this.#events?.ejected?.({ service: this.service, instance: member.key });
    }
    this.#pool.release(member);
  }

  #ejectionEnded(instance: string, reason: EjectionEnd): void {
    this.#events?.ejectionEnded?.({ service: this.service, instance, reason });
  }

  #retryEvent(call: OutgoingCall, attempt: number, err: StatusError | undefined): RetryEvent {
    return { service: this.service, method: call.method.name, attempt, code: err?.code };
  }

  /** Returns when the call may be tried again; throws `err` when it may not. */
  async #beforeRetry(err: StatusError, call: OutgoingCall, attempt: number): Promise<void> {
    if (attempt >= this.#maxAttempts || call.signal?.aborted || this.#closed) throw err;
    if (!retryable(err, call.method.idempotency)) throw err;
    if (!this.#budget?.tryRetry()) {
      if (this.#budget) this.#events?.retryBudgetExhausted?.(this.#retryEvent(call, attempt + 1, err));
      throw err;
    }
    const delay = backoffDelay(attempt - 1, this.#backoff, this.#random);
    if (Date.now() + delay >= call.deadline) throw err;
    this.#events?.retry?.(this.#retryEvent(call, attempt + 1, err));
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
  }

  /** #choose, once the registry has answered (the first calls may wait for it). */
  async #pick(call: OutgoingCall, tried: ReadonlySet<string> | undefined): Promise<Member> {
    if (!this.#resolver.instances) await this.#resolver.ready(call.deadline, call.signal);
    return this.#choose(tried, this.#clock.now());
  }

  /** The instance for the next attempt: healthy, untried if possible, not ejected, in zone, balanced. */
  #choose(tried: ReadonlySet<string> | undefined, now: number): Member {
    if (this.#closed) {
      throw new StatusError(Status.UNAVAILABLE, `the client of ${this.service} is closed`, {
        unprocessed: true,
      });
    }
    const members = this.#pool.members;
    if (members.length === 0) {
      throw new StatusError(Status.UNAVAILABLE, `no instances of ${this.service} are registered`, {
        unprocessed: true,
      });
    }
    let candidates = members;
    const prober = this.#prober;
    if (prober && !prober.allHealthy) {
      const healthy = members.filter((m) => prober.healthy(m.key));
      // Every instance failing its probes: try them anyway rather than fail for sure.
      if (healthy.length > 0) candidates = healthy;
    }
    if (tried) {
      const untried = candidates.filter((m) => !tried.has(m.key));
      if (untried.length > 0) candidates = untried;
    }
    if (this.#outlier) candidates = this.#outlier.available(candidates, now);
    if (this.#zone !== undefined) candidates = preferZone(candidates, this.#zone);
    const chosen = this.#balancer.pick(candidates, now) ?? candidates[0];
    if (!chosen) {
      throw new StatusError(Status.UNAVAILABLE, `no instance of ${this.service} is available`, {
        unprocessed: true,
      });
    }
    return chosen;
  }
}
