/** HTTPS: our server and client with a self-signed certificate, and mutual TLS. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type EchoService, echoContract, echoImplementation } from '../../../test/fixtures/echo-service.ts';
import { type SelfSignedCert, selfSignedCert } from '../../../test/support/certs.ts';
import { Status, StatusError } from '../../contract/index.ts';
import { createClient, ServiceHost } from '../../core/index.ts';
import { HttpClientTransport, HttpServer } from './index.ts';

const echo = echoContract().service('sb.test.Echo');

describe('HTTP over TLS', () => {
  let certs: SelfSignedCert;
  let cert: Buffer;
  let key: Buffer;
  const servers: HttpServer[] = [];

  async function serve(mutual: boolean): Promise<number> {
    const server = new HttpServer(new ServiceHost().add<EchoService>(echo, echoImplementation), {
      tls: { cert, key, ca: mutual ? cert : undefined },
    });
    servers.push(server);
    return (await server.listen()).port;
  }

  before(() => {
    certs = selfSignedCert({ prefix: 'sb-http-tls-' });
    ({ cert, key } = certs);
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.close(0)));
    certs.cleanup();
  });

  it('serves unary and streaming calls to a client that trusts the certificate', async () => {
    const port = await serve(false);
    const transport = new HttpClientTransport({ target: `127.0.0.1:${port}`, tls: { ca: cert } });
    try {
      const client = createClient<EchoService>(echo, transport);
      assert.equal((await client.unary({ text: 'secret' })).text, 'secret');
      const got: number[] = [];
      for await (const m of client.serverStream({ text: 's', count: 2 })) got.push(m.index);
      assert.deepEqual(got, [0, 1]);
      assert.equal(transport.origin, `https://127.0.0.1:${port}`);
    } finally {
      await transport.close();
    }
  });

  it('fails with UNAVAILABLE when the client does not trust the certificate', async () => {
    const port = await serve(false);
    const transport = new HttpClientTransport({ baseUrl: `https://127.0.0.1:${port}` });
    try {
      await assert.rejects(
        createClient<EchoService>(echo, transport).unary({ text: 'x' }),
        (err: unknown) => {
          assert.ok(err instanceof StatusError);
          assert.equal(err.code, Status.UNAVAILABLE);
          assert.match(err.message, /certificate/);
          return true;
        },
      );
    } finally {
      await transport.close();
    }
  });

  it('requires a client certificate when the server has a CA (mutual TLS)', async () => {
    const port = await serve(true);
    const anonymous = new HttpClientTransport({ target: `127.0.0.1:${port}`, tls: { ca: cert } });
    const known = new HttpClientTransport({ target: `127.0.0.1:${port}`, tls: { ca: cert, cert, key } });
    try {
      await assert.rejects(
        createClient<EchoService>(echo, anonymous).unary({ text: 'x' }),
        (err: unknown) => {
          assert.ok(err instanceof StatusError);
          assert.equal(err.code, Status.UNAVAILABLE);
          return true;
        },
      );
      assert.equal((await createClient<EchoService>(echo, known).unary({ text: 'mtls' })).text, 'mtls');
    } finally {
      await anonymous.close();
      await known.close();
    }
  });
});
