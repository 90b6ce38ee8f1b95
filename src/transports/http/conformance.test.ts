import { transportConformance } from '../../../test/conformance/transport-suite.ts';
import { HttpClientTransport, HttpServer } from './index.ts';

transportConformance({
  name: 'http',
  async serve(host) {
    const server = new HttpServer(host, { port: 0 });
    const address = await server.listen();
    return { target: `${address.host}:${address.port}`, close: () => server.close(1000) };
  },
  client: (target) => new HttpClientTransport({ target }),
  // HTTP/1.1: the request body is complete before the answer starts.
  fullDuplex: false,
});
