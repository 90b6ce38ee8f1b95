/** OpenTelemetry tracing across every hop: calls on any transport and messages on any broker (docs/tracing.md). */
export {
  ATTR_DELIVERY_ATTEMPT,
  ATTR_DELIVERY_OUTCOME,
  RPC_SYSTEM_SWITCHBOARD,
} from './attributes.ts';
export { tracingClientInterceptor } from './client-interceptor.ts';
export {
  TRACER_NAME,
  type TracingInterceptorOptions,
  type TracingInterceptors,
  tracingInterceptors,
} from './interceptors.ts';
export { tracingServerInterceptor } from './server-interceptor.ts';
export { otlpTracesUrl, type StartTracingOptions, startTracing, type Tracing } from './start-tracing.ts';
export { TracedBroker, type TracedBrokerOptions } from './traced-broker.ts';
