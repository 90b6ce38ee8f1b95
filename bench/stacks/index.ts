import type { Stack } from './stack.ts';

export type StackId = 'floor' | 'moleculer' | 'fastify' | 'grpcjs' | 'h2raw' | 'native' | 'grpc' | 'http';

export interface StackInfo {
  id: StackId;
  /** As the report names it. */
  label: string;
  /** A file that must exist for the stack to run (the Switchboard transports are written in parallel). */
  requires?: string;
  /** HTTP/1.1 stacks need a pool of connections for 64 calls in flight; the others multiplex one. */
  pooled: boolean;
  load(): Promise<Stack>;
}

export const STACKS: readonly StackInfo[] = [
  {
    id: 'floor',
    label: 'floor: raw length-prefixed JSON, one TCP socket',
    pooled: false,
    load: async () => (await import('./floor.ts')).stack,
  },
  {
    id: 'moleculer',
    label: 'Moleculer 0.15, TCP transporter',
    pooled: false,
    load: async () => (await import('./moleculer.ts')).stack,
  },
  {
    id: 'fastify',
    label: 'Fastify 5 + undici Pool, HTTP/1.1',
    pooled: true,
    load: async () => (await import('./fastify.ts')).stack,
  },
  {
    id: 'grpcjs',
    label: '@grpc/grpc-js client + server',
    pooled: false,
    load: async () => (await import('./grpcjs.ts')).stack,
  },
  {
    id: 'h2raw',
    label: 'raw node:http2 client + server, one session',
    pooled: false,
    load: async () => (await import('./h2raw.ts')).stack,
  },
  {
    id: 'native',
    label: 'Switchboard native',
    requires: 'src/transports/native/index.ts',
    pooled: false,
    load: async () => (await import('./native.ts')).stack,
  },
  {
    id: 'grpc',
    label: 'Switchboard gRPC',
    requires: 'src/transports/grpc/index.ts',
    pooled: false,
    load: async () => (await import('./grpc.ts')).stack,
  },
  {
    id: 'http',
    label: 'Switchboard HTTP (REST/JSON)',
    requires: 'src/transports/http/index.ts',
    pooled: true,
    load: async () => (await import('./http.ts')).stack,
  },
];

export function stackInfo(id: StackId): StackInfo {
  const info = STACKS.find((s) => s.id === id);
  if (!info) throw new Error(`unknown stack ${id}`);
  return info;
}
