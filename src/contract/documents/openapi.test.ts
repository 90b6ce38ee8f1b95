import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Validator } from '@seriousme/openapi-schema-validator';
import { loadContractSync } from '../contract.ts';
import { type OpenApiDocument, openApiDocument } from './openapi.ts';
import type { JsonSchema } from './schema-types.ts';
import { assertInvalid, assertRefsResolve, assertValid, documentValidator } from './testdata/schema-check.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const CONTRACTS = {
  greeter: 'examples/greeter/greeter.proto',
  library: 'src/transports/http/testdata/library.proto',
  events: 'src/app/messaging/testdata/events.proto',
  echo: 'test/fixtures/echo.proto',
  shapes: 'src/contract/documents/testdata/shapes.proto',
};

function documentOf(file: string): OpenApiDocument {
  const contract = loadContractSync(path.join(ROOT, file));
  return openApiDocument(contract.services, {
    title: file,
    version: '1.2.3',
    servers: ['http://127.0.0.1:8080'],
  });
}

function operation(
  document: OpenApiDocument,
  operationId: string,
): { path: string; method: string; op: JsonSchema } {
  for (const [p, item] of Object.entries(document.paths)) {
    for (const [method, op] of Object.entries(item))
      if (op.operationId === operationId) return { path: p, method, op };
  }
  assert.fail(`no operation ${operationId}`);
}

function parameters(op: JsonSchema): Record<string, JsonSchema> {
  const out: Record<string, JsonSchema> = {};
  for (const p of op.parameters as JsonSchema[]) if (typeof p.name === 'string') out[`${p.in}:${p.name}`] = p;
  return out;
}

const content = (value: unknown, type = 'application/json') =>
  ((value as JsonSchema).content as Record<string, JsonSchema>)[type]?.schema as JsonSchema;

