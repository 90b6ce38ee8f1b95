import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Validator } from '@seriousme/openapi-schema-validator';
import { GREETER_PROTO, type GreeterService, greeter } from '../../examples/greeter/greeter.ts';
import { type EchoService, echoContract, echoImplementation } from '../../test/fixtures/echo-service.ts';
import { loadContractSync } from '../contract/contract.ts';
import type { OpenApiDocument } from '../contract/documents/openapi.ts';
import type { JsonSchema } from '../contract/documents/schema-types.ts';
import { assertValid, documentValidator } from '../contract/documents/testdata/schema-check.ts';
import { Server } from './server.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const LIBRARY = loadContractSync(path.join(HERE, '../transports/http/testdata/library.proto')).service(
  'sb.httptest.Library',
);
const EVENTS = loadContractSync(path.join(HERE, 'messaging/testdata/events.proto')).service(
  'sb.events.Tasks',
);
const GREETER = loadContractSync(GREETER_PROTO).service('greet.Greeter');

type Message = Record<string, unknown>;
const library = {
  getBook: (req: Message) => ({ name: req.name, title: 'Dune', pages: '412', price: 9.5, color: 'GREEN' }),
  createBook: (req: Message) => ({ ...req, name: `shelves/${req.shelfId}/books/1` }),
};

/** Finds an operation by id and fills its path, query and body as the document describes them. */
function requestFor(
  document: OpenApiDocument,
  operationId: string,
  values: Record<string, string | string[]>,
  body?: unknown,
): { method: string; url: string; body?: string; op: JsonSchema } {
  for (const [template, item] of Object.entries(document.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (op.operationId !== operationId) continue;
      let url = template;
      const query = new URLSearchParams();
      for (const parameter of op.parameters as JsonSchema[]) {
        const value = values[parameter.name as string];
        if (parameter.in === 'path') {
          assert.ok(typeof value === 'string', `a value for path parameter ${parameter.name}`);
          // Multi-segment values (a pattern) keep their "/" as the parameter's description says.
          const encoded = (parameter.schema as JsonSchema).pattern
            ? value.split('/').map(encodeURIComponent).join('/')
            : encodeURIComponent(value);
          url = url.replace(`{${parameter.name}}`, encoded);
        } else if (parameter.in === 'query' && value !== undefined) {
          for (const v of Array.isArray(value) ? value : [value]) query.append(parameter.name as string, v);
        }
      }
      const search = query.size > 0 ? `?${query}` : '';
      return {
        method: method.toUpperCase(),
        url: url + search,
        op,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      };
    }
  }
  assert.fail(`no operation ${operationId}`);
}

