import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { JsonSchema } from '../../contract/documents/schema-types.ts';
import {
  assertRefsResolve,
  assertValid,
  documentValidator,
} from '../../contract/documents/testdata/schema-check.ts';
import { HubServer } from '../server.ts';
import { HUB_OPENAPI_PATH, hubOpenApiDocument } from './openapi.ts';

type Paths = Record<string, Record<string, JsonSchema>>;

describe('the hub OpenAPI document', () => {
  const hub = new HubServer({ port: 0, requestTimeoutMs: 2000 });
  let document: JsonSchema;

  before(async () => {
    await hub.listen();
    const res = await fetch(hub.url + HUB_OPENAPI_PATH);
    assert.equal(res.status, 200);
    document = (await res.json()) as JsonSchema;
  });
  after(() => hub.close());

  /** Calls the operation `operationId` and checks the answer against what the document says of its status. */
  async function call(
    operationId: string,
    values: Record<string, string> = {},
    body?: unknown,
  ): Promise<{ status: number; json: unknown }> {
    for (const [template, item] of Object.entries(document.paths as Paths)) {
      for (const [method, op] of Object.entries(item)) {
        if (op.operationId !== operationId) continue;
        let url = template;
        const query = new URLSearchParams();
        for (const p of (op.parameters ?? []) as JsonSchema[]) {
          const value = values[p.name as string];
          if (p.in === 'path') url = url.replace(`{${p.name}}`, encodeURIComponent(value ?? ''));
          else if (value !== undefined) query.set(p.name as string, value);
        }
        const res = await fetch(`${hub.url}${url}${query.size ? `?${query}` : ''}`, {
          method: method.toUpperCase(),
          headers: body === undefined ? {} : { 'content-type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        const response = (op.responses as Record<string, JsonSchema>)[String(res.status)];
        assert.ok(response, `${operationId}: status ${res.status} is documented`);
        const resolved = (response.$ref ? lookup(String(response.$ref)) : response) as JsonSchema;
        const content = resolved.content as Record<string, JsonSchema>;
        if (content['text/event-stream']) {
          await res.body?.cancel();
          return { status: res.status, json: undefined };
        }
        const json: unknown = await res.json();
        const schema = content['application/json']?.schema as JsonSchema;
        assertValid(documentValidator(document)(schema), json, `${operationId} ${res.status}`);
        return { status: res.status, json };
      }
    }
    assert.fail(`no operation ${operationId}`);
  }

  function lookup(ref: string): unknown {
    let node: unknown = document;
    for (const part of ref.slice(2).split('/')) node = (node as Record<string, unknown>)[part];
    return node;
  }

  it('is served as written, and is a valid OpenAPI 3.1 document', async () => {
    assert.deepEqual(document, JSON.parse(JSON.stringify(hubOpenApiDocument())));
    assert.deepEqual(await new Validator().validate(hubOpenApiDocument()), { valid: true });
    assertRefsResolve(document);
    const servers = hubOpenApiDocument({ servers: ['http://127.0.0.1:7070'] }).servers;
    assert.deepEqual(servers, [{ url: 'http://127.0.0.1:7070' }]);
  });

  it('describes what the hub answers: register, list, watch, heartbeat, deregister, broker', async () => {
    const instance = {
      service: 'greet.Greeter',
      id: 'doc-1',
      endpoints: [{ transport: 'http', host: '127.0.0.1', port: 8080 }],
      metadata: { zone: 'a' },
    };
    assert.equal((await call('Registry_Register', {}, { instance, ttlMs: 5000 })).status, 200);
    assert.equal((await call('Registry_Register', {}, { instance: { id: 'x' } })).status, 400);
    const services = await call('Registry_ListServices');
    assert.deepEqual((services.json as { services: unknown[] }).services, [
      { name: 'greet.Greeter', instances: 1 },
    ]);
    const listed = await call('Registry_ListInstances', { service: 'greet.Greeter' });
    assert.deepEqual((listed.json as { instances: unknown[] }).instances, [instance]);
    const index = String((listed.json as { index: number }).index);
    assert.equal(
      (await call('Registry_ListInstances', { service: 'greet.Greeter', index, wait: '10ms' })).status,
      200,
    );
    assert.equal((await call('Registry_Watch', { service: 'greet.Greeter' })).status, 200);
    assert.equal((await call('Registry_Heartbeat', { service: 'greet.Greeter', id: 'doc-1' })).status, 200);
    assert.equal((await call('Registry_Deregister', { service: 'greet.Greeter', id: 'doc-1' })).status, 200);
    assert.equal((await call('Registry_Deregister', { service: 'greet.Greeter', id: 'doc-1' })).status, 404);
    const broker = await call('Hub_BrokerInfo');
    assert.equal(broker.status, 200);
    assert.equal((broker.json as { target: string }).target, hub.brokerTarget);
    assert.equal((await call('Hub_Health')).status, 200);
    assert.equal((await call('Hub_OpenApi')).status, 200);
  });
});

describe('the hub OpenAPI document with an access policy', () => {
  const hub = new HubServer({
    port: 0,
    requestTimeoutMs: 2000,
    access: {
      tokens: { 'reader-token-0123456789': { name: 'reader' } },
      grants: [{ who: 'reader', read: '*' }],
    },
  });
  before(() => hub.listen());
  after(() => hub.close());

  it('names the credentials, and what needs one, and is what a hub with a policy serves', async () => {
    const open = hubOpenApiDocument();
    assert.deepEqual(open.security, [{}, { bearer: [] }, { clientCertificate: [] }]);
    const secured = hubOpenApiDocument({ secured: true });
    assert.deepEqual(await new Validator().validate(secured), { valid: true });
    assert.deepEqual(secured.security, [{ bearer: [] }, { clientCertificate: [] }]);
    const paths = secured.paths as Paths;
    assert.deepEqual(paths['/healthz']?.get?.security, [], 'health is public');
    assert.deepEqual(paths[HUB_OPENAPI_PATH]?.get?.security, [], 'the document is public');
    const list = paths['/api/v1/services']?.get?.responses as Record<string, JsonSchema>;
    assert.deepEqual(list['401'], { $ref: '#/components/responses/Unauthorized' });
    assert.deepEqual(list['403'], { $ref: '#/components/responses/Forbidden' });

    const served = await fetch(hub.url + HUB_OPENAPI_PATH);
    assert.equal(served.status, 200, 'served without a credential');
    assert.deepEqual(await served.json(), JSON.parse(JSON.stringify(secured)));
    const anonymous = await fetch(`${hub.url}/api/v1/services`);
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Bearer /);
    const reader = await fetch(`${hub.url}/api/v1/services`, {
      headers: { authorization: 'Bearer reader-token-0123456789' },
    });
    assert.equal(reader.status, 200);
    const register = await fetch(`${hub.url}/api/v1/instances`, {
      method: 'PUT',
      headers: { authorization: 'Bearer reader-token-0123456789', 'content-type': 'application/json' },
      body: JSON.stringify({
        instance: {
          service: 's',
          id: 'i',
          endpoints: [{ transport: 'http', host: '127.0.0.1', port: 1 }],
          metadata: {},
        },
      }),
    });
    assert.equal(register.status, 403, 'documented as Forbidden');
  });
});
