/** HTTP/REST decoders: route matching, path templates, request binding, the JSON and binary codecs, a live server. */
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { StatusError } from '../../../src/contract/errors.ts';
import { loadContractSync } from '../../../src/contract/index.ts';
import { createClient, ServiceHost } from '../../../src/core/index.ts';
import { HttpClientTransport } from '../../../src/transports/http/client.ts';
import { BodyTooLargeError } from '../../../src/transports/http/http-errors.ts';
import { LineSplitter } from '../../../src/transports/http/line-splitter.ts';
import { parsePathTemplate, variableValue } from '../../../src/transports/http/path-template.ts';
import { RequestBinder } from '../../../src/transports/http/request-binding.ts';
import { Router } from '../../../src/transports/http/router.ts';
import { HttpServer } from '../../../src/transports/http/server.ts';
import { SseParser } from '../../../src/transports/http/sse.ts';
import { type EchoService, echoContract, echoImplementation } from '../../fixtures/echo-service.ts';
import { chunked, type FuzzTarget, mutated, oneOf, outcome, pureTarget, timedAsync } from '../fuzz-kit.ts';

const LIBRARY_PROTO = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../src/transports/http/testdata/library.proto',
);
const library = loadContractSync(LIBRARY_PROTO).service('sb.httptest.Library');
const Book = loadContractSync(LIBRARY_PROTO).message('sb.httptest.Book');

/** Every rule of the library contract, routed as the HTTP server routes them. */
function libraryRouter(): Router<{ binder: RequestBinder; template: ReturnType<typeof parsePathTemplate> }> {
  const router = new Router<{ binder: RequestBinder; template: ReturnType<typeof parsePathTemplate> }>();
  for (const m of library.methods) {
    for (const rule of m.httpRules) {
      const template = parsePathTemplate(rule.path);
      router.add(rule.method, template, { binder: new RequestBinder(m.input, rule, template), template });
    }
  }
  return router;
}

const segmentArb = fc.oneof(
  fc.constantFrom(
    'v1',
    'shelves',
    'books',
    'special',
    'files',
    'inner',
    'count',
    'x',
    '42',
    '',
    '%',
    '%2F',
    '%zz',
    'a:undelete',
    ':',
    '..',
    '%E2%9C%93',
  ),
  fc.string({ maxLength: 12 }),
);
const pathArb = fc.oneof(
  fc.array(segmentArb, { maxLength: 8 }).map((s) => `/${s.join('/')}`),
  fc.string({ maxLength: 60 }),
);
const queryArb = fc.oneof(
  fc.constant(undefined),
  fc
    .array(
      fc.tuple(
        fc.constantFrom(
          'name',
          'full',
          'color',
          'inner.id',
          'inner.count',
          'inner.notes',
          'tags',
          'counts[a]',
          'counts[]',
          'colors',
          'limit',
          'since',
          'nope',
          'inner',
          'full.x',
        ),
        fc.oneof(
          fc.constantFrom(
            'true',
            'false',
            'RED',
            '1',
            '-1',
            '99999999999999999999',
            '2020-01-01T00:00:00Z',
            'x',
          ),
          fc.string({ maxLength: 10 }),
        ),
      ),
      { maxLength: 5 },
    )
    .map((pairs) => pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')),
  fc.string({ maxLength: 40 }),
);

const routing = pureTarget('http-routing-binding', 400, () => {
  const router = libraryRouter();
  return fc.property(
    fc.constantFrom('GET', 'POST', 'PATCH', 'DELETE', 'PUT', 'HEAD', 'OPTIONS', 'get'),
    pathArb,
    queryArb,
    fc.oneof(fc.constant(undefined), fc.jsonValue({ maxDepth: 3 })),
    (method, rawPath, query, body) => {
      const result = outcome(
        () => router.match(method, rawPath),
        () => false,
      );
      assert.ok(result.ok);
      const route = result.value;
      assert.ok(['found', 'wrong-method', 'not-found'].includes(route.kind));
      if (route.kind !== 'found') return;
      for (const variable of route.value.template.variables) {
        assert.equal(
          typeof outcome(
            () => variableValue(variable, route.segments),
            () => false,
          ),
          'object',
        );
      }
      // Bad query, body or path text is INVALID_ARGUMENT; nothing else may come out.
      const bound = outcome(() => route.value.binder.bind(route.segments, query, body), oneOf(StatusError));
      if (!bound.ok) assert.equal((bound.error as StatusError).code, 3, bound.error.message);
    },
  );
});

const templates = pureTarget('http-path-template', 400, () =>
  fc.property(
    fc.oneof(
      fc
        .array(
          fc.constantFrom(
            '/',
            'v1',
            '{',
            '}',
            '=',
            '*',
            '**',
            ':',
            'a.b',
            'name',
            'x',
            '.',
            '/{name=*}',
            '/{a.b=**}',
          ),
          { maxLength: 10 },
        )
        .map((p) => p.join('')),
      fc.string({ maxLength: 40 }),
    ),
    (source) => {
      // Templates come from contracts: a bad one is an Error naming it, never a crash or a hang.
      const parsed = outcome(() => parsePathTemplate(source), oneOf(Error));
      if (!parsed.ok) assert.ok(parsed.error.message.length > 0);
    },
  ),
);

const bookArb = fc.record({
  name: fc.string({ maxLength: 20 }),
  title: fc.string({ maxLength: 20 }),
  pages: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  hardcover: fc.boolean(),
  color: fc.nat({ max: 2 }),
  tags: fc.array(fc.string({ maxLength: 6 }), { maxLength: 3 }),
  labels: fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 2 }),
  published: fc.record({
    seconds: fc.integer({ min: 0, max: 2 ** 31 }),
    nanos: fc.nat({ max: 999_999_999 }),
  }),
  price: fc.double({ noNaN: true }),
});

