/**
 * The HTTP server's resource limits against misbehaving clients on raw sockets: connection cap,
 * slowloris headers and bodies, oversized and overlong header blocks, idle keep-alive
 * connections, pipelining floods and stalled TLS handshakes. Each time a well-behaved client
 * must still be served.
 */
import assert from 'node:assert/strict';
import https from 'node:https';
import type net from 'node:net';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { type EchoService, echoContract, echoImplementation } from '../../../test/fixtures/echo-service.ts';
import { type SelfSignedCert, selfSignedCert } from '../../../test/support/certs.ts';
import { rawRequest } from '../../../test/support/raw-http.ts';
import { sleep, waitFor } from '../../../test/support/wait.ts';
import { UNPROCESSED_TRAILER } from '../../contract/errors.ts';
import { Status } from '../../contract/index.ts';
import { ServiceHost } from '../../core/index.ts';
import { HttpServer, type HttpServerOptions } from './index.ts';
import { connect, exchange, head } from './testdata/raw-http.ts';

const echo = echoContract().service('sb.test.Echo');

function echoServer(options: HttpServerOptions): HttpServer {
  return new HttpServer(new ServiceHost().add<EchoService>(echo, echoImplementation), options);
}

/** A socket under watch: what arrived, the responses parsed from it, and whether it closed. */
interface Watched {
  socket: net.Socket;
  text(): string;
  responses: { status: number; headers: Record<string, string>; body: string }[];
  closed(): boolean;
}

function watch(socket: net.Socket): Watched {
  let text = '';
  let parsedUpTo = 0;
  let closed = false;
  const responses: Watched['responses'] = [];
  socket.setEncoding('latin1');
  socket.on('error', () => {});
  socket.on('close', () => {
    closed = true;
  });
  socket.on('data', (data: string) => {
    text += data;
    // Every answer here has a content-length (or none: no body): parse them as they complete.
    for (;;) {
      const end = text.indexOf('\r\n\r\n', parsedUpTo);
      if (end === -1) return;
      const [statusLine, ...lines] = text.slice(parsedUpTo, end).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      const length = Number(headers['content-length'] ?? 0);
      if (text.length < end + 4 + length) return;
      responses.push({
        status: Number(statusLine?.split(' ')[1]),
        headers,
        body: text.slice(end + 4, end + 4 + length),
      });
      parsedUpTo = end + 4 + length;
    }
  });
  return { socket, text: () => text, responses, closed: () => closed };
}

async function watched(port: number): Promise<Watched> {
  return watch(await connect(port));
}

/** A well-behaved client on a connection of its own: the server still answers. */
async function stillServes(port: number): Promise<void> {
  const answer = await rawRequest(`http://127.0.0.1:${port}`, 'POST', '/v1/echo', {
    headers: { 'content-type': 'application/json' },
    body: '{"text":"still here"}',
  });
  assert.equal(answer.status, 200);
  assert.equal((answer.json as { text: string }).text, 'still here');
}

