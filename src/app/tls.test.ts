/** A Server's top-level `tls` covers every transport; connect() takes certificate files. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type EchoService, echoContract, echoImplementation } from '../../test/fixtures/echo-service.ts';
import { rejection } from '../../test/support/status.ts';
import { createDevCa, type IssuedCert, issueDevCert } from '../cli/dev-certs.ts';
import { Status } from '../contract/status.ts';
import { connect } from './connect.ts';
import { Server, type ServerAddresses } from './server.ts';

const echo = echoContract().service('sb.test.Echo');

describe('Server tls and connect tls with files', () => {
  let dir: string;
  let orders: IssuedCert;
  let server: Server;
  let addresses: ServerAddresses;
  const names: (string | undefined)[] = [];

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'sb-app-tls-'));
    await createDevCa({ dir, trustDomain: 'app.local' });
    const own = await issueDevCert({ dir, service: 'echo' });
    orders = await issueDevCert({ dir, service: 'orders' });
    server = new Server({
      grpc: {},
      http: {},
      native: {},
      tls: { certFile: own.certFile, keyFile: own.keyFile, caFile: own.caFile },
      interceptors: [
        (ctx, next) => {
          names.push(ctx.identity?.name);
          return next();
        },
      ],
    }).add<EchoService>(echo, echoImplementation);
    addresses = await server.listen();
  });
  after(async () => {
    await server.close(0);
    rmSync(dir, { recursive: true, force: true });
  });

  for (const [kind, scheme] of [
    ['grpc', 'grpcs'],
    ['http', 'https'],
    ['native', 'natives'],
  ] as const) {
    it(`${kind}: mutual TLS from the server's tls, identity seen by the handler`, async () => {
      const target = `${scheme}://127.0.0.1:${addresses[kind]!.port}`;
      const client = connect<EchoService>(echo, { target, tls: orders });
      const anonymous = connect<EchoService>(echo, { target, tls: { caFile: orders.caFile } });
      try {
        assert.equal((await client.unary({ text: kind })).text, kind);
        assert.equal(names.at(-1), 'spiffe://app.local/service/orders');
        const err = await rejection(anonymous.unary({ text: 'x' }, { timeoutMs: 3000 }));
        assert.equal(err.code, Status.UNAVAILABLE);
      } finally {
        await client.close();
        await anonymous.close();
      }
    });
  }
});
