import type { Stack } from './stack.ts';
import { switchboardStack } from './switchboard.ts';

/** Switchboard's HTTP/REST transport (HTTP/1.1 + JSON, `POST /api/hello`). */
export const stack: Stack = switchboardStack({
  module: 'src/transports/http/index.ts',
  serverExport: 'HttpServer',
  clientExport: 'HttpClientTransport',
  target: (host, port) => `http://${host}:${port}`,
  clientOptions: (options) => ({ connections: options.connections }),
});
