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
