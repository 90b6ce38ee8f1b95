/** A cluster connector that records every attempt per endpoint port, to see where calls went. */
import { endpointTransport } from '../../src/app/connect.ts';
import type { StatusError } from '../../src/contract/index.ts';
import type { ClientTransport } from '../../src/core/index.ts';
import type { Endpoint } from '../../src/discovery/index.ts';

export interface AttemptLog {
  /** Attempts started per port. */
  started: Map<number, number[]>;
  /** When an attempt on each port first failed without reaching the server (a refused connection). */
  firstRefused: Map<number, number>;
}

export function countingConnector(log: AttemptLog): (endpoint: Endpoint) => ClientTransport {
  return (endpoint) => {
    const inner = endpointTransport(endpoint);
    const port = endpoint.port;
    return {
      name: inner.name,
      unary: async (call, request) => {
        const times = log.started.get(port) ?? [];
        times.push(performance.now());
        log.started.set(port, times);
        try {
          return await inner.unary(call, request);
        } catch (err) {
          if ((err as StatusError).unprocessed && !log.firstRefused.has(port))
            log.firstRefused.set(port, performance.now());
          throw err;
        }
      },
      stream: (call, requests) => inner.stream(call, requests),
      close: () => inner.close(),
    };
  };
}

export function newAttemptLog(): AttemptLog {
  return { started: new Map(), firstRefused: new Map() };
}
