/**
 * Mutual TLS on every transport, with certificates from `switchboard certs` code: client
 * certificates are required and verified, the caller's identity reaches the handler, and
 * the server's certificate files rotate without a restart.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { type EchoService, echoContract, echoImplementation } from '../../../test/fixtures/echo-service.ts';
import { rejection } from '../../../test/support/status.ts';
import { TRANSPORT_KINDS, tlsClient, tlsServer } from '../../../test/support/tls-transports.ts';
import { waitFor } from '../../../test/support/wait.ts';
import { createDevCa, type IssuedCert, issueDevCert } from '../../cli/dev-certs.ts';
import { Status } from '../../contract/status.ts';
import type { PeerIdentity } from '../../core/context.ts';
import { createClient, ServiceHost } from '../../core/index.ts';
import type { ClientTransport, ServerTransport } from '../../core/transport.ts';
import type { TlsFiles } from './tls-files.ts';

const echo = echoContract().service('sb.test.Echo');

/** The serial number of the certificate the server shows a new connection. */
function serverSerial(port: number, client: IssuedCert): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      ca: readFileSync(client.caFile),
      cert: readFileSync(client.certFile),
      key: readFileSync(client.keyFile),
      ALPNProtocols: ['h2', 'http/1.1'],
    });
    socket.once('secureConnect', () => {
      resolve(socket.getPeerCertificate().serialNumber.toUpperCase());
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

describe('mutual TLS on every transport', () => {
  let dir: string;
  let foreignDir: string;
  let orders: IssuedCert;
  let stranger: IssuedCert;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'sb-mtls-'));
    foreignDir = mkdtempSync(path.join(os.tmpdir(), 'sb-mtls-foreign-'));
    await createDevCa({ dir, trustDomain: 'test.local' });
    await createDevCa({ dir: foreignDir, trustDomain: 'test.local' });
    orders = await issueDevCert({ dir, service: 'orders' });
    stranger = await issueDevCert({ dir: foreignDir, service: 'orders' });
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(foreignDir, { recursive: true, force: true });
  });

  for (const kind of TRANSPORT_KINDS) {
    describe(kind, () => {
      let server: ServerTransport;
      let target: string;
      let port: number;
      const seen: (PeerIdentity | undefined)[] = [];
      const fileErrors: Error[] = [];
      const clients: ClientTransport[] = [];
      const client = (files: TlsFiles) => {
        const transport = tlsClient(kind, target, files);
        clients.push(transport);
        return createClient<EchoService>(echo, transport);
      };

      before(async () => {
        const host = new ServiceHost({
          interceptors: [
            (ctx, next) => {
              seen.push(ctx.identity);
              return next();
            },
          ],
        }).add(echo, echoImplementation as never);
        // Files of its own: the rotation below must not disturb the other transports.
        const own = await issueDevCert({ dir, service: `server-${kind}` });
        server = tlsServer(kind, host, {
          certFile: own.certFile,
          keyFile: own.keyFile,
          caFile: own.caFile,
          onError: (err) => fileErrors.push(err),
        });
        port = (await server.listen()).port;
        target = `127.0.0.1:${port}`;
      });
      after(async () => {
        await Promise.all(clients.map((c) => c.close()));
        await server.close(0);
      });

      it('refuses a client without a certificate', async () => {
        const before = seen.length;
        const err = await rejection(
          client({ caFile: orders.caFile }).unary({ text: 'x' }, { timeoutMs: 3000 }),
        );
        assert.equal(err.code, Status.UNAVAILABLE, String(err));
        assert.equal(seen.length, before, 'no call reached the handler');
      });

      it('gives the handler the identity of a valid client certificate', async () => {
        const answer = await client(orders).unary({ text: 'hi' });
        assert.equal(answer.text, 'hi');
        const identity = seen.at(-1);
        assert.equal(identity?.name, 'spiffe://test.local/service/orders');
        assert.deepEqual(identity?.uris, ['spiffe://test.local/service/orders']);
        assert.deepEqual(identity?.dnsNames, ['localhost']);
        assert.equal(identity?.commonName, 'orders');
      });

      it('refuses a certificate from another CA', async () => {
        const before = seen.length;
        const foreign = { caFile: orders.caFile, certFile: stranger.certFile, keyFile: stranger.keyFile };
        const err = await rejection(client(foreign).unary({ text: 'x' }, { timeoutMs: 3000 }));
        assert.equal(err.code, Status.UNAVAILABLE, String(err));
        assert.equal(seen.length, before);
      });

      it('rotates its certificate files without a restart; open connections keep working', async () => {
        const open = client(orders);
        assert.equal((await open.unary({ text: 'before' })).text, 'before');
        const old = await serverSerial(port, orders);
        const renewed = await issueDevCert({ dir, service: `server-${kind}` });
        assert.notEqual(renewed.serialNumber, old);
        await waitFor(async () => (await serverSerial(port, orders)) === renewed.serialNumber, 5000);
        assert.equal((await open.unary({ text: 'after' })).text, 'after', 'the old connection still serves');
        assert.equal((await client(orders).unary({ text: 'new' })).text, 'new', 'a new connection too');
      });

      it('keeps the old certificate when a file is half written, and reports it', async () => {
        const current = await serverSerial(port, orders);
        const certFile = path.join(dir, `server-${kind}.crt`);
        const pem = readFileSync(certFile, 'utf8');
        writeFileSync(certFile, pem.slice(0, pem.length / 2));
        await waitFor(() => fileErrors.length > 0, 5000);
        assert.match(fileErrors[0]!.message, /server-.*\.crt/);
        assert.equal(await serverSerial(port, orders), current);
        assert.equal((await client(orders).unary({ text: 'still' })).text, 'still');
        writeFileSync(certFile, pem);
      });
    });
  }
});
