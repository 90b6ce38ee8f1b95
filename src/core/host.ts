import type { MethodDescriptor, ServiceDescriptor } from '../contract/descriptors.ts';
import { asProcessed, StatusError } from '../contract/errors.ts';
import { Status } from '../contract/status.ts';
import { currentCallStorage, propagationWanted, type ServerCallContext } from './context.ts';
import { MAX_TIMEOUT_MS } from './deadline.ts';
import { chainServer, type ServerInterceptor } from './interceptors.ts';
import type { Implementation, ServiceTypes, UntypedService } from './types.ts';

/** Pushes one response message to the caller; a returned promise means "wait: backpressure". */
export type Send = (message: unknown) => void | Promise<void>;

type AnyHandler = (input: unknown, ctx: ServerCallContext) => unknown;

/** A method a transport can dispatch to: every transport calls `invoke` the same way. */
export interface HostedMethod {
  readonly descriptor: MethodDescriptor;
  /**
   * Runs the call: interceptors, deadline, handler. `input` is the request message, or an
   * AsyncIterable of them when the method streams requests. Streamed responses go to `send`.
   * Resolves to the response (unary, client streaming) or undefined (response streams);
   * rejects with a StatusError.
   */
  invoke(ctx: ServerCallContext, input: unknown, send?: Send): Promise<unknown>;
}

export interface ServiceHostOptions {
  interceptors?: ServerInterceptor[];
  /**
   * Run handlers inside an AsyncLocalStorage scope, so that calls they make inherit deadline,
   * cancellation and trace context without `parent`. By default this is on as soon as the
   * process has created a client (a handler cannot call out without one), and a pure server
   * does not pay for it; `true` forces it on, `false` off (then pass `parent: ctx`).
   */
  propagateContext?: boolean;
}

/** The transport-independent server: handlers by path, interceptors, deadlines. */
export class ServiceHost {
  readonly #methods = new Map<string, HostedMethod>();
  readonly #services = new Map<string, ServiceDescriptor>();
  readonly #interceptors: ServerInterceptor[];
  readonly #propagate: boolean | undefined;

  constructor(options: ServiceHostOptions = {}) {
    this.#interceptors = options.interceptors ?? [];
    this.#propagate = options.propagateContext;
  }

  /** Serves `service` with `implementation`; handlers may be keyed "sayHello" or "SayHello". */
  add<S extends ServiceTypes = UntypedService>(
    service: ServiceDescriptor,
    implementation: Implementation<NoInfer<S>>,
  ): this {
    if (this.#services.has(service.fullName))
      throw new Error(`service ${service.fullName} is already served`);
    const impl = implementation as Record<string, unknown>;
    const known = new Set<string>();
    for (const method of service.methods) {
      known.add(method.localName).add(method.name);
      const handler = impl[method.localName] ?? impl[method.name];
      if (handler !== undefined && typeof handler !== 'function') {
        throw new TypeError(`${method.fullName}: the handler must be a function`);
      }
      const bound = handler ? (handler as AnyHandler).bind(implementation) : undefined;
      this.#methods.set(method.path, this.#host(method, bound));
    }
    for (const key of Object.keys(impl)) {
      if (!known.has(key)) throw new TypeError(`${service.fullName} has no method ${key}`);
    }
    this.#services.set(service.fullName, service);
    return this;
  }

  /** The method served at "/pkg.Service/Method". */
  lookup(path: string): HostedMethod | undefined {
    return this.#methods.get(path);
  }

  get services(): ServiceDescriptor[] {
    return [...this.#services.values()];
  }

  #host(descriptor: MethodDescriptor, handler: AnyHandler | undefined): HostedMethod {
    const interceptors = this.#interceptors;
    const propagate = this.#propagate;
    const run = (ctx: ServerCallContext, input: unknown, send: Send | undefined): Promise<unknown> => {
      if (!handler) {
        return Promise.reject(
          new StatusError(Status.UNIMPLEMENTED, `method ${descriptor.fullName} is not implemented`),
        );
      }
      // Interceptors (limits) may refuse a call unprocessed; once the handler runs, it is processed.
      const last = descriptor.responseStream
        ? () => drain(handler(input, ctx), ctx, send).catch(rethrowProcessed)
        : () => settle(handler, input, ctx).catch(rethrowProcessed);
      const chained = interceptors.length === 0 ? last : () => chainServer(interceptors, ctx, last);
      const scoped = propagate ?? propagationWanted();
      return scoped ? currentCallStorage.run(ctx, chained) : chained();
    };
    return {
      descriptor,
      invoke: (ctx, input, send) => withDeadline(ctx, () => run(ctx, input, send)),
    };
  }
}

function rethrowProcessed(err: unknown): never {
  throw asProcessed(err);
}

function settle(handler: AnyHandler, input: unknown, ctx: ServerCallContext): Promise<unknown> {
  try {
    return Promise.resolve(handler(input, ctx));
  } catch (err) {
    return Promise.reject(err);
  }
}

async function drain(output: unknown, ctx: ServerCallContext, send: Send | undefined): Promise<undefined> {
  if (!send) throw new StatusError(Status.INTERNAL, 'a response stream needs a sender');
  if (
    output === null ||
    typeof output !== 'object' ||
    !(Symbol.asyncIterator in output || Symbol.iterator in output)
  ) {
    throw new StatusError(
      Status.INTERNAL,
      `${ctx.method.fullName}: a streaming handler must return an iterable`,
    );
  }
  for await (const message of output as AsyncIterable<unknown>) {
    if (ctx.cancelled) break;
    const wait = send(message);
    if (wait) await wait;
  }
  return undefined;
}

/**
 * Fails the call with DEADLINE_EXCEEDED (or the cancel reason) as soon as the deadline passes
 * or the caller goes away, whether or not the handler notices; the handler's signal aborts.
 */
function withDeadline(ctx: ServerCallContext, start: () => Promise<unknown>): Promise<unknown> {
  const remaining = ctx.deadline - Date.now();
  if (remaining <= 0) {
    const err = new StatusError(Status.DEADLINE_EXCEEDED, 'deadline exceeded before the call started');
    ctx.cancel(err);
    return Promise.reject(err);
  }
  if (ctx.cancelled) return Promise.reject(ctx.cancelReason);
  const work = start();
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    if (remaining !== Infinity) {
      const expire = () => {
        // setTimeout fires at once for a delay above 2^31-1 ms (a peer may send up to ~49 days):
        // a deadline that far is waited for in steps.
        const left = ctx.deadline - Date.now();
        if (remaining > MAX_TIMEOUT_MS && left > 0) {
          timer = setTimeout(expire, Math.min(left, MAX_TIMEOUT_MS));
          return;
        }
        const err = new StatusError(Status.DEADLINE_EXCEEDED, 'deadline exceeded');
        ctx.cancel(err);
        reject(err);
      };
      timer = setTimeout(expire, Math.min(remaining, MAX_TIMEOUT_MS));
    }
    ctx.onCancel((reason) => {
      if (timer) clearTimeout(timer);
      reject(reason);
    });
    work.then(
      (value) => {
        if (timer) clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        if (timer) clearTimeout(timer);
        reject(StatusError.from(err));
      },
    );
  });
}