const binaryCodec = pureTarget('codec-binary', 400, () =>
  fc.property(mutated(bookArb.map((b) => Book.encode(b))), (bytes) => {
    const decoded = outcome(() => Book.decode(bytes), oneOf(StatusError));
    if (!decoded.ok) {
      assert.equal((decoded.error as StatusError).code, 3);
      return;
    }
    // Whatever decoded converts to JSON (or is refused as INTERNAL: e.g. a timestamp out of range).
    outcome(() => Book.toJson(decoded.value), oneOf(StatusError));
  }),
);

const jsonCodec = pureTarget('codec-json', 400, () =>
  fc.property(
    fc.oneof(
      fc.jsonValue({ maxDepth: 4 }),
      bookArb.map((b) => Book.toJson(Book.create({ ...b, pages: String(b.pages) }))),
      fc.record(
        {
          name: fc.jsonValue({ maxDepth: 1 }),
          pages: fc.oneof(
            fc.string(),
            fc.double(),
            fc.constantFrom('1e400', '-0', '9223372036854775808', ' 1'),
          ),
          color: fc.oneof(fc.string(), fc.integer()),
          published: fc.oneof(
            fc.string(),
            fc.constantFrom('2020-13-40T99:99:99Z', '0001-01-01T00:00:00Z', '10000-01-01T00:00:00Z'),
          ),
          labels: fc.jsonValue({ maxDepth: 2 }),
          price: fc.oneof(fc.constantFrom('NaN', 'Infinity', '-Infinity', '1e999'), fc.double()),
        },
        { requiredKeys: [] },
      ),
    ),
    fc.boolean(),
    (json, ignoreUnknownFields) => {
      const parsed = outcome(() => Book.fromJson(json, { ignoreUnknownFields }), oneOf(StatusError));
      if (!parsed.ok) {
        assert.equal((parsed.error as StatusError).code, 3);
        return;
      }
      outcome(() => Book.encode(parsed.value), oneOf(StatusError));
    },
  ),
);

