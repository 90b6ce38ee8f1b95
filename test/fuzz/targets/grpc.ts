/** gRPC's decoders: length-prefixed messages, metadata headers, grpc-message, status trailers, a live server. */
import assert from 'node:assert/strict';
import http2, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import net from 'node:net';
import fc from 'fast-check';
import { StatusError } from '../../../src/contract/errors.ts';
import { Metadata } from '../../../src/contract/metadata.ts';
import { isStatus } from '../../../src/contract/status.ts';
import { createClient, ServiceHost } from '../../../src/core/index.ts';
import { GrpcClientTransport } from '../../../src/transports/grpc/client.ts';
import { encodeFrame, FRAME_HEADER_BYTES, FrameDecoder } from '../../../src/transports/grpc/framing.ts';
import { decodeGrpcMessage, encodeGrpcMessage } from '../../../src/transports/grpc/grpc-message.ts';
import { metadataFromRawHeaders } from '../../../src/transports/grpc/headers.ts';
import { GrpcServer } from '../../../src/transports/grpc/server.ts';
import { decodeStatusDetails, encodeStatusDetails } from '../../../src/transports/grpc/status-details.ts';
import { statusFromTrailers } from '../../../src/transports/grpc/status-trailers.ts';
import { type EchoService, echoContract, echoImplementation } from '../../fixtures/echo-service.ts';
import {
  chunked,
  type FuzzTarget,
  largestAllocation,
  mutated,
  oneOf,
  outcome,
  pureTarget,
  timedAsync,
} from '../fuzz-kit.ts';

const MAX_MESSAGE = 4096;
const echo = echoContract().service('sb.test.Echo');
const EchoRequest = echoContract().message('sb.test.EchoRequest');

const requestArb = fc.record({
  text: fc.string({ maxLength: 40 }),
  count: fc.nat({ max: 3 }),
  tags: fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }),
  labels: fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 }), { maxKeys: 2 }),
  payload: fc.uint8Array({ maxLength: 32 }),
});

const messagesArb = fc
  .array(requestArb, { minLength: 1, maxLength: 4 })
  .map((list) => Buffer.concat(list.map((m) => encodeFrame(EchoRequest.encode(m)))));

const framing = pureTarget('grpc-framing', 300, () =>
  fc.property(mutated(messagesArb), fc.array(fc.nat(), { maxLength: 6 }), (bytes, cuts) => {
    const decoder = new FrameDecoder(MAX_MESSAGE, {
      onFrame(body, compressed) {
        assert.ok(body.length <= MAX_MESSAGE);
        assert.equal(typeof compressed, 'boolean');
        outcome(() => EchoRequest.decode(body), oneOf(StatusError));
      },
    });
    const { largest } = largestAllocation(() =>
      outcome(() => {
        for (const chunk of chunked(bytes, cuts)) decoder.push(chunk);
      }, oneOf(StatusError)),
    );
    assert.ok(largest <= MAX_MESSAGE + FRAME_HEADER_BYTES, `allocated ${largest} bytes`);
  }),
);

const headerNameArb = fc.oneof(
  fc.constantFrom(
    'grpc-status',
    'grpc-message',
    'grpc-status-details-bin',
    'content-type',
    ':status',
    'x-bin',
    'trace-bin',
    'te',
  ),
  fc.stringMatching(/^[a-z0-9_.-]{1,10}(-bin)?$/),
  fc.string({ maxLength: 10 }),
);
const headerValueArb = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.constantFrom('0', '1', '16', '17', '-1', 'NaN', '%', '%zz', '%E2%9C%93', 'AAAA', 'a,b,,c'),
  fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b).toString('base64')),
);

const headers = pureTarget('grpc-headers', 400, () =>
  fc.property(
    fc.array(fc.tuple(headerNameArb, headerValueArb), { maxLength: 8 }),
    fc.integer({ min: 0, max: 600 }),
    (pairs, httpStatus) => {
      const raw = pairs.flat();
      const metadata = outcome(
        () => metadataFromRawHeaders(raw),
        () => false,
      );
      assert.ok(metadata.ok && metadata.value instanceof Metadata);
      const object: IncomingHttpHeaders = {};
      for (const [name, value] of pairs) object[name] = value;
      const status = outcome(
        () => statusFromTrailers(object, metadata.value, httpStatus),
        () => false,
      );
      assert.ok(status.ok);
      if (status.value !== undefined) {
        assert.ok(status.value instanceof StatusError);
        assert.ok(isStatus(status.value.code));
      }
    },
  ),
);

const grpcMessage = pureTarget('grpc-message', 400, () =>
  fc.property(fc.string({ maxLength: 60, unit: 'binary' }), fc.string({ maxLength: 60 }), (text, wire) => {
    // Well-formed text survives the trip; any received text decodes to something.
    if (Buffer.from(text, 'utf8').toString('utf8') === text)
      assert.equal(decodeGrpcMessage(encodeGrpcMessage(text)), text);
    assert.equal(
      typeof outcome(
        () => decodeGrpcMessage(wire),
        () => false,
      ),
      'object',
    );
  }),
);

