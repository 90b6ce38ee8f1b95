import type { Stack } from './stack.ts';
import { switchboardStack } from './switchboard.ts';

/** Switchboard's gRPC transport (HTTP/2, one session per client). */
export const stack: Stack = switchboardStack({
  module: 'src/transports/grpc/index.ts',
  serverExport: 'GrpcServer',
  clientExport: 'GrpcClientTransport',
  target: (host, port) => `${host}:${port}`,
});