describe('Server API documents', () => {
  let server: Server;
  let base: string;
  let document: OpenApiDocument;

  before(async () => {
    server = new Server({ http: { port: 0 }, apiDocuments: { title: 'Test API', version: '2.0.0' } });
    server.add<GreeterService>(GREETER, greeter);
    server.add(LIBRARY, library);
    server.add<EchoService>(echoContract().service('sb.test.Echo'), echoImplementation);
    const { http } = await server.listen();
    base = `http://127.0.0.1:${http?.port}`;
    const res = await fetch(`${base}/openapi.json`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    document = (await res.json()) as OpenApiDocument;
  });
  after(() => server.close(0));

  it('serves a valid OpenAPI 3.1 document of the hosted services, without health and reflection', async () => {
    const result = await new Validator().validate(document as unknown as Record<string, unknown>);
    assert.deepEqual(result, { valid: true });
    assert.deepEqual(document.info, { title: 'Test API', version: '2.0.0' });
    assert.deepEqual(
      document.tags.map((t) => t.name),
      ['greet.Greeter', 'sb.httptest.Library', 'sb.test.Echo'],
    );
    assert.ok(!Object.keys(document.paths).some((p) => /grpc\.(health|reflection)/.test(p)));
    const head = await fetch(`${base}/openapi.json`, { method: 'HEAD' });
    assert.equal(head.status, 200);
  });

  it('answers a request built from the document: the Greeter', async () => {
    const request = requestFor(document, 'Greeter_SayHello', {}, { name: 'John' });
    assert.equal(request.url, '/api/hello');
    const res = await fetch(base + request.url, {
      method: request.method,
      headers: { 'content-type': 'application/json' },
      body: request.body,
    });
    assert.equal(res.status, 200);
    const json = await res.json();
    assert.deepEqual(json, { message: 'Hello, John!' });
    const ok = (request.op.responses as Record<string, JsonSchema>)['200'] as JsonSchema;
    const schema = ((ok.content as Record<string, JsonSchema>)['application/json'] as JsonSchema)
      .schema as JsonSchema;
    assertValid(documentValidator(document)(schema), json, 'the SayHello answer');
  });

  it('answers requests built from the document: path variables, query and body', async () => {
    const validate = documentValidator(document);
    const check = async (request: ReturnType<typeof requestFor>) => {
      const res = await fetch(base + request.url, {
        method: request.method,
        headers: request.body === undefined ? {} : { 'content-type': 'application/json' },
        body: request.body,
      });
      const json = await res.json();
      assert.equal(res.status, 200, JSON.stringify(json));
      const ok = (request.op.responses as Record<string, JsonSchema>)['200'] as JsonSchema;
      const schema = ((ok.content as Record<string, JsonSchema>)['application/json'] as JsonSchema)
        .schema as JsonSchema;
      assertValid(validate(schema), json, request.url);
      return json as Message;
    };
    const created = await check(
      requestFor(
        document,
        'Library_CreateBook',
        { shelf_id: 's 1' },
        { title: 'Dune', pages: '412', tags: ['sf'] },
      ),
    );
    assert.equal(created.name, 'shelves/s 1/books/1');
    assert.equal(created.shelfId, 's 1', 'the path variable reached the request');
    const get = requestFor(document, 'Library_GetBook', {
      name: 'shelves/1/books/2',
      full: 'true',
      tags: ['a', 'b'],
    });
    assert.equal(get.url, '/v1/shelves/1/books/2?full=true&tags=a&tags=b');
    const book = await check(get);
    assert.equal(book.name, 'shelves/1/books/2');
    // A method without a rule of its own, at its gRPC path.
    const echoed = await check(
      requestFor(document, 'Echo_Default', {}, { text: 'hi', big: '9007199254740993' }),
    );
    assert.equal(echoed.big, '9007199254740993');
  });

  it('answers a server stream whose NDJSON lines fit the documented line schema', async () => {
    const request = requestFor(document, 'Echo_ServerStream', { text: 'x', count: '2' });
    const res = await fetch(base + request.url);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /application\/x-ndjson/);
    const lines = (await res.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as unknown);
    assert.equal(lines.length, 2);
    const ok = (request.op.responses as Record<string, JsonSchema>)['200'] as JsonSchema;
    const schema = ((ok.content as Record<string, JsonSchema>)['application/x-ndjson'] as JsonSchema)
      .schema as JsonSchema;
    const validate = documentValidator(document)(schema);
    for (const line of lines) assertValid(validate, line, 'a stream line');
  });

  it('answers 404 for /asyncapi.json when the contract binds no topics', async () => {
    const res = await fetch(`${base}/asyncapi.json`);
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as Message).status, 'UNIMPLEMENTED');
  });
});

describe('Server API documents: options', () => {
  it('serves /asyncapi.json for a contract with topics, and no documents with apiDocuments: false', async () => {
    const tasks = { run: (req: Message) => ({ id: req.id, runs: 1 }), async *watch() {} };
    const withTopics = new Server({ http: { port: 0 } }).add(EVENTS, tasks);
    const without = new Server({ http: { port: 0 }, apiDocuments: false }).add(EVENTS, tasks);
    const custom = new Server({
      http: { port: 0, endpoints: { '/openapi.json': (_req, res) => void res.end('mine') } },
    }).add(EVENTS, tasks);
    try {
      const [a, b, c] = await Promise.all([withTopics.listen(), without.listen(), custom.listen()]);
      const asyncApi = await fetch(`http://127.0.0.1:${a.http?.port}/asyncapi.json`);
      assert.equal(asyncApi.status, 200);
      const doc = (await asyncApi.json()) as { asyncapi: string; info: { title: string }; channels: Message };
      assert.equal(doc.asyncapi, '3.0.0');
      assert.equal(doc.info.title, 'sb.events.Tasks');
      assert.deepEqual(Object.keys(doc.channels), ['greet.hello']);
      const openApi = (await (
        await fetch(`http://127.0.0.1:${a.http?.port}/openapi.json`)
      ).json()) as OpenApiDocument;
      assert.ok(openApi.paths['/sb.events.Tasks/Watch']?.post);
      for (const name of ['openapi', 'asyncapi']) {
        const res = await fetch(`http://127.0.0.1:${b.http?.port}/${name}.json`);
        assert.equal(res.status, 404, `${name} with apiDocuments: false`);
        await res.arrayBuffer();
      }
      assert.equal(await (await fetch(`http://127.0.0.1:${c.http?.port}/openapi.json`)).text(), 'mine');
    } finally {
      await Promise.all([withTopics.close(0), without.close(0), custom.close(0)]);
    }
  });
});