/** Lines and server-sent events (the HTTP client's streams, HubRegistry's watch) within a size limit. */
const SSE_LIMIT = 256;
const sse = pureTarget('http-sse-lines', 300, () =>
  fc.property(
    mutated(
      fc
        .array(
          fc.oneof(
            fc.string({ maxLength: 40 }).map((d) => `data: ${d.replace(/[\r\n]/g, '')}\n\n`),
            fc.constantFrom(
              'event: error\n',
              ': keep-alive\n',
              'data:\n',
              'data: x\n',
              '\r\n',
              'id: 1\n',
              'retry: 5\n',
            ),
            // Data lines without the blank line that ends an event: the event grows.
            fc.nat({ max: 120 }).map((n) => `data: ${'y'.repeat(n)}\n`),
          ),
          { maxLength: 40 },
        )
        .map((parts) => Buffer.from(parts.join(''))),
    ),
    fc.array(fc.nat(), { maxLength: 6 }),
    (bytes, cuts) => {
      const lines = new LineSplitter(SSE_LIMIT);
      const parser = new SseParser(SSE_LIMIT);
      outcome(() => {
        for (const chunk of chunked(bytes, cuts)) {
          for (const line of lines.push(chunk)) {
            const event = parser.line(line);
            if (event)
              assert.ok(event.data.length <= SSE_LIMIT, `an event of ${event.data.length} characters`);
          }
        }
        const last = lines.end();
        if (last !== undefined) parser.line(last);
        const event = parser.end();
        if (event) assert.ok(event.data.length <= SSE_LIMIT);
      }, oneOf(BodyTooLargeError));
    },
  ),
);

/**
 * A live HttpServer: raw TCP requests made from a valid POST /v1/echo and mutated; the server
 * answers with an HTTP status (or closes), and a normal call succeeds afterwards.
 */
const server: FuzzTarget = {
  name: 'http-server',
  ciRuns: 25,
  async open() {
    const echo = echoContract().service('sb.test.Echo');
    const http = new HttpServer(new ServiceHost().add<EchoService>(echo, echoImplementation), {
      maxBodyBytes: 4096,
      headersTimeoutMs: 500,
      requestTimeoutMs: 1000,
    });
    const address = await http.listen();
    const transport = new HttpClientTransport({ baseUrl: `http://${address.host}:${address.port}` });
    const client = createClient<EchoService>(echo, transport);
    const requestArb = fc
      .tuple(
        fc.constantFrom(
          'POST /v1/echo',
          'GET /v1/echo/abc',
          'GET /v1/echo/a%20b/stream',
          'POST /sb.test.Echo/Default',
          'POST /sb.test.Echo/Unary',
        ),
        fc.constantFrom(
          'application/json',
          'application/x-ndjson',
          'text/plain',
          'application/json; charset=utf-8',
        ),
        fc.oneof(
          fc.jsonValue({ maxDepth: 2 }).map((j) => JSON.stringify(j)),
          fc.constant('{"text":"hi","count":2,"tags":["a"]}'),
        ),
      )
      .map(([line, type, body]) => {
        const bytes = Buffer.from(body);
        return Buffer.concat([
          Buffer.from(
            `${line} HTTP/1.1\r\nhost: x\r\ncontent-type: ${type}\r\ncontent-length: ${bytes.length}\r\nconnection: close\r\n\r\n`,
          ),
          bytes,
        ]);
      });
    const send = async (bytes: Uint8Array): Promise<void> => {
      const socket = net.connect({ host: address.host, port: address.port });
      let answer = '';
      socket.setEncoding('latin1');
      socket.on('data', (d: string) => {
        answer += d;
      });
      socket.on('error', () => {});
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      socket.end(bytes);
      await new Promise((resolve) => socket.once('close', resolve));
      // Either nothing (the server hung up on garbage) or a well-formed status line.
      if (answer !== '') assert.match(answer, /^HTTP\/1\.[01] [1-5]\d\d /, answer.slice(0, 80));
    };
    const property = fc.asyncProperty(mutated(requestArb), async (bytes) => {
      await timedAsync(() => send(bytes), 3000);
      const reply = await timedAsync(() => client.unary({ text: 'still here' }));
      assert.equal(reply.text, 'still here');
    });
    return {
      check: async (params) => (await fc.check(property, params)) as fc.RunDetails<unknown>,
      async close() {
        await transport.close();
        await http.close(0);
      },
    };
  },
};

export const httpTargets: readonly FuzzTarget[] = [routing, templates, sse, binaryCodec, jsonCodec, server];