describe('HttpServer limits', () => {
  let server: HttpServer;
  let port: number;

  before(async () => {
    server = echoServer({ headersTimeoutMs: 500, requestTimeoutMs: 1500, keepAliveTimeoutMs: 300 });
    port = (await server.listen()).port;
  });
  after(() => server.close(0));

  it('closes connections that trickle their headers (slowloris), serving others meanwhile', async () => {
    const sockets: Watched[] = [];
    const trickles: NodeJS.Timeout[] = [];
    try {
      for (let i = 0; i < 50; i++) {
        const slow = await watched(port);
        sockets.push(slow);
        if (i % 10 === 0) continue; // some send nothing at all
        slow.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow');
        // One byte every 100 ms of a header name that never ends.
        trickles.push(setInterval(() => slow.socket.writable && slow.socket.write('a'), 100));
      }
      await stillServes(port);
      await waitFor(() => sockets.every((s) => s.closed()), 8000);
      for (const s of sockets) assert.match(s.text(), /^(HTTP\/1\.1 408 |$)/, 'a 408 or nothing');
      await stillServes(port);
    } finally {
      for (const t of trickles) clearInterval(t);
      for (const s of sockets) s.socket.destroy();
    }
  });

  it('closes connections that trickle their bodies slower than requestTimeoutMs allows', async () => {
    const sockets: Watched[] = [];
    const trickles: NodeJS.Timeout[] = [];
    try {
      for (let i = 0; i < 20; i++) {
        const slow = await watched(port);
        sockets.push(slow);
        slow.socket.write(
          head('POST', '/v1/echo', { 'content-type': 'application/json', 'content-length': 1000 }),
        );
        slow.socket.write('{"text":"');
        trickles.push(setInterval(() => slow.socket.writable && slow.socket.write('a'), 100));
      }
      await stillServes(port);
      await waitFor(() => sockets.every((s) => s.closed()), 10_000);
      for (const s of sockets) assert.match(s.text(), /^(HTTP\/1\.1 408 |$)/, 'a 408 or nothing');
      await stillServes(port);
    } finally {
      for (const t of trickles) clearInterval(t);
      for (const s of sockets) s.socket.destroy();
    }
  });

  it('answers a request head over 16 KiB (headers or URL) with 431 and closes the connection', async () => {
    const bigHeaders = await exchange(port, [
      head('GET', '/healthz', { 'x-a': 'a'.repeat(10 * 1024), 'x-b': 'b'.repeat(10 * 1024) }),
    ]);
    assert.equal(bigHeaders.status, 431);
    assert.ok(bigHeaders.closed, 'the server closed the connection');
    const bigUrl = await exchange(port, [head('GET', `/v1/echo/${'u'.repeat(20 * 1024)}`)]);
    assert.equal(bigUrl.status, 431);
    assert.ok(bigUrl.closed);
    const justUnder = await exchange(port, [
      head('GET', '/healthz', { 'x-a': 'a'.repeat(15 * 1024), connection: 'close' }),
    ]);
    assert.equal(justUnder.status, 200);
    await stillServes(port);
  });

  it('answers more than 100 header lines with 431 RESOURCE_EXHAUSTED and closes the connection', async () => {
    const lines = (count: number) => {
      const headers: Record<string, string> = { connection: 'close' };
      for (let i = 2; i < count; i++) headers[`x-h${i}`] = 'v';
      return headers;
    };
    // Host, Connection and 98 more: exactly at the limit.
    const atLimit = await exchange(port, [head('GET', '/healthz', lines(100))]);
    assert.equal(atLimit.status, 200);
    const over = await exchange(port, [head('GET', '/healthz', lines(101))]);
    assert.equal(over.status, 431);
    assert.equal(JSON.parse(over.body).code, Status.RESOURCE_EXHAUSTED);
    assert.match(JSON.parse(over.body).message, /maxHeadersCount/);
    assert.ok(over.closed, 'the server closed the connection');
    // Repeats of one name count too, and a body sent along does not upset the answer.
    const repeated: string[] = [];
    for (let i = 0; i < 300; i++) repeated.push('x-same: v');
    const body = '{"text":"x"}';
    const flood = await exchange(port, [
      `POST /v1/echo HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n${repeated.join('\r\n')}\r\n\r\n${body}`,
    ]);
    assert.equal(flood.status, 431);
    assert.ok(flood.closed);
    await stillServes(port);
  });

  it('closes an idle keep-alive connection after keepAliveTimeoutMs (and the 1 s Node adds)', async () => {
    const idle = await watched(port);
    try {
      idle.socket.write(head('GET', '/healthz'));
      await waitFor(() => idle.responses.length === 1);
      assert.equal(idle.responses[0]?.status, 200);
      assert.equal(idle.responses[0]?.headers.connection, 'keep-alive');
      assert.ok(!idle.closed(), 'open right after the answer');
      await waitFor(() => idle.closed(), 5000);
    } finally {
      idle.socket.destroy();
    }
  });
});

