/**
 * A client's certificate files rotate without a restart too: after new files are written in
 * place, the next connection the client transport makes shows the new certificate (the server
 * sees the new identity), on every transport.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type EchoService, echoContract, echoImplementation } from '../../../test/fixtures/echo-service.ts';
import { TRANSPORT_KINDS, tlsClient, tlsServer } from '../../../test/support/tls-transports.ts';
import { waitFor } from '../../../test/support/wait.ts';
import { createDevCa, type IssuedCert, issueDevCert } from '../../cli/dev-certs.ts';
import type { PeerIdentity } from '../../core/context.ts';
import { createClient, ServiceHost } from '../../core/index.ts';
import type { TlsFiles } from './tls-files.ts';

const echo = echoContract().service('sb.test.Echo');

/** Writes `cert`'s key and certificate over the files at `into` (key first, as a renewal would). */
function install(cert: IssuedCert, into: TlsFiles): void {
  copyFileSync(cert.keyFile, into.keyFile as string);
  copyFileSync(cert.certFile, into.certFile as string);
}

describe("a client's rotated certificate", () => {
  let dir: string;
  let orders: IssuedCert;
  let payments: IssuedCert;
  let server: IssuedCert;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'sb-client-rotation-'));
    await createDevCa({ dir, trustDomain: 'test.local' });
    orders = await issueDevCert({ dir, service: 'orders' });
    payments = await issueDevCert({ dir, service: 'payments' });
    server = await issueDevCert({ dir, service: 'server' });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const kind of TRANSPORT_KINDS) {
    it(`is shown by the next connection over ${kind}`, { timeout: 20_000 }, async () => {
      const seen: (PeerIdentity | undefined)[] = [];
      const host = new ServiceHost({
        interceptors: [
          (ctx, next) => {
            seen.push(ctx.identity);
            return next();
          },
        ],
      }).add(echo, echoImplementation as never);
      const serverTls = { certFile: server.certFile, keyFile: server.keyFile, caFile: server.caFile };
      let listening = tlsServer(kind, host, serverTls);
      const { port } = await listening.listen();
      // The client's own files, rotated in place below.
      const files: TlsFiles = {
        certFile: path.join(dir, `client-${kind}.crt`),
        keyFile: path.join(dir, `client-${kind}.key`),
        caFile: orders.caFile,
      };
      install(orders, files);
      const transport = tlsClient(kind, `127.0.0.1:${port}`, files);
      const client = createClient<EchoService>(echo, transport);
      try {
        assert.equal((await client.unary({ text: 'before' })).text, 'before');
        assert.equal(seen.at(-1)?.commonName, 'orders');

        install(payments, files);
        // Every connection the client has ends; it must dial again, with the files as they are now.
        await listening.close(0);
        listening = tlsServer(kind, host, serverTls, port);
        await listening.listen();
        await waitFor(async () => {
          try {
            await client.unary({ text: 'after' }, { timeoutMs: 2000 });
            return true;
          } catch {
            return false; // the client may still be noticing the old connection's end
          }
        }, 10_000);
        assert.equal(seen.at(-1)?.commonName, 'payments', 'the new connection shows the new certificate');
        assert.equal(seen.at(-1)?.name, 'spiffe://test.local/service/payments');
      } finally {
        await transport.close();
        await listening.close(0);
      }
    });
  }
});
