import type { Stack } from './stack.ts';
import { switchboardStack } from './switchboard.ts';

/** Switchboard's native transport: a multiplexed binary protocol over one TCP connection. */
export const stack: Stack = switchboardStack({
  module: 'src/transports/native/index.ts',
  serverExport: 'NativeServer',
  clientExport: 'NativeClientTransport',
  target: (host, port) => `${host}:${port}`,
});