describe('HttpServer maxConnections', () => {
  it('closes connections over the cap at once, with a warning, and serves again once one closes', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error & { code?: string }) => {
      if (w.code === 'SWITCHBOARD_MAX_CONNECTIONS') warnings.push(w);
    };
    process.on('warning', onWarning);
    const server = echoServer({ maxConnections: 3, keepAliveTimeoutMs: 30_000 });
    const { port } = await server.listen();
    const open: Watched[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const client = await watched(port);
        open.push(client);
        client.socket.write(head('GET', '/healthz'));
        await waitFor(() => client.responses.length === 1);
        assert.equal(client.responses[0]?.status, 200);
      }
      const fourth = await watched(port);
      open.push(fourth);
      fourth.socket.write(head('GET', '/healthz'));
      await waitFor(() => fourth.closed());
      assert.equal(fourth.text(), '', 'closed without an answer');
      await waitFor(() => warnings.length === 1);
      assert.match(warnings[0]!.message, /the HTTP server .* limit of 3 open connections/);
      assert.ok(
        open.slice(0, 3).every((c) => !c.closed()),
        'the three keep their connections',
      );

      open[0]!.socket.destroy();
      // The server learns of the close a moment later; until then a new connection is dropped.
      await waitFor(async () => {
        const again = await exchange(port, [head('GET', '/healthz', { connection: 'close' })], {
          waitMs: 1000,
        });
        return again.status === 200;
      }, 5000);
    } finally {
      process.off('warning', onWarning);
      for (const c of open) c.socket.destroy();
      await server.close(0);
    }
  });

  it('refuses limits that make no sense', async () => {
    const host = new ServiceHost().add<EchoService>(echo, echoImplementation);
    assert.throws(() => new HttpServer(host, { maxHeadersCount: 0 }), TypeError);
    assert.throws(() => new HttpServer(host, { maxHeaderBytes: 1.5 }), TypeError);
    assert.throws(() => new HttpServer(host, { maxPipelinedRequests: -1 }), TypeError);
    assert.throws(() => new HttpServer(host, { headersTimeoutMs: -1 }), TypeError);
    assert.throws(() => new HttpServer(host, { keepAliveTimeoutMs: Number.NaN }), TypeError);
    assert.throws(() => new HttpServer(host, { maxBodyBytes: 0 }), /maxBodyBytes/);
    const server = new HttpServer(host, { maxConnections: 0 });
    await assert.rejects(server.listen(), /maxConnections/);
    assert.equal(server.address, undefined, 'nothing listens');
  });
});