describe('openApiDocument', () => {
  for (const [name, file] of Object.entries(CONTRACTS)) {
    it(`is a valid OpenAPI 3.1 document for ${name}`, async () => {
      const document = documentOf(file);
      const validator = new Validator();
      const result = await validator.validate(JSON.parse(JSON.stringify(document)));
      assert.deepEqual(result, { valid: true });
      assert.equal(validator.version, '3.1');
      assertRefsResolve(document);
      const ids = Object.values(document.paths).flatMap((item) =>
        Object.values(item).map((op) => op.operationId),
      );
      assert.equal(new Set(ids).size, ids.length, 'operationIds are unique');
      // Every schema compiles as JSON Schema 2020-12 (strict about what it understands).
      const validatorOf = documentValidator(document);
      for (const schemaName of Object.keys(document.components.schemas)) {
        validatorOf({ $ref: `#/components/schemas/${schemaName}` });
      }
    });
  }

  it('documents the Greeter: its rule, its gRPC path, info and servers', () => {
    const document = documentOf(CONTRACTS.greeter);
    assert.deepEqual(document.info, { title: CONTRACTS.greeter, version: '1.2.3' });
    assert.deepEqual(document.servers, [{ url: 'http://127.0.0.1:8080' }]);
    assert.deepEqual(document.tags, [{ name: 'greet.Greeter' }]);
    assert.deepEqual(Object.keys(document.paths), ['/api/hello', '/greet.Greeter/SayHello']);
    const hello = operation(document, 'Greeter_SayHello');
    assert.equal(hello.path, '/api/hello');
    assert.equal(hello.method, 'post');
    assert.deepEqual(hello.op.tags, ['greet.Greeter']);
    assert.deepEqual(content(hello.op.requestBody), { $ref: '#/components/schemas/greet.Request' });
    const ok = (hello.op.responses as Record<string, JsonSchema>)['200'];
    assert.deepEqual(content(ok), { $ref: '#/components/schemas/greet.Response' });
    assert.equal(operation(document, 'Greeter_SayHello_rpc').path, '/greet.Greeter/SayHello');
    const responses = hello.op.responses as Record<string, JsonSchema>;
    assert.deepEqual(responses.default, { $ref: '#/components/responses/Error' });
    assert.deepEqual(responses['400'], { $ref: '#/components/responses/InvalidArgument' });
    const error = document.components.responses.Error as JsonSchema;
    assert.deepEqual(content(error), { $ref: '#/components/schemas/switchboard.http.Status' });
  });

  it('turns path templates into OpenAPI paths with path and query parameters', () => {
    const document = documentOf(CONTRACTS.library);
    const get = operation(document, 'Library_GetBook');
    assert.equal(get.path, '/v1/{name}');
    assert.equal(get.method, 'get');
    const params = parameters(get.op);
    assert.equal(params['path:name']?.required, true);
    assert.deepEqual(params['path:name']?.schema, { type: 'string', pattern: '^shelves/[^/]+/books/[^/]+$' });
    assert.equal(params['query:name'], undefined, 'a field in the path is no query parameter');
    assert.deepEqual(params['query:full']?.schema, { type: 'boolean' });
    assert.deepEqual(params['query:color']?.schema, { $ref: '#/components/schemas/sb.httptest.Color' });
    assert.ok(params['query:inner.id'] && params['query:inner.count'], 'nested fields as a.b');
    assert.deepEqual(params['query:tags'], {
      name: 'tags',
      in: 'query',
      style: 'form',
      explode: true,
      schema: { type: 'array', items: { type: 'string' } },
    });
    assert.equal(params['query:counts']?.style, 'deepObject');
    assert.equal((params['query:limit']!.schema as JsonSchema).format, 'int64');
    assert.equal(get.op.requestBody, undefined);
    // The same OpenAPI path, another HTTP method.
    assert.equal(operation(document, 'Library_DeleteBook').path, '/v1/{name}');

    const create = operation(document, 'Library_CreateBook');
    assert.equal(create.path, '/v1/shelves/{shelf_id}/books');
    assert.deepEqual(Object.keys(parameters(create.op)), ['path:shelf_id'], 'body "*": no query parameters');
    assert.deepEqual(content(create.op.requestBody), { $ref: '#/components/schemas/sb.httptest.Book' });

    const update = operation(document, 'Library_UpdateBook');
    assert.equal(update.path, '/v1/shelves/{shelf_id}/books/{book.name}');
    assert.deepEqual(Object.keys(parameters(update.op)), ['path:shelf_id', 'path:book.name', 'query:reason']);
    assert.deepEqual(content(update.op.requestBody), { $ref: '#/components/schemas/sb.httptest.Book' });

    const list = operation(document, 'Library_ListBooks');
    const listed = content((list.op.responses as Record<string, JsonSchema>)['200']);
    assert.deepEqual(listed, { type: 'array', items: { $ref: '#/components/schemas/sb.httptest.Book' } });

    assert.equal(operation(document, 'Library_Undelete').path, '/v1/{name}:undelete');
    const file = operation(document, 'Library_GetFile');
    assert.equal(file.path, '/v1/files/{path}');
    assert.match(String(parameters(file.op)['path:path']?.description), /send its "\/" unencoded/);
    const count = parameters(operation(document, 'Library_InnerCount').op);
    assert.equal((count['path:inner.count']!.schema as JsonSchema).type, 'integer');
    assert.equal(count['query:inner.id'], undefined);
    assert.ok(count['query:inner.notes']);
  });

  it('documents streams: NDJSON and SSE answers, NDJSON request bodies', () => {
    const document = documentOf(CONTRACTS.echo);
    const server = operation(document, 'Echo_ServerStream');
    assert.equal(server.path, '/v1/echo/{text}/stream');
    const ok = (server.op.responses as Record<string, JsonSchema>)['200'] as JsonSchema;
    const types = Object.keys(ok.content as object);
    assert.deepEqual(types, ['application/x-ndjson', 'text/event-stream']);
    const line = content(ok, 'application/x-ndjson');
    const validateLine = documentValidator(document)(line);
    assertValid(validateLine, { text: 'a', index: 1 });
    assertValid(validateLine, { error: { code: 3, status: 'INVALID_ARGUMENT', message: 'no', details: [] } });
    assertInvalid(validateLine, { error: { code: 'x' } });

    const client = operation(document, 'Echo_ClientStream');
    assert.equal(client.path, '/sb.test.Echo/ClientStream');
    assert.deepEqual(Object.keys((client.op.requestBody as JsonSchema).content as object), [
      'application/x-ndjson',
      'application/json',
    ]);
    const bidi = operation(document, 'Echo_Bidi');
    assert.ok(((bidi.op.responses as Record<string, JsonSchema>)['200'] as JsonSchema).content);
    // An additional binding gets the next id; a method without rules answers at its gRPC path.
    assert.deepEqual(
      [operation(document, 'Echo_Unary_2').path, operation(document, 'Echo_Unary_2').method],
      ['/v1/echo/{text}', 'get'],
    );
    assert.equal(operation(document, 'Echo_Default').path, '/sb.test.Echo/Default');
    assert.throws(() => operation(document, 'Echo_Default_rpc'), /no operation/);
  });

  it('documents comments, oneofs, body and response_body fields, wildcards', () => {
    const document = documentOf(CONTRACTS.shapes);
    assert.deepEqual(document.tags, [
      { name: 'sb.shapes.Shapes', description: 'Serves the shapes over REST, for the document tests.' },
    ]);
    assert.equal(operation(document, 'Shapes_EchoScalars').op.description, 'Echoes the scalars.');
    const pick = operation(document, 'Shapes_Pick');
    assert.equal(pick.path, '/v1/{word}/anything/{wildcard1}');
    assert.equal(pick.method, 'put');
    assert.equal(content(pick.op.requestBody).$ref, '#/components/schemas/sb.shapes.Node');
    assert.deepEqual(content((pick.op.responses as Record<string, JsonSchema>)['200']), {
      type: 'object',
      additionalProperties: { $ref: '#/components/schemas/sb.shapes.Node' },
    });
    const known = parameters(operation(document, 'Shapes_Known').op);
    assert.deepEqual(known['query:at']?.schema, { $ref: '#/components/schemas/google.protobuf.Timestamp' });
    assert.equal(known['query:doc'], undefined, 'a Struct cannot be spelt in a query');
    assert.equal(known['query:nullValue'], undefined);
    assert.equal(known['query:packed.typeUrl'], undefined, 'well-known types are not expanded');
    const tree = operation(document, 'Shapes_Tree');
    assert.equal(tree.path, '/v1/trees/{label}:walk');
    assert.ok(document.components.schemas['sb.shapes.Node']);
  });

  it('names operations by full service name when two services share a short name', () => {
    const greeter = loadContractSync(path.join(ROOT, CONTRACTS.greeter)).service('greet.Greeter');
    const twin = { ...greeter, fullName: 'other.Greeter', methods: greeter.methods };
    const document = openApiDocument([greeter, twin], { title: 't', version: '1' });
    const ids = Object.values(document.paths).flatMap((item) =>
      Object.values(item).map((op) => op.operationId),
    );
    assert.ok(ids.includes('greet_Greeter_SayHello'), JSON.stringify(ids));
  });
});
