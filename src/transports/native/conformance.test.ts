import { transportConformance } from '../../../test/conformance/transport-suite.ts';
import { NativeClientTransport, NativeServer } from './index.ts';

transportConformance({
  name: 'native',
  async serve(host) {
    const server = new NativeServer(host, { port: 0 });
    const address = await server.listen();
    return { target: `${address.host}:${address.port}`, close: () => server.close(1000) };
  },
  client: (target) => new NativeClientTransport({ target }),
  // Multiplexed streams: a bidi call answers while the client is still sending.
  fullDuplex: true,
});
