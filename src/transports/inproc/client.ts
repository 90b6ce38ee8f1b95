import type { MessageType } from '../../contract/descriptors.ts';
import { StatusError } from '../../contract/errors.ts';
import { Metadata } from '../../contract/metadata.ts';
import { Status } from '../../contract/status.ts';
import { ServerCallContext } from '../../core/context.ts';
import { type HostedMethod, ServiceHost } from '../../core/host.ts';
import type { ClientTransport, OutgoingCall } from '../../core/transport.ts';
import { directEndpoint, findEndpoint, type InprocEndpoint } from './registry.ts';
import { ResponseQueue } from './response-queue.ts';

/** gRPC's default receive limit, so that inproc fails where a network transport would. */
const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

export interface InprocClientOptions {
  /** A host to call directly, or the name of a listening InprocServer. */
  target: ServiceHost | string;
  /** Largest encoded message, either way; larger ones fail with RESOURCE_EXHAUSTED. 4 MiB. */
  maxMessageBytes?: number;
}

/** One started call: the hosted method, its server-side context and the cleanup to run. */
interface Started {
  hosted: HostedMethod;
  ctx: ServerCallContext;
  finish(): void;
}

/**
 * A ClientTransport that calls a ServiceHost in the same process. Every message is encoded
 * and decoded through the method's types as on a wire, so handlers see exactly what a network
 * transport would give them; deadlines, cancellation, metadata and trailers behave the same.
 */
export class InprocTransport implements ClientTransport {
  readonly name = 'inproc';
  readonly #target: ServiceHost | string;
  readonly #maxBytes: number;
  readonly #active = new Set<ServerCallContext>();
  #closed = false;

  constructor(target: ServiceHost | string | InprocClientOptions) {
    const options = typeof target === 'string' || target instanceof ServiceHost ? { target } : target;
    this.#target = options.target;
    this.#maxBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  }

  async unary(call: OutgoingCall, request: unknown): Promise<unknown> {
    const started = this.#start(call);
    const { hosted, ctx } = started;
    try {
      const input = this.#transfer(call.method.input, hosted.descriptor.input, request);
      const response = await hosted.invoke(ctx, input);
      const output = this.#transfer(hosted.descriptor.output, call.method.output, response);
      call.onHeaders?.(ctx.responseHeaders.clone());
      call.onTrailers?.(ctx.responseTrailers.clone());
      return output;
    } catch (err) {
      throw failure(call, ctx, err);
    } finally {
      started.finish();
    }
  }

  stream(call: OutgoingCall, requests: unknown): AsyncIterable<unknown> {
    let queue: ResponseQueue;
    try {
      queue = this.#open(call, requests);
    } catch (err) {
      queue = new ResponseQueue(() => {});
      queue.fail(StatusError.from(err));
    }
    return { [Symbol.asyncIterator]: () => queue };
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const ctx of this.#active)
      ctx.cancel(new StatusError(Status.CANCELLED, 'the client transport was closed'));
  }

  #open(call: OutgoingCall, requests: unknown): ResponseQueue {
    const started = this.#start(call);
    const { hosted, ctx } = started;
    const queue = new ResponseQueue(() =>
      ctx.cancel(new StatusError(Status.CANCELLED, 'the caller stopped reading the response stream')),
    );
    let headersSent = false;
    const sendHeaders = () => {
      if (headersSent) return;
      headersSent = true;
      call.onHeaders?.(ctx.responseHeaders.clone());
    };
    const send = (message: unknown) => {
      if (ctx.cancelled) return undefined;
      const output = this.#transfer(hosted.descriptor.output, call.method.output, message);
      sendHeaders();
      return queue.push(output);
    };
    let input: unknown;
    let source: AsyncIterator<unknown> | undefined;
    try {
      if (call.method.requestStream) {
        source = iteratorOf(requests);
        input = this.#incoming(source, call.method.input, hosted.descriptor.input, ctx);
      } else {
        input = this.#transfer(call.method.input, hosted.descriptor.input, requests);
      }
    } catch (err) {
      started.finish();
      throw failure(call, ctx, err);
    }
    hosted
      .invoke(ctx, input, send)
      .then(
        (response) => {
          if (!hosted.descriptor.responseStream) {
            const output = this.#transfer(hosted.descriptor.output, call.method.output, response);
            sendHeaders();
            queue.push(output);
          }
          sendHeaders();
          call.onTrailers?.(ctx.responseTrailers.clone());
          queue.end();
        },
        (err: unknown) => queue.fail(failure(call, ctx, err)),
      )
      .catch((err: unknown) => queue.fail(failure(call, ctx, err)))
      .finally(() => {
        started.finish();
        // A handler that stopped reading early leaves the caller's source suspended: close it.
        source?.return?.()?.catch(() => {});
      });
    return queue;
  }