describe('HttpServer pipelining floods', () => {
  let server: HttpServer;
  let port: number;
  let running = 0;
  let peak = 0;
  let bigServed = 0;

  before(async () => {
    const slowEcho: Partial<typeof echoImplementation> = {
      async unary(req) {
        if (req.text !== 'flood') return { text: req.text };
        running++;
        peak = Math.max(peak, running);
        try {
          await sleep(150);
          return { text: req.text };
        } finally {
          running--;
        }
      },
    };
    server = new HttpServer(
      new ServiceHost().add<EchoService>(echo, { ...echoImplementation, ...slowEcho }),
      {
        endpoints: {
          '/big': (_req, res) => {
            bigServed++;
            res.end(Buffer.alloc(64 * 1024, 0x61)); // a fresh buffer each time, as real answers are
          },
        },
      },
    );
    port = (await server.listen()).port;
  });
  after(() => server.close(0));

  it('runs at most maxPipelinedRequests calls of one connection, refusing the rest in turn', async () => {
    const flood = await watched(port);
    try {
      const body = '{"text":"flood"}';
      const one = head('POST', '/v1/echo', {
        'content-type': 'application/json',
        'content-length': body.length,
      });
      flood.socket.write((one + body).repeat(2000));
      await stillServes(port);
      await waitFor(() => flood.responses.length === 2000, 20_000);
      assert.ok(peak <= 100, `${peak} calls ran at once`);
      const refused = flood.responses.filter((r) => r.status === 429);
      const served = flood.responses.filter((r) => r.status === 200);
      assert.equal(refused.length + served.length, 2000, 'every request answered, 200 or 429');
      assert.ok(
        refused.length > 0 && served.length >= 100,
        `${served.length} served, ${refused.length} refused`,
      );
      assert.equal(JSON.parse(refused[0]!.body).status, 'RESOURCE_EXHAUSTED');
      assert.match(JSON.parse(refused[0]!.body).message, /maxPipelinedRequests/);
      assert.equal(refused[0]!.headers[`grpc-trailer-${UNPROCESSED_TRAILER}`], '1', 'safe to retry');
      assert.ok(!flood.closed(), 'the connection stays open');
      flood.socket.write(head('GET', '/healthz'));
      await waitFor(() => flood.responses.length === 2001);
      assert.equal(flood.responses[2000]?.status, 200, 'and serves once the backlog is gone');
    } finally {
      flood.socket.destroy();
    }
  });

  it('stops reading a flood whose answers are not read, keeping its memory bounded', async () => {
    const flood = await watched(port);
    try {
      flood.socket.pause(); // read nothing: answers back up
      const buffersBefore = process.memoryUsage().arrayBuffers;
      // 2000 answers of 64 KiB would be 125 MiB if all were made and held.
      flood.socket.write(head('GET', '/big').repeat(2000));
      let last = -1;
      for (let i = 0; i < 50 && bigServed !== last; i++) {
        last = bigServed;
        await sleep(200);
      }
      assert.ok(bigServed < 1000, `${bigServed} answers made for a client reading none`);
      const grown = process.memoryUsage().arrayBuffers - buffersBefore;
      assert.ok(grown < 48 * 1024 * 1024, `buffers grew by ${Math.round(grown / 1024 / 1024)} MiB`);
      await stillServes(port);
      flood.socket.destroy();
      await waitFor(() => flood.closed());
      await stillServes(port);
    } finally {
      flood.socket.destroy();
    }
  });
});

describe('HttpServer over TLS limits', () => {
  let certs: SelfSignedCert;
  let server: HttpServer;
  let port: number;

  before(async () => {
    certs = selfSignedCert({ prefix: 'sb-http-limits-' });
    server = echoServer({ tls: { cert: certs.cert, key: certs.key }, tlsHandshakeTimeoutMs: 300 });
    port = (await server.listen()).port;
  });
  after(async () => {
    await server.close(0);
    certs.cleanup();
  });

  function httpsGet(path: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = https.get({ host: '127.0.0.1', port, path, ca: certs.cert, agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.setTimeout(5000, () => req.destroy(new Error('no answer in time')));
      req.on('error', reject);
    });
  }

  it('closes a connection that never finishes its handshake after tlsHandshakeTimeoutMs', async () => {
    const silent = await watched(port);
    const halfHello = await watched(port);
    try {
      halfHello.socket.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00])); // a record header, no more
      await waitFor(() => silent.closed() && halfHello.closed(), 5000);
      assert.equal(silent.text(), '');
      assert.equal(await httpsGet('/healthz'), 200);
    } finally {
      silent.socket.destroy();
      halfHello.socket.destroy();
    }
  });

  it('applies the header size limit over TLS too', async () => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: certs.cert, servername: 'localhost' });
    const client = watch(socket);
    try {
      await new Promise((resolve) => socket.once('secureConnect', resolve));
      socket.write(head('GET', '/healthz', { 'x-big': 'a'.repeat(20 * 1024) }));
      await waitFor(() => client.closed());
      assert.match(client.text(), /^HTTP\/1\.1 431 /);
      assert.equal(await httpsGet('/healthz'), 200);
    } finally {
      socket.destroy();
    }
  });
});
