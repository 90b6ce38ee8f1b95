/** Tracing for a Server and for clients: one pair of interceptors over one Tracer. */
import { type Tracer, trace } from '@opentelemetry/api';
import type { ClientInterceptor, ServerInterceptor } from '../../core/interceptors.ts';
import { tracingClientInterceptor } from './client-interceptor.ts';
import { tracingServerInterceptor } from './server-interceptor.ts';

/** The name spans are recorded under (the instrumentation scope). */
export const TRACER_NAME = 'switchboard';

export interface TracingInterceptorOptions {
  /** From `startTracing()`; the globally registered provider's tracer unless set. */
  tracer?: Tracer;
  /**
   * The transport the client interceptor's calls use ('grpc', 'http', 'native', 'inproc'),
   * for `rpc.system`; server spans read it from each call.
   */
  transport?: string;
}

export interface TracingInterceptors {
  /** Put it first in `ServerOptions.interceptors`, so that its span covers the others. */
  server: ServerInterceptor;
  /** Put it first in a client's `interceptors`: one span per call, whatever the others retry. */
  client: ClientInterceptor;
}

export function tracingInterceptors(options: TracingInterceptorOptions = {}): TracingInterceptors {
  const tracer = options.tracer ?? trace.getTracer(TRACER_NAME);
  return {
    server: tracingServerInterceptor(tracer),
    client: tracingClientInterceptor(tracer, options.transport),
  };
}
