/** gRPC over TLS: our server and client with a self-signed certificate, mutual TLS, and grpc-js on either side. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import {
  ECHO_PROTO,
  type EchoService,
  echoContract,
  echoImplementation,
} from '../../../test/fixtures/echo-service.ts';
import { type SelfSignedCert, selfSignedCert } from '../../../test/support/certs.ts';
import { rejection } from '../../../test/support/status.ts';
import { PROTOBUFJS_PROTO_DIR } from '../../contract/paths.ts';
import { Status } from '../../contract/status.ts';
import { createClient, ServiceHost } from '../../core/index.ts';
import { GrpcClientTransport } from './client.ts';
import { GrpcServer } from './server.ts';

const echo = echoContract().service('sb.test.Echo');

interface GrpcJsEchoClient extends grpc.Client {
  unary(
    request: { text: string },
    callback: (err: grpc.ServiceError | null, response?: { text: string }) => void,
  ): grpc.ClientUnaryCall;
}

type GrpcJsEchoConstructor = new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ChannelOptions,
) => GrpcJsEchoClient;

function grpcJsEcho(): { ctor: GrpcJsEchoConstructor; service: grpc.ServiceDefinition } {
  const definition = protoLoader.loadSync(ECHO_PROTO, {
    includeDirs: [PROTOBUFJS_PROTO_DIR],
    defaults: true,
  });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    sb: { test: { Echo: GrpcJsEchoConstructor & { service: grpc.ServiceDefinition } } };
  };
  return { ctor: loaded.sb.test.Echo, service: loaded.sb.test.Echo.service };
}

describe('gRPC over TLS', () => {
  let certs: SelfSignedCert;
  let cert: Buffer;
  let key: Buffer;
  let server: GrpcServer;
  let port: number;
  const host = new ServiceHost().add(echo, echoImplementation as never);

  before(async () => {
    certs = selfSignedCert({ prefix: 'sb-grpc-tls-' });
    ({ cert, key } = certs);
    server = new GrpcServer(host, { tls: { cert, key } });
    port = (await server.listen()).port;
  });

  after(async () => {
    await server.close(100);
    certs.cleanup();
  });

  it('serves our client, which trusts the given CA, by IP and by name', async () => {
    const byIp = new GrpcClientTransport({ target: `127.0.0.1:${port}`, tls: { ca: cert } });
    const byName = new GrpcClientTransport({
      target: `localhost:${port}`,
      tls: { ca: cert, servername: 'localhost' },
    });
    try {
      assert.equal((await createClient<EchoService>(echo, byIp).unary({ text: 'secure' })).text, 'secure');
      const streamed: number[] = [];
      for await (const m of createClient<EchoService>(echo, byName).serverStream({ text: 's', count: 2 })) {
        streamed.push(m.index as number);
      }
      assert.deepEqual(streamed, [0, 1]);
    } finally {
      await byIp.close();
      await byName.close();
    }
  });

  it('refuses a server whose certificate the client does not trust: UNAVAILABLE', async () => {
    const untrusting = new GrpcClientTransport({ target: `127.0.0.1:${port}`, tls: true });
    try {
      const err = await rejection(
        createClient<EchoService>(echo, untrusting).unary({ text: 'x' }, { timeoutMs: 3000 }),
      );
      assert.equal(err.code, Status.UNAVAILABLE);
    } finally {
      await untrusting.close();
    }
  });

  it('a plaintext client gets no answer from a TLS server', async () => {
    const plain = new GrpcClientTransport({ target: `127.0.0.1:${port}` });
    try {
      const err = await rejection(
        createClient<EchoService>(echo, plain).unary({ text: 'x' }, { timeoutMs: 2000 }),
      );
      assert.equal(err.code, Status.UNAVAILABLE, String(err));
    } finally {
      await plain.close();
    }
  });

  it('serves a grpc-js client with SSL credentials', async () => {
    const { ctor } = grpcJsEcho();
    const client = new ctor(`localhost:${port}`, grpc.credentials.createSsl(cert));
    try {
      const res = await new Promise<{ text: string }>((resolve, reject) =>
        client.unary({ text: 'from grpc-js' }, (err, r) => (err ? reject(err) : resolve(r!))),
      );
      assert.equal(res.text, 'from grpc-js');
    } finally {
      client.close();
    }
  });

  it('calls a grpc-js server over TLS', async () => {
    const { service } = grpcJsEcho();
    const gs = new grpc.Server();
    gs.addService(service, {
      unary: (
        call: grpc.ServerUnaryCall<{ text: string }, unknown>,
        callback: grpc.sendUnaryData<{ text: string }>,
      ) => callback(null, { text: `tls ${call.request.text}` }),
    });
    const gport = await new Promise<number>((resolve, reject) =>
      gs.bindAsync(
        '127.0.0.1:0',
        grpc.ServerCredentials.createSsl(null, [{ cert_chain: cert, private_key: key }]),
        (e, p) => (e ? reject(e) : resolve(p)),
      ),
    );
    const transport = new GrpcClientTransport({ target: `127.0.0.1:${gport}`, tls: { ca: cert } });
    try {
      assert.equal((await createClient<EchoService>(echo, transport).unary({ text: 'hi' })).text, 'tls hi');
    } finally {
      await transport.close();
      gs.forceShutdown();
    }
  });

  it('mutual TLS: refuses a client without a certificate, serves one with it', async () => {
    const mtls = new GrpcServer(host, { tls: { cert, key, ca: cert, requestClientCert: true } });
    const mport = (await mtls.listen()).port;
    const anonymous = new GrpcClientTransport({ target: `127.0.0.1:${mport}`, tls: { ca: cert } });
    const known = new GrpcClientTransport({ target: `127.0.0.1:${mport}`, tls: { ca: cert, cert, key } });
    try {
      const err = await rejection(
        createClient<EchoService>(echo, anonymous).unary({ text: 'x' }, { timeoutMs: 3000 }),
      );
      assert.equal(err.code, Status.UNAVAILABLE);
      assert.equal((await createClient<EchoService>(echo, known).unary({ text: 'mutual' })).text, 'mutual');
    } finally {
      await anonymous.close();
      await known.close();
      await mtls.close(100);
    }
  });
});