  /** The caller's requests as the handler reads them: re-decoded, stopped when the call ends. */
  async *#incoming(
    source: AsyncIterator<unknown>,
    from: MessageType,
    to: MessageType,
    ctx: ServerCallContext,
  ): AsyncGenerator<unknown> {
    for (;;) {
      let next: IteratorResult<unknown>;
      try {
        next = await source.next();
      } catch (err) {
        // A failing request source cancels the call, as a network client would.
        const reason = StatusError.from(err, Status.CANCELLED);
        ctx.cancel(new StatusError(Status.CANCELLED, `the request stream failed: ${reason.message}`));
        return;
      }
      if (next.done || ctx.cancelled) return;
      yield this.#transfer(from, to, next.value);
    }
  }

  #start(call: OutgoingCall): Started {
    if (this.#closed) throw new StatusError(Status.UNAVAILABLE, 'the client transport is closed');
    const endpoint = this.#endpoint();
    const hosted = endpoint.host.lookup(call.method.path);
    if (!hosted) throw new StatusError(Status.UNIMPLEMENTED, `method ${call.method.path} is not served`);
    if (call.signal?.aborted) throw StatusError.from(call.signal.reason, Status.CANCELLED);
    const ctx = new ServerCallContext({
      method: hosted.descriptor,
      metadata: call.metadata.clone(),
      deadline: call.deadline,
      transport: 'inproc',
      peer: 'inproc',
    });
    const untrack = endpoint.track(ctx);
    this.#active.add(ctx);
    const onAbort = () => ctx.cancel(new StatusError(Status.CANCELLED, 'call cancelled by the caller'));
    call.signal?.addEventListener('abort', onAbort, { once: true });
    return {
      hosted,
      ctx,
      finish: () => {
        call.signal?.removeEventListener('abort', onAbort);
        this.#active.delete(ctx);
        untrack();
      },
    };
  }

  #endpoint(): InprocEndpoint {
    if (typeof this.#target !== 'string') return directEndpoint(this.#target);
    const endpoint = findEndpoint(this.#target);
    if (!endpoint)
      throw new StatusError(Status.UNAVAILABLE, `no in-process server listens as ${this.#target}`, {
        unprocessed: true,
      });
    return endpoint;
  }

  /** Encodes with the sender's type and decodes with the receiver's, as a wire would. */
  #transfer(from: MessageType, to: MessageType, message: unknown): unknown {
    const bytes = from.encode((message ?? {}) as Record<string, unknown>);
    if (bytes.length > this.#maxBytes) {
      throw new StatusError(
        Status.RESOURCE_EXHAUSTED,
        `${from.fullName} message of ${bytes.length} bytes exceeds the limit of ${this.#maxBytes}`,
      );
    }
    return to.decode(bytes);
  }
}

/** The error the caller sees: the status, with the trailers the handler set. */
function failure(call: OutgoingCall, ctx: ServerCallContext, err: unknown): StatusError {
  const status = StatusError.from(err);
  const trailers = new Metadata(ctx.peekResponseTrailers());
  trailers.merge(status.metadata);
  call.onHeaders?.(ctx.responseHeaders.clone());
  call.onTrailers?.(trailers.clone());
  return new StatusError(status.code, status.message, {
    metadata: trailers,
    details: status.details,
    cause: err,
  });
}

function iteratorOf(requests: unknown): AsyncIterator<unknown> {
  if (requests !== null && typeof requests === 'object') {
    if (Symbol.asyncIterator in requests) return (requests as AsyncIterable<unknown>)[Symbol.asyncIterator]();
    if (Symbol.iterator in requests) {
      const it = (requests as Iterable<unknown>)[Symbol.iterator]();
      return {
        next: async () => it.next(),
        return: async () => it.return?.() ?? { done: true, value: undefined },
      };
    }
  }
  throw new StatusError(Status.INTERNAL, 'a streaming request must be an iterable of messages');
}
