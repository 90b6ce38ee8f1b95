import { transportConformance } from '../../../test/conformance/transport-suite.ts';
import { GrpcClientTransport, GrpcServer } from './index.ts';

transportConformance({
  name: 'grpc',
  async serve(host) {
    const server = new GrpcServer(host, { port: 0 });
    const address = await server.listen();
    return { target: `${address.host}:${address.port}`, close: () => server.close(1000) };
  },
  client: (target) => new GrpcClientTransport({ target }),
  // HTTP/2: a bidi call answers while the client is still sending.
  fullDuplex: true,
});
