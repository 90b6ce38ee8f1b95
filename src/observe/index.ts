/** Observability: traces, metrics and logs as interceptors and broker decorators, no sockets of their own. */
export { createLogger, type Logger, type LoggerOptions, traceIds } from './log.ts';
export * from './metrics/index.ts';
export * from './tracing/index.ts';
