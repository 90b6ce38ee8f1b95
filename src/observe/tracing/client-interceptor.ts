/**
 * A CLIENT span per outgoing call. Its parent is the trace context already in the call's
 * metadata — the client copied it from the call the current handler serves, or an event
 * handler passed it with `ctx.callOptions()` — else the active OpenTelemetry context. The call
 * goes out carrying the client span, so the server's span becomes its child.
 */
import { context, type Span, SpanKind, type Tracer, trace } from '@opentelemetry/api';
import type { ClientInterceptor } from '../../core/interceptors.ts';
import type { OutgoingCall } from '../../core/transport.ts';
import { rpcAttributes, rpcSpanName } from './attributes.ts';
import { endAbandoned, endFailed, endOk } from './span-outcome.ts';
import { extractFromMetadata, injectIntoMetadata } from './trace-context.ts';

/**
 * `transport` names the wire the client uses ('grpc', 'http', 'native', 'inproc'), for
 * `rpc.system` and `network.protocol.name`; unknown (a cluster client picks per instance)
 * when left out.
 */
export function tracingClientInterceptor(tracer: Tracer, transport?: string): ClientInterceptor {
  return async (call, next) => {
    const parent = extractFromMetadata(call.metadata, context.active());
    const span = tracer.startSpan(
      rpcSpanName(call.method),
      { kind: SpanKind.CLIENT, attributes: rpcAttributes(call.method, transport) },
      parent,
    );
    // A copy: an outer interceptor that retries hands the same call in again, and each attempt
    // must extract the original parent, not this span.
    const metadata = call.metadata.clone();
    injectIntoMetadata(trace.setSpan(parent, span), metadata);
    const traced: OutgoingCall = { ...call, metadata };
    let result: unknown;
    try {
      result = await next(traced);
    } catch (err) {
      endFailed(span, err);
      throw err;
    }
    if (!call.method.responseStream) {
      endOk(span);
      return result;
    }
    return endsWithStream(result as AsyncIterable<unknown>, span);
  };
}

/** The response stream, ending `span` when it ends, fails, or the caller stops reading. */
function endsWithStream(responses: AsyncIterable<unknown>, span: Span): AsyncIterable<unknown> {
  let ended = false;
  const end = (finish: () => void) => {
    if (ended) return;
    ended = true;
    finish();
  };
  return {
    [Symbol.asyncIterator]() {
      const inner = responses[Symbol.asyncIterator]();
      return {
        async next() {
          try {
            const step = await inner.next();
            if (step.done) end(() => endOk(span));
            return step;
          } catch (err) {
            end(() => endFailed(span, err));
            throw err;
          }
        },
        async return(value?: unknown) {
          end(() => endAbandoned(span));
          return inner.return ? inner.return(value) : { done: true, value: undefined };
        },
        async throw(err?: unknown) {
          end(() => endFailed(span, err));
          if (inner.throw) return inner.throw(err);
          throw err;
        },
      };
    },
  };
}
