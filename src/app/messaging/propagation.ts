/**
 * Trace context and deadlines in message headers. A message published on behalf of a call
 * carries the call's `traceparent`/`tracestate`/`baggage` and its deadline as an absolute
 * time (`x-switchboard-deadline`, epoch ms: a relative timeout would silently grow while the
 * message waits in the queue). Consumers get both back as call metadata and a deadline.
 */
import { StatusError } from '../../contract/errors.ts';
import { Metadata } from '../../contract/metadata.ts';
import { Status } from '../../contract/status.ts';
import { PROPAGATED_HEADERS } from '../../core/client.ts';
import type { CloudEventAttributes } from './cloudevents.ts';
import { DEADLINE_HEADER } from './headers.ts';

/** What a published message inherits from: a CallContext, or an event handler's context. */
export interface PropagationParent {
  readonly metadata: Metadata;
  /** Epoch ms; `Infinity` for none. */
  readonly deadline: number;
}

/** The trace headers of `parent` and, when finite, `deadline`. */
export function propagationHeaders(
  parent: PropagationParent | undefined,
  deadline: number | undefined,
): Record<string, string> {
  const headers: Record<string, string> = {};
  if (parent) {
    for (const key of PROPAGATED_HEADERS) {
      const value = parent.metadata.getAll(key).filter((v): v is string => typeof v === 'string');
      if (value.length > 0) headers[key] = value.join(',');
    }
  }
  if (deadline !== undefined && Number.isFinite(deadline))
    headers[DEADLINE_HEADER] = String(Math.ceil(deadline));
  return headers;
}

/** The deadline a message carries, `Infinity` when none; INVALID_ARGUMENT when it is not epoch ms. */
export function deadlineOf(headers: Readonly<Record<string, string>>): number {
  const value = headers[DEADLINE_HEADER];
  if (value === undefined) return Infinity;
  if (!/^\d{1,16}$/.test(value)) {
    throw new StatusError(
      Status.INVALID_ARGUMENT,
      `${DEADLINE_HEADER} must be a time in epoch milliseconds, got ${JSON.stringify(value.slice(0, 40))}`,
    );
  }
  return Number(value);
}

/** DEADLINE_EXCEEDED when `deadline` has passed: the message is dead-lettered, not run. */
export function checkDeadline(deadline: number, now = Date.now()): void {
  if (deadline <= now) {
    throw new StatusError(
      Status.DEADLINE_EXCEEDED,
      `the message's deadline passed ${now - deadline} ms before it was read (${new Date(deadline).toISOString()})`,
    );
  }
}

/**
 * The headers as call metadata, for handlers and for the calls they make: every header whose
 * name is a valid metadata key (binary `-bin` keys aside), and the trace context of a
 * structured-mode event's extension attributes when no header carries it.
 */
export function metadataOf(
  headers: Readonly<Record<string, string>>,
  attributes?: CloudEventAttributes,
): Metadata {
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(headers)) {
    if (Metadata.validKey(key) && !Metadata.isBinaryKey(key)) metadata.set(key, value);
  }
  for (const key of PROPAGATED_HEADERS) {
    const value = attributes?.extensions?.[key];
    if (value !== undefined && !metadata.has(key)) metadata.set(key, value);
  }
  return metadata;
}
