import type { CallContext } from './context.ts';
import type { OutgoingCall } from './transport.ts';

/**
 * A server interceptor wraps every call on every transport the same way. `next()` runs the
 * rest of the chain and the handler; it resolves to the response for unary and client
 * streaming calls, and to undefined once a response stream has ended.
 */
export type ServerInterceptor = (ctx: CallContext, next: () => Promise<unknown>) => Promise<unknown>;

/**
 * A client interceptor sees each call before the transport does and may change its metadata or
 * deadline, retry it or fail it. `next()` resolves to the response, or for calls with a
 * response stream, to the stream (an AsyncIterable) once the call has started.
 */
export type ClientInterceptor = (
  call: OutgoingCall,
  next: (call: OutgoingCall) => Promise<unknown>,
) => Promise<unknown>;

/** Runs `interceptors` around `last`, outermost first. */
export function chainServer(
  interceptors: readonly ServerInterceptor[],
  ctx: CallContext,
  last: () => Promise<unknown>,
): Promise<unknown> {
  let index = -1;
  const dispatch = (i: number): Promise<unknown> => {
    if (i <= index) return Promise.reject(new Error('next() called more than once'));
    index = i;
    const interceptor = interceptors[i];
    return interceptor ? interceptor(ctx, () => dispatch(i + 1)) : last();
  };
  return dispatch(0);
}

export function chainClient(
  interceptors: readonly ClientInterceptor[],
  call: OutgoingCall,
  last: (call: OutgoingCall) => Promise<unknown>,
): Promise<unknown> {
  const dispatch = (i: number, c: OutgoingCall): Promise<unknown> => {
    const interceptor = interceptors[i];
    return interceptor ? interceptor(c, (next) => dispatch(i + 1, next)) : last(c);
  };
  return dispatch(0, call);
}
