import type { ClusterCommand, ClusterReport, ClusterSpec } from './cluster-protocol.ts';
import type { LoadResult } from './load.ts';
import type { StackId } from './stacks/index.ts';

/** What the harness asks a child process to be (passed as JSON in argv[2]). */
export type ChildSpec =
  | { role: 'server'; stack: StackId; host: string; port: number }
  | {
      role: 'load';
      stack: StackId;
      host: string;
      port: number;
      connections: number;
      concurrency: number;
      warmupMs: number;
      durationMs: number;
    }
  /** Opens one warm connection, then `open` more idle ones on command. */
  | { role: 'idle'; stack: StackId; host: string; port: number }
  /** Opens `connections` clients, then fires `fire` calls at once on command. */
  | { role: 'inflight'; stack: StackId; host: string; port: number; connections: number }
  | ClusterSpec;

export interface MemorySample {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

/** Harness → child. */
export type Command =
  | { cmd: 'memory' }
  | { cmd: 'hold' }
  | { cmd: 'release' }
  | { cmd: 'pending' }
  | { cmd: 'open'; count: number }
  | { cmd: 'fire'; count: number }
  | { cmd: 'stop' }
  | ClusterCommand;

/** Child → harness. */
export type Report =
  | { type: 'ready'; port: number; node: string }
  | { type: 'memory'; sample: MemorySample }
  | { type: 'pending'; count: number }
  | { type: 'result'; result: LoadResult; node: string }
  | { type: 'warm' }
  | { type: 'opened'; count: number }
  | { type: 'fired' }
  | { type: 'settled'; ok: number; errors: number; firstError?: string }
  | { type: 'error'; message: string }
  | ClusterReport;

export type ReportType = Report['type'];
