import type { ServerCallContext } from '../../core/context.ts';
import type { ServiceHost } from '../../core/host.ts';

/** What an in-process client calls: a host, and a way to tell its server a call is running. */
export interface InprocEndpoint {
  readonly host: ServiceHost;
  /** Marks a call as in flight until the returned function runs (for graceful close). */
  track(ctx: ServerCallContext): () => void;
}

/**
 * The in-process "network": listening InprocServers by name. Module state on purpose: it is
 * what lets a client find a server by target string, as a socket address would.
 */
const endpoints = new Map<string, InprocEndpoint>();

export function registerEndpoint(name: string, endpoint: InprocEndpoint): void {
  if (endpoints.has(name)) throw new Error(`an in-process server named ${name} is already listening`);
  endpoints.set(name, endpoint);
}

export function unregisterEndpoint(name: string, endpoint: InprocEndpoint): void {
  if (endpoints.get(name) === endpoint) endpoints.delete(name);
}

export function findEndpoint(name: string): InprocEndpoint | undefined {
  return endpoints.get(name.replace(/^inproc:\/\//, ''));
}

/** An endpoint for a host handed over directly: nothing to track. */
export function directEndpoint(host: ServiceHost): InprocEndpoint {
  return { host, track: () => () => {} };
}
