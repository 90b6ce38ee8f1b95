import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import {
  type EchoService,
  echoContract,
  echoImplementation,
  echoObservations,
} from '../../../test/fixtures/echo-service.ts';
import { Status } from '../../contract/index.ts';
import { ServiceHost } from '../../core/index.ts';
import { HttpServer } from './index.ts';
import { connect, exchange, head, sleep } from './testdata/raw-http.ts';

const echo = echoContract().service('sb.test.Echo');
const MAX_BODY = 64 * 1024;

describe('HttpServer', () => {
  let server: HttpServer;
  let base: string;
  let port: number;

  before(async () => {
    const host = new ServiceHost().add<EchoService>(echo, echoImplementation);
    server = new HttpServer(host, {
      maxBodyBytes: MAX_BODY,
      headersTimeoutMs: 400,
      requestTimeoutMs: 1200,
      endpoints: {
        '/plain': (_req, res) => {
          res.writeHead(200, { 'content-type': 'text/plain' }).end('plain text');
        },
        '/broken': async () => {
          throw new Error('endpoint failed');
        },
      },
    });
    const address = await server.listen();
    port = address.port;
    base = `http://127.0.0.1:${port}`;
  });
  after(() => server.close(500));

  async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
    const res = await fetch(base + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { res, json: (await res.json()) as Record<string, unknown> };
  }

  /** After every bad request: the server still answers a normal call. */
  async function stillServes(): Promise<void> {
    const { res, json } = await post('/v1/echo', { text: 'still here' });
    assert.equal(res.status, 200);
    assert.equal(json.text, 'still here');
  }

  it('answers GET /healthz', async () => {
    const res = await fetch(`${base}/healthz`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'SERVING' });
  });

  it('serves plain endpoints on GET beside the contract, and answers 500 when one throws', async () => {
    const plain = await fetch(`${base}/plain`);
    assert.equal(plain.status, 200);
    assert.equal(await plain.text(), 'plain text');
    const post = await fetch(`${base}/plain`, { method: 'POST', body: '{}' });
    assert.equal(post.status, 404, 'only GET and HEAD reach an endpoint');
    await post.body?.cancel();
    const broken = await fetch(`${base}/broken`);
    assert.equal(broken.status, 500);
    assert.match(await broken.text(), /endpoint failed/);
    const inherited = await fetch(`${base}/toString`);
    assert.equal(inherited.status, 404, 'only own paths are endpoints');
    await inherited.body?.cancel();
    await stillServes();
  });

  it('serves a unary call as JSON, with the canonical JSON mapping', async () => {
    const { res, json } = await post('/v1/echo', {
      text: 'hi',
      big: '9007199254740993',
      payload: 'AAEC',
      kind: 'KIND_LOUD',
      at: '2024-01-02T03:04:05.5Z',
      labels: { a: 'b' },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.equal(res.headers.get('grpc-status'), null);
    assert.equal(json.text, 'hi');
    assert.equal(json.big, '9007199254740993');
    assert.equal(json.payload, 'AAEC');
    assert.equal(json.kind, 'KIND_LOUD');
    assert.equal(json.at, '2024-01-02T03:04:05.500Z');
    assert.deepEqual(json.labels, { a: 'b' });
    assert.equal(json.deadlineMs, '-1');
  });

  it('accepts proto field names as well as JSON names', async () => {
    const { json } = await post('/sb.test.Echo/Default', { text: 'x', delay_ms: 1, fail_with: 0 });
    assert.equal(json.text, 'x');
  });

  it('binds GET path variables and query parameters', async () => {
    const res = await fetch(`${base}/v1/echo/caf%C3%A9?tags=a&tags=b&labels[k]=v&kind=2&big=12`);
    const json = (await res.json()) as Record<string, unknown>;
    assert.equal(res.status, 200);
    assert.equal(json.text, 'café');
    assert.deepEqual(json.tags, ['a', 'b']);
    assert.deepEqual(json.labels, { k: 'v' });
    assert.equal(json.kind, 'KIND_LOUD');
    assert.equal(json.big, '12');
  });

  it('serves every method at POST /<package>.<Service>/<Method> too', async () => {
    const { res, json } = await post('/sb.test.Echo/Unary', { text: 'fallback' });
    assert.equal(res.status, 200);
    assert.equal(json.text, 'fallback');
  });

  it('answers an error with its HTTP status, a status body and grpc-status headers', async () => {
    const { res, json } = await post('/v1/echo', { text: 'gone: é', failWith: Status.NOT_FOUND });
    assert.equal(res.status, 404);
    assert.deepEqual(json, { code: 5, status: 'NOT_FOUND', message: 'gone: é', details: [] });
    assert.equal(res.headers.get('grpc-status'), '5');
    assert.equal(res.headers.get('grpc-message'), 'gone: %C3%A9');
  });

  it('passes headers as metadata, and answers response headers and trailers', async () => {
    const { res, json } = await post(
      '/v1/echo',
      { text: 'md' },
      {
        'x-custom': 'v1',
        authorization: 'Bearer t',
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        'x-data-bin': Buffer.from([1, 2, 3]).toString('base64'),
        'x-echo-header': 'hh',
        'x-echo-trailer': 'tt',
        'user-agent': 'tests',
      },
    );
    const metadata = json.metadata as string[];
    assert.ok(metadata.includes('x-custom=v1'), metadata.join(' '));
    assert.ok(metadata.includes('authorization=Bearer t'));
    assert.ok(metadata.includes('traceparent=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'));
    assert.ok(metadata.includes('x-data-bin=010203'));
    for (const skipped of ['host', 'content-type', 'content-length', 'user-agent', 'connection', 'accept']) {
      assert.ok(!metadata.some((m) => m.startsWith(`${skipped}=`)), `${skipped} is not metadata`);
    }
    assert.equal(res.headers.get('x-echo-header'), 'hh');
    assert.equal(res.headers.get('grpc-trailer-x-echo-trailer'), 'tt');
  });

  it('reads the deadline from grpc-timeout or x-timeout-ms, and refuses a malformed one', async () => {
    const grpc = await post('/v1/echo', { text: 'd' }, { 'grpc-timeout': '2S' });
    assert.ok(
      Number(grpc.json.deadlineMs) > 1500 && Number(grpc.json.deadlineMs) <= 2000,
      String(grpc.json.deadlineMs),
    );
    const ms = await post('/v1/echo', { text: 'd' }, { 'x-timeout-ms': '700' });
    assert.ok(
      Number(ms.json.deadlineMs) > 400 && Number(ms.json.deadlineMs) <= 700,
      String(ms.json.deadlineMs),
    );
    const both = await post('/v1/echo', { text: 'd' }, { 'grpc-timeout': '5S', 'x-timeout-ms': '300' });
    assert.ok(Number(both.json.deadlineMs) <= 300, 'the earlier deadline wins');
    const malformed: Record<string, string>[] = [
      { 'grpc-timeout': '5 seconds' },
      { 'x-timeout-ms': '-1' },
      { 'x-timeout-ms': 'soon' },
    ];
    for (const headers of malformed) {
      const bad = await post('/v1/echo', { text: 'd' }, headers);
      assert.equal(bad.res.status, 400, JSON.stringify(headers));
      assert.equal(bad.json.code, Status.INVALID_ARGUMENT);
    }
    const late = await post('/v1/echo', { text: 'slow', delayMs: 2000 }, { 'x-timeout-ms': '100' });
    assert.equal(late.res.status, 504);
    assert.equal(late.json.status, 'DEADLINE_EXCEEDED');
  });

  it('streams responses as NDJSON, with grpc-status in the trailers', async () => {
    const res = await request(`${base}/v1/echo/s/stream?count=3`);
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'application/x-ndjson');
    const lines = (await res.body.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      lines.map((l) => [l.text, l.index ?? 0]),
      [
        ['s', 0],
        ['s', 1],
        ['s', 2],
      ],
    );
    assert.equal(res.trailers['grpc-status'], '0');
  });

  it('reports an error after the first streamed message in-band, as a last NDJSON line', async () => {
    const res = await request(`${base}/v1/echo/broken/stream?count=3&failWith=${Status.DATA_LOSS}`);
    assert.equal(res.statusCode, 200);
    const lines = (await res.body.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(lines.length, 3);
    assert.deepEqual(lines[2], { error: { code: 15, status: 'DATA_LOSS', message: 'broken', details: [] } });
    assert.equal(res.trailers['grpc-status'], '15');
  });

  it('answers a stream that fails before its first message with an HTTP error', async () => {
    const res = await fetch(`${base}/v1/echo/early/stream?count=1&failWith=${Status.PERMISSION_DENIED}`);
    assert.equal(res.status, 403);
    assert.equal(((await res.json()) as { status: string }).status, 'PERMISSION_DENIED');
  });

  it('streams server-sent events when asked, with an error event on failure', async () => {
    const ok = await fetch(`${base}/v1/echo/sse/stream?count=2`, {
      headers: { accept: 'text/event-stream' },
    });
    assert.equal(ok.headers.get('content-type'), 'text/event-stream');
    const okText = await ok.text();
    const events = okText.split('\n\n').filter(Boolean);
    assert.equal(events.length, 2, okText);
    assert.ok(events.every((e) => e.startsWith('data: ')));
    assert.equal(JSON.parse(events[1]!.slice(6)).index, 1);

    const failed = await fetch(`${base}/v1/echo/sse-bad/stream?count=2&failWith=${Status.ABORTED}`, {
      headers: { accept: 'text/event-stream' },
    });
    const text = await failed.text();
    assert.match(
      text,
      /^data: .*\n\nevent: error\ndata: \{"code":10,"status":"ABORTED","message":"sse-bad","details":\[\]\}\n\n$/,
    );
  });

  it('streams an NDJSON request body into a client-streaming handler', async () => {
    const body = '{"text":"a"}\n\n{"text":"b"}\n{"text":"c"}';
    const res = await fetch(`${base}/sb.test.Echo/ClientStream`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body,
    });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { text: string }).text, 'a,b,c');
    const array = await post('/sb.test.Echo/ClientStream', [{ text: 'x' }, { text: 'y' }]);
    assert.equal(array.json.text, 'x,y');
    const bad = await fetch(`${base}/sb.test.Echo/ClientStream`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: '{"text":"a"}\n{oops\n',
    });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { code: number }).code, Status.INVALID_ARGUMENT);
  });

  it('answers a bidi call as NDJSON after reading the request (half-duplex)', async () => {
    const res = await fetch(`${base}/sb.test.Echo/Bidi`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: '{"text":"one"}\n{"text":"two"}\n',
    });
    const lines = (await res.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      lines.map((l) => l.text),
      ['one', 'two'],
    );
  });

  describe('bad input', () => {
    it('answers malformed JSON with 400 INVALID_ARGUMENT', async () => {
      const { res, json } = await post('/v1/echo', '{"text": ');
      assert.equal(res.status, 400);
      assert.equal(json.code, Status.INVALID_ARGUMENT);
      assert.match(String(json.message), /malformed JSON/);
      await stillServes();
    });

    it('answers JSON that does not fit the message with 400', async () => {
      for (const body of [{ count: 'many' }, { nope: 1 }, { tags: 'not-a-list' }, [1, 2], 'null', '"text"']) {
        const { res, json } = await post('/v1/echo', body);
        assert.equal(res.status, 400, JSON.stringify(body));
        assert.equal(json.status, 'INVALID_ARGUMENT');
      }
      await stillServes();
    });

    it('answers a body of the wrong content type with 415 and INVALID_ARGUMENT', async () => {
      const res = await fetch(`${base}/v1/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'text=hi',
      });
      assert.equal(res.status, 415);
      assert.equal(((await res.json()) as { code: number }).code, Status.INVALID_ARGUMENT);
      await stillServes();
    });

    it('answers an unknown route with 404 UNIMPLEMENTED and a wrong method with 405', async () => {
      const unknown = await fetch(`${base}/v2/nothing`);
      assert.equal(unknown.status, 404);
      assert.equal(((await unknown.json()) as { status: string }).status, 'UNIMPLEMENTED');
      const wrong = await fetch(`${base}/v1/echo`, { method: 'PUT', body: '{}' });
      assert.equal(wrong.status, 405);
      assert.equal(wrong.headers.get('allow'), 'POST');
      assert.equal(((await wrong.json()) as { code: number }).code, Status.UNIMPLEMENTED);
      await stillServes();
    });

    it('refuses a body over the limit with 413 RESOURCE_EXHAUSTED and closes the connection', async () => {
      const declared = await exchange(port, [
        head('POST', '/v1/echo', { 'content-type': 'application/json', 'content-length': MAX_BODY + 1 }),
        Buffer.alloc(1024, 0x20),
      ]);
      assert.equal(declared.status, 413);
      assert.equal(JSON.parse(declared.body).status, 'RESOURCE_EXHAUSTED');
      assert.equal(declared.headers.connection, 'close');
      assert.ok(declared.closed, 'the server closed the connection');

      // Chunked: no length up front, refused once the count passes the limit.
      const chunk = Buffer.alloc(16 * 1024, 0x20);
      const frame = Buffer.concat([
        Buffer.from(`${chunk.length.toString(16)}\r\n`),
        chunk,
        Buffer.from('\r\n'),
      ]);
      const chunked = await exchange(
        port,
        [
          head('POST', '/v1/echo', { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }),
          ...Array(6).fill(frame),
        ],
        { pauseMs: 5 },
      );
      assert.equal(chunked.status, 413);
      assert.ok(chunked.closed);
      await stillServes();
    });

    it('closes a connection whose headers come too slowly', async () => {
      const started = Date.now();
      const slow = await exchange(port, ['POST /v1/echo HTTP/1.1\r\n', 'Host: x\r\n'], {
        pauseMs: 100,
        waitMs: 3000,
      });
      assert.ok(slow.closed, 'closed by the server');
      assert.ok(Date.now() - started < 2500, `took ${Date.now() - started} ms`);
      await stillServes();
    });

    it('closes a connection whose body never completes', async () => {
      const started = Date.now();
      const stuck = await exchange(
        port,
        [head('POST', '/v1/echo', { 'content-type': 'application/json', 'content-length': 100 }), '{"text":'],
        { waitMs: 4000 },
      );
      assert.ok(stuck.closed, 'closed by the server');
      assert.ok(Date.now() - started < 3500, `took ${Date.now() - started} ms`);
      await stillServes();
    });

    it('takes an abrupt disconnect mid-body in its stride', async () => {
      for (let i = 0; i < 5; i++) {
        await exchange(
          port,
          [
            head('POST', '/v1/echo', { 'content-type': 'application/json', 'content-length': 1000 }),
            '{"text":"cut',
          ],
          { destroyAfterWrite: true, waitMs: 50 },
        );
      }
      await stillServes();
    });
  });

  it('cancels the handler when the client disconnects', async () => {
    const text = `http-disconnect-${Date.now()}`;
    const body = JSON.stringify({ text, delayMs: 5000 });
    await exchange(
      port,
      [
        head('POST', '/v1/echo', {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        }),
        body,
      ],
      { waitMs: 150 },
    );
    for (let i = 0; i < 100 && !echoObservations.cancelled.includes(text); i++) await sleep(10);
    assert.ok(echoObservations.cancelled.includes(text), 'the handler saw its signal abort');
    await stillServes();
  });
});

describe('HttpServer response streams', () => {
  it('wait for a slow reader (backpressure) and stop when it goes away', async () => {
    let produced = 0;
    let stopped = false;
    const big = 'x'.repeat(32 * 1024);
    const server = new HttpServer(
      new ServiceHost().add<EchoService>(echo, {
        async *serverStream(_req, ctx) {
          try {
            for (let i = 0; i < 2000 && !ctx.signal.aborted; i++) {
              produced++;
              yield { text: big, index: i };
            }
          } finally {
            stopped = true;
          }
        },
      }),
    );
    const { port } = await server.listen();
    try {
      const socket = await connect(port);
      socket.pause(); // read nothing: the server's socket buffer fills up
      socket.write(head('GET', '/v1/echo/x/stream'));
      await sleep(400);
      const early = produced;
      assert.ok(early > 0 && early < 500, `produced ${early} of 2000 while nobody read`);
      await sleep(200);
      assert.ok(produced - early < 5, 'the handler waits for the reader');
      socket.destroy();
      for (let i = 0; i < 100 && !stopped; i++) await sleep(10);
      assert.ok(stopped, 'the handler stopped once the reader went away');
      assert.ok(produced < 2000);
    } finally {
      await server.close(0);
    }
  });
});

describe('HttpServer.close', () => {
  it('lets a call in flight finish, then refuses new connections', async () => {
    const server = new HttpServer(new ServiceHost().add<EchoService>(echo, echoImplementation));
    const { port } = await server.listen();
    const slow = fetch(`http://127.0.0.1:${port}/v1/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'finishing', delayMs: 200 }),
    });
    await sleep(50);
    const closing = server.close(2000);
    const res = await slow;
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { text: string }).text, 'finishing');
    await closing;
    await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`));
  });

  it('cancels calls still running when the grace period ends', async () => {
    const server = new HttpServer(new ServiceHost().add<EchoService>(echo, echoImplementation));
    const { port } = await server.listen();
    const text = `http-shutdown-${Date.now()}`;
    const slow = fetch(`http://127.0.0.1:${port}/v1/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text, delayMs: 5000 }),
    }).catch((err: unknown) => err);
    await sleep(50);
    const started = Date.now();
    await server.close(100);
    assert.ok(Date.now() - started < 1500);
    assert.ok(echoObservations.cancelled.includes(text));
    await slow;
  });
});
