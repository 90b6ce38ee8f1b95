/**
 * Structured logs: one JSON object per line (pino), each carrying the service's name and,
 * when written while a call is being served, that call's trace and span ids, so a log line
 * can be found from a trace and the other way round.
 */
import { type DestinationStream, type Level, type Logger, pino } from 'pino';
import { currentCall } from '../core/context.ts';

export interface LoggerOptions {
  /** Every line carries it as `service`, e.g. "greet.Greeter" or "orders". */
  service: string;
  /** 'info' unless set; LOG_LEVEL from the environment wins over the default, not over this. */
  level?: Level | 'silent';
  /** Where lines go: stdout unless set (any writable stream, or pino.destination()). */
  destination?: DestinationStream | NodeJS.WritableStream;
  /** Fields added to every line, e.g. `{ version: '1.4.2' }`. */
  base?: Readonly<Record<string, unknown>>;
}

export type { Logger } from 'pino';

const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/** The trace and span ids of a W3C `traceparent`; undefined when malformed or all zeros (invalid). */
export function traceIds(traceparent: string | undefined): { trace_id: string; span_id: string } | undefined {
  if (traceparent === undefined) return undefined;
  const match = TRACEPARENT.exec(traceparent.trim().toLowerCase());
  if (!match) return undefined;
  const [, traceId, spanId] = match as unknown as [string, string, string];
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  return { trace_id: traceId, span_id: spanId };
}

/**
 * The ids of the call the current handler serves. A host opens the call's scope once the
 * process has made a client or with `propagateContext: true` (src/core/context.ts); outside
 * of it, and outside any call, lines carry no ids.
 */
function callFields(): Record<string, string> {
  const call = currentCall();
  if (!call) return {};
  const ids = traceIds(call.metadata.getString('traceparent'));
  return ids ?? {};
}

/**
 * A JSON logger: `{"level":"info","time":"2026-…Z","service":"orders","trace_id":"…",
 * "span_id":"…","msg":"…", …fields}`. `level` is the name, `time` ISO 8601 UTC.
 */
export function createLogger(options: LoggerOptions): Logger {
  const level = options.level ?? (process.env.LOG_LEVEL as Level | undefined) ?? 'info';
  return pino(
    {
      level,
      base: { ...options.base, service: options.service },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      mixin: callFields,
    },
    (options.destination ?? process.stdout) as DestinationStream,
  );
}
