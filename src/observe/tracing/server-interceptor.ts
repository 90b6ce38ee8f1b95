/**
 * A SERVER span per incoming call, on every transport alike. Its parent is the trace context
 * the caller sent; the call's metadata then carries the server span instead, so the calls and
 * messages the handler makes on the call's behalf become its children.
 */
import { type Attributes, context, SpanKind, type Tracer, trace } from '@opentelemetry/api';
import type { StatusError } from '../../contract/errors.ts';
import { type CallContext, ServerCallContext } from '../../core/context.ts';
import type { ServerInterceptor } from '../../core/interceptors.ts';
import {
  ATTR_NETWORK_PEER_ADDRESS,
  ATTR_NETWORK_PEER_PORT,
  rpcAttributes,
  rpcSpanName,
} from './attributes.ts';
import { endFailed, endOk } from './span-outcome.ts';
import { extractFromMetadata, injectIntoMetadata } from './trace-context.ts';

export function tracingServerInterceptor(tracer: Tracer): ServerInterceptor {
  return async (ctx, next) => {
    // A malformed traceparent extracts nothing: the span starts a new trace, the call goes on.
    const parent = extractFromMetadata(ctx.metadata);
    const attributes = { ...rpcAttributes(ctx.method, ctx.transport), ...peerAttributes(ctx.peer) };
    const span = tracer.startSpan(rpcSpanName(ctx.method), { kind: SpanKind.SERVER, attributes }, parent);
    const current = trace.setSpan(parent, span);
    injectIntoMetadata(current, ctx.metadata);
    let result: unknown;
    try {
      // For response streams next() settles once the stream is drained: the span covers it.
      // The OTel context is set too, for other instrumentation when a context manager is registered.
      result = await context.with(current, next);
    } catch (err) {
      endFailed(span, err);
      throw err;
    }
    // The host fails a call whose deadline passed (or whose caller left) without waiting for a
    // handler that ignores its signal; the caller saw that failure, so the span reports it.
    const cancelled = cancelReasonOf(ctx);
    if (cancelled) endFailed(span, cancelled);
    else endOk(span);
    return result;
  };
}

/** Read without creating the context's AbortController, which the hot path avoids. */
function cancelReasonOf(ctx: CallContext): StatusError | undefined {
  return ctx instanceof ServerCallContext ? ctx.cancelReason : undefined;
}

/** "host:port" or "[v6]:port" as network.peer.address and network.peer.port. */
function peerAttributes(peer: string): Attributes {
  const colon = peer.lastIndexOf(':');
  if (colon <= 0) return peer && peer !== 'unknown' ? { [ATTR_NETWORK_PEER_ADDRESS]: peer } : {};
  const port = Number(peer.slice(colon + 1));
  const host = peer.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  return Number.isInteger(port) && port > 0
    ? { [ATTR_NETWORK_PEER_ADDRESS]: host, [ATTR_NETWORK_PEER_PORT]: port }
    : { [ATTR_NETWORK_PEER_ADDRESS]: peer };
}
