/** Interop: a grpc-js client with a `switchboard certs` certificate calls our gRPC server over mutual TLS. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ECHO_PROTO, echoContract, echoImplementation } from '../../../test/fixtures/echo-service.ts';
import { createDevCa, type IssuedCert, issueDevCert } from '../../cli/dev-certs.ts';
import { PROTOBUFJS_PROTO_DIR } from '../../contract/paths.ts';
import type { PeerIdentity } from '../../core/context.ts';
import { ServiceHost } from '../../core/index.ts';
import { GrpcServer } from '../grpc/index.ts';

interface GrpcJsEcho extends grpc.Client {
  unary(
    request: { text: string },
    callback: (err: grpc.ServiceError | null, response?: { text: string }) => void,
  ): grpc.ClientUnaryCall;
}
type GrpcJsEchoConstructor = new (address: string, credentials: grpc.ChannelCredentials) => GrpcJsEcho;

function grpcJsEcho(): GrpcJsEchoConstructor {
  const definition = protoLoader.loadSync(ECHO_PROTO, {
    includeDirs: [PROTOBUFJS_PROTO_DIR],
    defaults: true,
  });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    sb: { test: { Echo: GrpcJsEchoConstructor } };
  };
  return loaded.sb.test.Echo;
}

function call(client: GrpcJsEcho, text: string): Promise<{ text: string }> {
  return new Promise((resolve, reject) =>
    client.unary({ text }, (err, response) => (err ? reject(err) : resolve(response!))),
  );
}

describe('grpc-js over mutual TLS with switchboard certs', () => {
  let dir: string;
  let orders: IssuedCert;
  let server: GrpcServer;
  let port: number;
  const seen: (PeerIdentity | undefined)[] = [];

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'sb-mtls-grpcjs-'));
    await createDevCa({ dir, trustDomain: 'interop.local' });
    const own = await issueDevCert({ dir, service: 'greeter' });
    orders = await issueDevCert({ dir, service: 'orders' });
    const host = new ServiceHost({
      interceptors: [
        (ctx, next) => {
          seen.push(ctx.identity);
          return next();
        },
      ],
    }).add(echoContract().service('sb.test.Echo'), echoImplementation as never);
    server = new GrpcServer(host, {
      tls: { certFile: own.certFile, keyFile: own.keyFile, caFile: own.caFile, requireClientCert: true },
    });
    port = (await server.listen()).port;
  });
  after(async () => {
    await server.close(0);
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves a grpc-js client with the issued certificate and sees its identity', async () => {
    const Echo = grpcJsEcho();
    const credentials = grpc.credentials.createSsl(
      readFileSync(orders.caFile),
      readFileSync(orders.keyFile),
      readFileSync(orders.certFile),
    );
    const client = new Echo(`localhost:${port}`, credentials);
    try {
      assert.equal((await call(client, 'from grpc-js')).text, 'from grpc-js');
      assert.equal(seen.at(-1)?.name, 'spiffe://interop.local/service/orders');
    } finally {
      client.close();
    }
  });

  it('refuses a grpc-js client without a certificate', async () => {
    const Echo = grpcJsEcho();
    const client = new Echo(`localhost:${port}`, grpc.credentials.createSsl(readFileSync(orders.caFile)));
    const calls = seen.length;
    try {
      await assert.rejects(
        call(client, 'x'),
        (err: grpc.ServiceError) => err.code === grpc.status.UNAVAILABLE,
      );
      assert.equal(seen.length, calls);
    } finally {
      client.close();
    }
  });
});
