import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type EchoService, echoContract } from '../../../test/fixtures/echo-service.ts';
import { rejectsWith } from '../../../test/support/status.ts';
import { loadContractSync, type Metadata, Status, StatusError } from '../../contract/index.ts';
import {
  type CallContext,
  type Client,
  createClient,
  type Message,
  ServiceHost,
  type UnaryMethod,
} from '../../core/index.ts';
import { HttpClientTransport, HttpServer } from './index.ts';

const echo = echoContract().service('sb.test.Echo');
const LIBRARY_PROTO = path.join(path.dirname(fileURLToPath(import.meta.url)), 'testdata/library.proto');
const library = loadContractSync(LIBRARY_PROTO).service('sb.httptest.Library');

type Unary = UnaryMethod<Message, Message>;
type LibraryService = {
  getBook: Unary;
  specialBook: Unary;
  bookByName: Unary;
  createBook: Unary;
  updateBook: Unary;
  listBooks: Unary;
  getFile: Unary;
  undelete: Unary;
  innerCount: Unary;
  deleteBook: Unary;
};

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * A plain node:http server standing in for a REST service written in some other stack: each
 * test sets how it answers, and reads what the client sent.
 */
describe('HttpClientTransport against a foreign server', () => {
  let answer: (req: http.IncomingMessage, res: http.ServerResponse) => void = (_req, res) => res.end();
  let seen: Seen | undefined;
  let server: http.Server;
  let transport: HttpClientTransport;
  let client: Client<EchoService>;

  before(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen = {
          method: req.method!,
          url: req.url!,
          headers: req.headers,
          body: Buffer.concat(chunks).toString(),
        };
        answer(req, res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const { port } = server.address() as AddressInfo;
    transport = new HttpClientTransport({
      baseUrl: `http://127.0.0.1:${port}/prefix`,
      maxResponseBytes: 64 * 1024,
    });
    client = createClient<EchoService>(echo, transport);
  });
  after(async () => {
    await transport.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  function json(status: number, body: unknown, headers: Record<string, string> = {}) {
    answer = (_req, res) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
  }

  it('sends the first rule, metadata as headers and the deadline twice', async () => {
    json(200, { text: 'ok', index: 1 });
    const res = await client.unary(
      { text: 'hi', tags: ['a'] },
      {
        timeoutMs: 5000,
        metadata: { 'x-one': '1', 'x-bin-bin': new Uint8Array([255, 0]), 'content-length': '3' },
      },
    );
    assert.equal(res.text, 'ok');
    assert.equal(seen?.method, 'POST');
    assert.equal(seen?.url, '/prefix/v1/echo');
    assert.deepEqual(JSON.parse(seen!.body), { text: 'hi', tags: ['a'] });
    assert.equal(seen?.headers['content-type'], 'application/json');
    assert.equal(seen?.headers['x-one'], '1');
    assert.equal(seen?.headers['x-bin-bin'], '/wA=');
    assert.match(String(seen?.headers['grpc-timeout']), /^\d+m$/);
    const ms = Number(seen?.headers['x-timeout-ms']);
    assert.ok(ms > 4000 && ms <= 5000, String(ms));
  });

  it('ignores fields the contract does not have in a response', async () => {
    json(200, { text: 'newer server', addedLater: { deep: true }, kind: 'KIND_FROM_THE_FUTURE' });
    const res = await client.unary({ text: 'x' });
    assert.equal(res.text, 'newer server');
  });

  it('takes the status from a status body, a Google error body, grpc-status, or the HTTP status', async () => {
    json(409, { code: Status.ALREADY_EXISTS, status: 'ALREADY_EXISTS', message: 'twice', details: [] });
    const withBody = await rejectsWith(client.unary({}), Status.ALREADY_EXISTS, /^twice$/);
    assert.deepEqual(withBody.details, []);
    json(404, { error: { code: 404, status: 'NOT_FOUND', message: 'no such shelf' } });
    await rejectsWith(client.unary({}), Status.NOT_FOUND, /no such shelf/);
    json(500, 'oops', { 'grpc-status': '8', 'grpc-message': 'too%20many' });
    await rejectsWith(client.unary({}), Status.RESOURCE_EXHAUSTED, /^too many$/);
    answer = (_req, res) => {
      res.writeHead(503, { 'content-type': 'text/html' });
      res.end('<h1>Service Unavailable</h1>');
    };
    await rejectsWith(client.unary({}), Status.UNAVAILABLE, /HTTP 503: <h1>Service Unavailable<\/h1>/);
    json(401, '');
    await rejectsWith(client.unary({}), Status.UNAUTHENTICATED);
    json(431, '');
    await rejectsWith(client.unary({}), Status.RESOURCE_EXHAUSTED);
  });

  it('fails with INTERNAL on a response it cannot read, and RESOURCE_EXHAUSTED on one too large', async () => {
    json(200, '{"text": "cut');
    await rejectsWith(client.unary({}), Status.INTERNAL, /malformed JSON/);
    json(200, { text: 5 });
    await rejectsWith(client.unary({}), Status.INTERNAL, /bad response/);
    json(200, { text: 'x'.repeat(70 * 1024) });
    await rejectsWith(client.unary({}), Status.RESOURCE_EXHAUSTED);
    json(200, { text: 'small again' });
    assert.equal((await client.unary({})).text, 'small again');
  });

  it('gives grpc-trailer-* headers to onTrailers and the rest to onHeaders', async () => {
    json(200, { text: 'md' }, { 'x-head': 'h', 'grpc-trailer-x-tail': 't' });
    let headers: Metadata | undefined;
    let trailers: Metadata | undefined;
    await client.unary({}, { onHeaders: (h) => (headers = h), onTrailers: (t) => (trailers = t) });
    assert.equal(headers?.getString('x-head'), 'h');
    assert.equal(headers?.has('content-type'), false);
    assert.equal(headers?.has('grpc-trailer-x-tail'), false);
    assert.equal(trailers?.getString('x-tail'), 't');
  });

  it('reads a server-sent event stream, and its error event', async () => {
    answer = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': keep-alive comment\n\ndata: {"text":"a"}\n\n');
      res.write('event: message\ndata: {"text":"b",\ndata: "index":1}\n\n');
      res.end('event: error\ndata: {"code":14,"status":"UNAVAILABLE","message":"gone"}\n\n');
    };
    const got: string[] = [];
    const reading = (async () => {
      for await (const m of client.serverStream({ text: 'x' })) got.push(`${m.index ?? 0}:${m.text}`);
    })();
    await rejectsWith(reading, Status.UNAVAILABLE, /gone/);
    assert.deepEqual(got, ['0:a', '1:b']);
    assert.equal(seen?.url, '/prefix/v1/echo/x/stream');
    assert.equal(seen?.headers.accept, 'application/x-ndjson');
  });

  it('reads NDJSON split across writes, and a non-zero grpc-status trailer', async () => {
    answer = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson', trailer: 'grpc-status, grpc-message' });
      res.write('{"text":"é');
      res.write('"}\n{"text":"b"}');
      res.addTrailers({ 'grpc-status': '13', 'grpc-message': 'broke' });
      res.end('\n');
    };
    const got: string[] = [];
    const reading = (async () => {
      for await (const m of client.serverStream({ text: 'x' })) got.push(m.text as string);
    })();
    await rejectsWith(reading, Status.INTERNAL, /broke/);
    assert.deepEqual(got, ['é', 'b']);
  });

  it('sends a request stream as NDJSON', async () => {
    json(200, { text: 'done' });
    const res = await client.clientStream([{ text: 'a' }, { text: 'b' }]);
    assert.equal(res.text, 'done');
    assert.equal(seen?.url, '/prefix/sb.test.Echo/ClientStream');
    assert.equal(seen?.headers['content-type'], 'application/x-ndjson');
    assert.equal(seen?.body, '{"text":"a"}\n{"text":"b"}\n');
  });

  it('fails a call whose request stream throws, with the caller-side status', async () => {
    json(200, { text: 'never' });
    async function* broken(): AsyncIterable<Message> {
      yield { text: 'a' };
      throw new StatusError(Status.ABORTED, 'source broke');
    }
    await rejectsWith(client.clientStream(broken()), Status.ABORTED, /source broke/);
  });

  it('fails at once, before sending, when the deadline has already passed', async () => {
    seen = undefined;
    json(200, { text: 'late' });
    await rejectsWith(client.unary({}, { deadline: Date.now() - 1 }), Status.DEADLINE_EXCEEDED);
    assert.equal(seen, undefined);
  });
});

