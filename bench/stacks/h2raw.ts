import http2 from 'node:http2';
import { through } from '../gate.ts';
import { GREETER_PATH, greet, grpcRequestFrame } from '../greeter.ts';
import type { Caller, ConnectOptions, RunningServer, ServeOptions, Stack } from './stack.ts';

/**
 * The brief's "raw node:http2 client and server, one session" anchor, speaking just enough gRPC
 * for SayHello: no framework, no generic codec, no deadlines. It shows how much of a gRPC
 * stack's cost is node:http2's own.
 */

/** The string in field 1 of a one-field message behind a 5-byte gRPC prefix. */
function field1(frame: Buffer): string {
  return frame.toString('utf8', 7, 7 + (frame[6] ?? 0));
}

async function serve(options: ServeOptions): Promise<RunningServer> {
  const server = http2.createServer();
  server.on('stream', (stream) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', async () => {
      const message = await through(options.gate, greet(field1(Buffer.concat(chunks))));
      if (stream.destroyed) return;
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(grpcRequestFrame(message));
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port, options.host, resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('not listening on TCP');
  return { port: address.port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

async function connect(options: ConnectOptions): Promise<Caller> {
  const session = http2.connect(`http://${options.host}:${options.port}`);
  const sayHello = (name: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const req = session.request({
        ':method': 'POST',
        ':path': GREETER_PATH,
        'content-type': 'application/grpc',
        te: 'trailers',
      });
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => resolve(field1(Buffer.concat(chunks))));
      req.on('error', reject);
      req.end(grpcRequestFrame(name));
    });
  return { sayHello, close: () => new Promise((resolve) => session.close(() => resolve())) };
}

export const stack: Stack = { serve, connect };