const statusDetails = pureTarget('grpc-status-details', 300, () =>
  fc.property(
    mutated(
      fc
        .nat({ max: 16 })
        .map((code) =>
          encodeStatusDetails(code, 'why', [
            { typeUrl: 'type.googleapis.com/x', value: new Uint8Array([1]) },
          ]),
        ),
    ),
    (bytes) => {
      const decoded = outcome(
        () => decodeStatusDetails(bytes),
        () => false,
      );
      assert.ok(decoded.ok);
    },
  ),
);

/** What the raw HTTP/2 client sends, before the body. */
interface H2Headers {
  path: string;
  contentType: string;
  timeout: string | undefined;
  encoding: string | undefined;
  extra: [string, string][];
}

/**
 * A live GrpcServer, called by a raw node:http2 client with mutated headers and bodies and by a
 * raw TCP socket with mutated bytes after the HTTP/2 preface; a normal call still succeeds.
 */
const server: FuzzTarget = {
  name: 'grpc-server',
  ciRuns: 25,
  async open() {
    const grpc = new GrpcServer(new ServiceHost().add<EchoService>(echo, echoImplementation), {
      maxMessageBytes: MAX_MESSAGE,
    });
    const address = await grpc.listen();
    const target = `${address.host}:${address.port}`;
    const transport = new GrpcClientTransport({ target });
    const client = createClient<EchoService>(echo, transport);
    const pathArb = fc.oneof(
      fc.constantFrom(
        '/sb.test.Echo/Unary',
        '/sb.test.Echo/ServerStream',
        '/sb.test.Echo/ClientStream',
        '/sb.test.Echo/Bidi',
      ),
      fc.string({ maxLength: 30 }).map((s) => `/${s}`),
    );
    const headersArb: fc.Arbitrary<H2Headers> = fc.record({
      path: pathArb,
      contentType: fc.constantFrom(
        'application/grpc',
        'application/grpc+proto',
        'application/json',
        'application/grpc;x=y',
        '',
      ),
      timeout: fc.constantFrom(undefined, '1S', '100m', '0n', '99999999H', 'x', '-1S', '123456789012n'),
      encoding: fc.constantFrom(undefined, 'identity', 'gzip', 'deflate', 'br', ''),
      extra: fc.array(
        fc.tuple(fc.stringMatching(/^[a-z][a-z0-9-]{0,8}(-bin)?$/), fc.string({ maxLength: 20 })),
        { maxLength: 3 },
      ),
    });
    const h2Call = async (h: H2Headers, body: Uint8Array): Promise<void> => {
      const session = http2.connect(`http://${target}`);
      session.on('error', () => {});
      try {
        const outgoing: OutgoingHttpHeaders = {
          ':method': 'POST',
          ':path': h.path,
          'content-type': h.contentType,
          te: 'trailers',
        };
        if (h.timeout) outgoing['grpc-timeout'] = h.timeout;
        if (h.encoding !== undefined) outgoing['grpc-encoding'] = h.encoding;
        for (const [k, v] of h.extra) outgoing[k] = v;
        let stream: http2.ClientHttp2Stream;
        try {
          stream = session.request(outgoing);
        } catch {
          return; // node refused to send these headers: nothing reached the server
        }
        await new Promise<void>((resolve) => {
          let answer: IncomingHttpHeaders = {};
          stream.on('response', (r) => {
            answer = r;
          });
          stream.on('trailers', (t) => {
            answer = { ...answer, ...t };
          });
          stream.on('data', () => {});
          stream.on('error', () => {});
          stream.on('close', () => {
            const code = answer['grpc-status'];
            if (code !== undefined) assert.ok(isStatus(Number(code)), `grpc-status ${String(code)}`);
            resolve();
          });
          stream.end(body);
        });
      } finally {
        session.destroy();
      }
    };
    const rawBytes = async (bytes: Uint8Array): Promise<void> => {
      const socket = net.connect({ host: address.host, port: address.port });
      socket.on('error', () => {});
      socket.on('data', () => {});
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      socket.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
      socket.write(bytes);
      await Promise.race([
        new Promise((resolve) => socket.once('close', resolve)),
        new Promise((resolve) => setTimeout(resolve, 20)),
      ]);
      socket.destroy();
    };
    const property = fc.asyncProperty(
      fc.oneof(
        fc.tuple(fc.constant('h2' as const), headersArb, mutated(messagesArb)),
        fc.tuple(fc.constant('tcp' as const), fc.constant(undefined), fc.uint8Array({ maxLength: 256 })),
      ),
      async ([kind, h, body]) => {
        await timedAsync(() => (kind === 'h2' && h ? h2Call(h, body) : rawBytes(body)), 3000);
        const reply = await timedAsync(() => client.unary({ text: 'still here' }));
        assert.equal(reply.text, 'still here');
      },
    );
    return {
      check: async (params) => (await fc.check(property, params)) as fc.RunDetails<unknown>,
      async close() {
        await transport.close();
        await grpc.close(0);
      },
    };
  },
};

export const grpcTargets: readonly FuzzTarget[] = [framing, headers, grpcMessage, statusDetails, server];