describe('HttpClientTransport.close', () => {
  it('waits for calls in flight, and aborts those still running after the grace period', async () => {
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write('{"text":"first"}\n'); // and never ends
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const { port } = server.address() as AddressInfo;
    const transport = new HttpClientTransport({ target: `127.0.0.1:${port}` });
    try {
      const stream = createClient<EchoService>(echo, transport).serverStream({ text: 'x' });
      const iterator = stream[Symbol.asyncIterator]();
      assert.equal(((await iterator.next()).value as Message).text, 'first');
      const started = Date.now();
      await transport.close(200);
      const waited = Date.now() - started;
      assert.ok(waited >= 150 && waited < 1500, `close took ${waited} ms`);
      await assert.rejects(iterator.next(), StatusError);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('HttpClientTransport and HttpServer with every binding', () => {
  let server: HttpServer;
  let transport: HttpClientTransport;
  const received: Record<string, unknown>[] = [];

  before(async () => {
    const record = (req: Message, ctx: CallContext) => {
      received.push(ctx.method.input.toJson(req) as Record<string, unknown>);
      return req;
    };
    const host = new ServiceHost().add<LibraryService>(library, {
      getBook: (req: Message, ctx: CallContext) => ({ ...record(req, ctx), title: 'got' }),
      specialBook: () => ({ title: 'special' }),
      bookByName: (req: Message) => ({ title: `by name ${req.name}` }),
      createBook: (req: Message, ctx: CallContext) => record(req, ctx),
      updateBook: (req: Message, ctx: CallContext) => (record(req, ctx).book ?? {}) as Message,
      listBooks: (req: Message) => ({
        books: [{ title: `a${req.limit}` }, { title: 'b' }],
        nextPageToken: 'tok',
      }),
      getFile: (req: Message, ctx: CallContext) => record(req, ctx),
      undelete: (req: Message) => ({ name: req.name, title: 'restored' }),
      innerCount: (req: Message) => req.inner as Message,
      deleteBook: (req: Message) => ({ name: req.name }),
    });
    server = new HttpServer(host);
    const { port } = await server.listen();
    transport = new HttpClientTransport({ target: `127.0.0.1:${port}` });
  });
  after(async () => {
    await transport.close();
    await server.close(0);
  });

  it('carries each request intact through its rule', async () => {
    const client = createClient<LibraryService>(library, transport);
    const book = await client.getBook({
      name: 'shelves/1/books/x y',
      full: true,
      inner: { id: 'i', count: 2 },
      counts: { k: 3 },
    });
    assert.equal(book.title, 'got');
    assert.deepEqual(received.at(-1), {
      name: 'shelves/1/books/x y',
      full: true,
      inner: { id: 'i', count: 2 },
      counts: { k: 3 },
    });
    const updated = await client.updateBook({
      shelfId: 's',
      book: { name: 'b', title: 'T', pages: 9 },
      reason: 'r',
    });
    assert.deepEqual(received.at(-1), {
      shelfId: 's',
      book: { name: 'b', title: 'T', pages: '9' },
      reason: 'r',
    });
    assert.equal(updated.title, 'T');
    const file = await client.getFile({ path: 'a/b/c d.txt', mode: 'ro' });
    assert.deepEqual({ ...file }, { path: 'a/b/c d.txt', mode: 'ro' });
    assert.equal((await client.undelete({ name: 'shelves/1/books/2' })).title, 'restored');
    assert.deepEqual(
      { ...(await client.innerCount({ inner: { id: 'q', count: 7 } })) },
      { id: 'q', count: 7, notes: [] },
    );
    assert.equal((await client.deleteBook({ name: 'shelves/1/books/3' })).name, 'shelves/1/books/3');
  });

  it('reads a response_body answer back into the whole message', async () => {
    const list = await createClient<LibraryService>(library, transport).listBooks({ limit: 4 });
    assert.deepEqual(
      (list.books as Message[]).map((b) => b.title),
      ['a4', 'b'],
    );
    assert.equal(list.nextPageToken, '', 'fields outside response_body are not sent');
  });

  it('routes a literal segment before a variable one', async () => {
    const client = createClient<LibraryService>(library, transport);
    assert.equal((await client.specialBook({})).title, 'special');
    assert.equal((await client.bookByName({ name: 'other' })).title, 'by name other');
  });
});
