import type { MethodDescriptor, ServiceDescriptor } from '../contract/descriptors.ts';
import { StatusError } from '../contract/errors.ts';
import { Metadata, type MetadataInit } from '../contract/metadata.ts';
import { Status } from '../contract/status.ts';
import { type CallContext, currentCall, noteClientCreated } from './context.ts';
import { DEFAULT_DEADLINE_MS, earliest } from './deadline.ts';
import { type ClientInterceptor, chainClient } from './interceptors.ts';
import type { CallOptions, ClientTransport, OutgoingCall } from './transport.ts';
import type { Client, ServiceTypes, UntypedService } from './types.ts';

/** Headers that follow a call to the calls its handler makes (W3C trace context). */
export const PROPAGATED_HEADERS = ['traceparent', 'tracestate', 'baggage'] as const;

export interface ClientOptions {
  interceptors?: ClientInterceptor[];
  /** Deadline of calls that set none; `Infinity` turns the default off. 30 s unless set. */
  defaultTimeoutMs?: number;
  /** Sent with every call. */
  metadata?: MetadataInit;
}

/**
 * A typed stub for `service` over `transport`: one function per method, under its local name
 * ("sayHello") and its proto name ("SayHello").
 */
export function createClient<S extends ServiceTypes = UntypedService>(
  service: ServiceDescriptor,
  transport: ClientTransport,
  options: ClientOptions = {},
): Client<S> {
  noteClientCreated();
  const caller = new CallPlanner(transport, options);
  const stub: Record<string, unknown> = {};
  for (const method of service.methods) {
    const fn = caller.methodFunction(method);
    stub[method.localName] = fn;
    stub[method.name] = fn;
  }
  return stub as Client<S>;
}

/** Settles each call's deadline, signal and metadata, runs interceptors, then the transport. */
class CallPlanner {
  readonly #transport: ClientTransport;
  readonly #interceptors: ClientInterceptor[];
  readonly #defaultTimeout: number;
  readonly #metadata: Metadata | undefined;

  constructor(transport: ClientTransport, options: ClientOptions) {
    this.#transport = transport;
    this.#interceptors = options.interceptors ?? [];
    this.#defaultTimeout = options.defaultTimeoutMs ?? DEFAULT_DEADLINE_MS;
    this.#metadata = options.metadata ? new Metadata(options.metadata) : undefined;
  }

  methodFunction(method: MethodDescriptor): (input: unknown, options?: CallOptions) => unknown {
    const transport = this.#transport;
    switch (method.kind) {
      case 'unary':
        return (request, options) =>
          this.#run(this.#plan(method, options), (c) => transport.unary(c, request));
      case 'client_streaming':
        return (requests, options) =>
          this.#run(this.#plan(method, options), (c) => single(transport.stream(c, requests), method));
      default:
        return (input, options) => {
          const call = this.#plan(method, options);
          return lazyStream(
            () =>
              this.#run(call, (c) => Promise.resolve(transport.stream(c, input))) as Promise<
                AsyncIterable<unknown>
              >,
          );
        };
    }
  }

  #run(call: OutgoingCall, last: (call: OutgoingCall) => Promise<unknown>): Promise<unknown> {
    if (call.signal?.aborted) return Promise.reject(StatusError.from(call.signal.reason, Status.CANCELLED));
    if (this.#interceptors.length === 0) return last(call);
    return chainClient(this.#interceptors, call, last);
  }

  #plan(method: MethodDescriptor, options: CallOptions | undefined): OutgoingCall {
    const parent: CallContext | undefined =
      options?.parent === null ? undefined : (options?.parent ?? currentCall());
    const metadata = this.#metadata ? this.#metadata.clone() : new Metadata();
    if (options?.metadata) metadata.merge(new Metadata(options.metadata));
    let deadline =
      options?.deadline ??
      (options?.timeoutMs !== undefined
        ? Date.now() + options.timeoutMs
        : parent && parent.deadline !== Infinity
          ? parent.deadline
          : Date.now() + this.#defaultTimeout);
    let signal = options?.signal;
    if (parent) {
      deadline = earliest(deadline, parent.deadline);
      signal = signal ? AbortSignal.any([signal, parent.signal]) : parent.signal;
      for (const key of PROPAGATED_HEADERS) {
        if (!metadata.has(key)) for (const value of parent.metadata.getAll(key)) metadata.add(key, value);
      }
    }
    return {
      method,
      metadata,
      deadline: Number.isNaN(deadline) ? Infinity : deadline,
      signal,
      onHeaders: options?.onHeaders,
      onTrailers: options?.onTrailers,
    };
  }
}

/** The one response of a client-streaming call. */
async function single(responses: AsyncIterable<unknown>, method: MethodDescriptor): Promise<unknown> {
  let result: unknown;
  let count = 0;
  for await (const message of responses) {
    result = message;
    count++;
  }
  if (count !== 1) {
    throw new StatusError(Status.INTERNAL, `${method.fullName}: expected one response, got ${count}`);
  }
  return result;
}

/** An AsyncIterable that starts the call on first iteration, so interceptors run lazily too. */
function lazyStream(start: () => Promise<AsyncIterable<unknown>>): AsyncIterable<unknown> {
  return {
    [Symbol.asyncIterator]() {
      let inner: AsyncIterator<unknown> | undefined;
      const open = async () => {
        inner ??= (await start())[Symbol.asyncIterator]();
        return inner;
      };
      return {
        next: async () => (await open()).next(),
        return: async (value?: unknown) => {
          if (inner?.return) return inner.return(value);
          return { done: true, value: undefined };
        },
      };
    },
  };
}
