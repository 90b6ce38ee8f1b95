/** How a call's span ends: the gRPC status code always, error status for any code but OK. */
import { type Span, SpanStatusCode } from '@opentelemetry/api';
import { StatusError } from '../../contract/errors.ts';
import { Status } from '../../contract/status.ts';
import { ATTR_RPC_GRPC_STATUS_CODE } from './attributes.ts';

/** Ends `span` for a call that succeeded. */
export function endOk(span: Span): void {
  span.setAttribute(ATTR_RPC_GRPC_STATUS_CODE, Status.OK);
  span.end();
}

/**
 * Ends `span` for a call that failed with `err` (any thrown value becomes the StatusError the
 * caller sees: plain errors are UNKNOWN). Every transport uses the gRPC codes, so one numeric
 * `rpc.grpc.status_code` is right for HTTP and native calls too.
 */
export function endFailed(span: Span, err: unknown): void {
  const status = StatusError.from(err);
  span.setAttribute(ATTR_RPC_GRPC_STATUS_CODE, status.code);
  span.setAttribute('error.type', status.codeName);
  span.setStatus({ code: SpanStatusCode.ERROR, message: `${status.codeName}: ${status.message}` });
  span.end();
}

/** Ends `span` for a response stream the caller stopped reading early: cancelled, by choice. */
export function endAbandoned(span: Span): void {
  span.setAttribute(ATTR_RPC_GRPC_STATUS_CODE, Status.CANCELLED);
  span.end();
}
