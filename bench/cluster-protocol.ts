import type { TransportKind } from '../src/app/connect.ts';
import type { BalancerName } from '../src/governance/balancer.ts';
import type { HubStats } from '../src/hub/server.ts';
import type { LoadResult } from './load.ts';
import type { OpenLoopResult } from './open-loop.ts';

/**
 * What the harness and the processes of the cluster parts (balancing, governance, hub) say to
 * each other; part of the unions in protocol.ts. The processes are in cluster-child.ts.
 */

export type ClusterSpec =
  /**
   * `count` Greeter servers in one process, each answering after its own delay, each serving
   * `transports` (native only unless set) on ports of their own.
   */
  | { role: 'fleet'; host: string; count: number; delaysMs: number[]; transports?: TransportKind[] }
  /** Calls the fleet by name through a ClusterTransport, one scenario per `scenario` command. */
  | { role: 'balance-client'; host: string; ports: number[] }
  /** For each of `transports` in turn, alternates a direct and a cluster client of one server, in slices. */
  | {
      role: 'governance-client';
      host: string;
      /** The server's port on each transport. */
      ports: Partial<Record<TransportKind, number>>;
      transports: TransportKind[];
      /** Keep-alive connections of each HTTP client's pool. */
      httpConnections: number;
      concurrency: number;
      warmupMs: number;
      sliceMs: number;
      pairs: number;
    }
  /** A HubServer. */
  | { role: 'hub'; host: string }
  /** Registers instances, opens raw watch streams, makes changes and reports when they arrived. */
  | { role: 'hub-client'; url: string };

export type ClusterCommand =
  | { cmd: 'delays'; delaysMs: number[] }
  | { cmd: 'counts' }
  | { cmd: 'scenario'; balancer: BalancerName; ratePerS: number; warmupMs: number; durationMs: number }
  | { cmd: 'hub-stats' }
  | { cmd: 'register'; services: string[]; perService: number; concurrency: number; ttlMs: number }
  /** One stream per entry of `services`. */
  | { cmd: 'watch'; services: string[] }
  | { cmd: 'unwatch' }
  | { cmd: 'change'; kind: 'register' | 'deregister'; service: string; id: string }
  | { cmd: 'arrivals'; service: string; index: number; timeoutMs: number };

/** One slice of the governance part: one client's closed loop. */
export interface GovernanceSlice {
  transport: TransportKind;
  client: 'direct' | 'cluster';
  /** 0-based, per transport; each pair runs both clients, the order alternating from pair to pair. */
  pair: number;
  result: LoadResult;
  /** CPU time of this (client) process per completed call over the slice, ramp included, µs. */
  cpuUsPerCall: number;
}

export type ClusterReport =
  /** `ports`: each server's port of its first transport; `servers`: every port of each. */
  | {
      type: 'fleet-ready';
      ports: number[];
      servers: Partial<Record<TransportKind, number>>[];
      node: string;
    }
  | { type: 'delays-set' }
  | { type: 'counts'; counts: number[] }
  | { type: 'scenario-result'; result: OpenLoopResult; node: string }
  /** `failures`: transports whose clients could not be run at all (their slices are missing). */
  | {
      type: 'governance-result';
      slices: GovernanceSlice[];
      failures: { transport: TransportKind; message: string }[];
      node: string;
    }
  | { type: 'hub-stats'; stats: HubStats }
  | { type: 'registered'; count: number; ms: number; errors: number; firstError?: string }
  | { type: 'watching'; count: number; ms: number; eventBytes: number }
  | { type: 'unwatched' }
  /** `at`: wall-clock ms (performance.timeOrigin + performance.now()) just before the request. */
  | { type: 'changed'; index: number; at: number }
  /** When each stream of `service` got the first event at or after the index; `missing` never did. */
  | { type: 'arrivals'; at: number[]; missing: number };
