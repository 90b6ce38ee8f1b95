import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { waitFor } from '../../../test/support/wait.ts';
import { EventBus } from '../../app/messaging/event-bus.ts';
import { DEADLINE_HEADER } from '../../app/messaging/headers.ts';
import { eventsContract, record } from '../../app/messaging/testdata/fixtures.ts';
import { PROPAGATED_HEADERS } from '../../core/client.ts';
import { MemoryBroker } from '../../messaging/memory/broker.ts';
import { Metadata } from '../metadata.ts';
import { asyncApiDocument, contractTopics, EVENT_HEADERS } from './asyncapi.ts';
import type { JsonSchema } from './schema-types.ts';
import { assertInvalid, assertRefsResolve, assertValid, documentValidator } from './testdata/schema-check.ts';

const contract = eventsContract();
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('asyncApiDocument', () => {
  const document = asyncApiDocument(contract, { title: 'Events', version: '1.0.0', description: 'd' });

  it('has a channel per topic with the event message, and a send and a receive operation', () => {
    assert.equal(document.asyncapi, '3.0.0');
    assert.deepEqual(document.info, { title: 'Events', version: '1.0.0', description: 'd' });
    assert.deepEqual(Object.keys(document.channels), ['greet.hello']);
    const channel = document.channels['greet.hello'] as JsonSchema;
    assert.equal(channel.address, 'greet.hello');
    assert.deepEqual(channel.messages, {
      'sb.events.Hello': { $ref: '#/components/messages/sb.events.Hello' },
    });
    const message = document.components.messages['sb.events.Hello'] as JsonSchema;
    assert.deepEqual(message.payload, { $ref: '#/components/schemas/sb.events.Hello' });
    assert.equal(message.contentType, 'application/json');
    const actions = Object.entries(document.operations).map(([id, op]) => [id, op.action, op.channel]);
    assert.deepEqual(actions, [
      ['greet.hello.publish', 'send', { $ref: '#/channels/greet.hello' }],
      ['greet.hello.subscribe', 'receive', { $ref: '#/channels/greet.hello' }],
    ]);
    for (const op of Object.values(document.operations)) {
      assert.deepEqual(op.messages, [{ $ref: '#/channels/greet.hello/messages/sb.events.Hello' }]);
    }
    assert.deepEqual(Object.keys(document.components.schemas), ['sb.events.Hello']);
    assertRefsResolve(document);
  });

  it('names the headers src/app/messaging writes', () => {
    assert.equal(EVENT_HEADERS.deadline, DEADLINE_HEADER);
    for (const name of PROPAGATED_HEADERS) assert.equal(EVENT_HEADERS[name], name);
  });

  it('describes what an EventBus publishes: headers and the JSON payload (draft-07 schemas)', async () => {
    const broker = new MemoryBroker();
    try {
      const bus = new EventBus(broker, contract, { source: '/tests', encoding: 'json' });
      const raw = await record(broker, 'greet.hello');
      await bus.publish(
        bus.type('sb.events.Hello'),
        { name: 'Ada', count: 2 },
        {
          subject: 'u/1',
          deadline: Date.now() + 60_000,
          parent: { metadata: new Metadata({ traceparent: TRACEPARENT }), deadline: Infinity },
        },
      );
      await waitFor(() => raw.log.length === 1);
      const delivered = raw.log[0]!;
      assert.equal(delivered.headers.traceparent, TRACEPARENT);
      assert.ok(delivered.headers[DEADLINE_HEADER]);
      const message = document.components.messages['sb.events.Hello'] as JsonSchema;
      const validatorOf = documentValidator(document, 'draft-07');
      const headers = validatorOf(message.headers as JsonSchema);
      assertValid(headers, delivered.headers, 'published headers');
      assertInvalid(headers, { ...delivered.headers, 'ce-type': 'other.Type' }, 'another ce-type');
      const payload = validatorOf(message.payload as JsonSchema);
      assertValid(
        payload,
        JSON.parse(Buffer.from(delivered.payload).toString('utf8')),
        'published JSON data',
      );
      assertInvalid(payload, { name: 1 }, 'a payload of the wrong shape');
      await raw.subscription.close();
    } finally {
      await broker.close();
    }
  });

  it('takes explicit bindings, groups messages by topic, and lists the contract topics', () => {
    assert.deepEqual(
      contractTopics(contract).map((b) => [b.topic, b.message.fullName]),
      [['greet.hello', '.sb.events.Hello']],
    );
    const doc = asyncApiDocument(
      [
        { topic: 'audit/all', message: contract.message('sb.events.Hello') },
        { topic: 'audit/all', message: contract.message('sb.events.Unbound') },
      ],
      { title: 't', version: '1', servers: { hub: { host: '127.0.0.1:7071', protocol: 'switchboard' } } },
    );
    assert.deepEqual(Object.keys(doc.channels), ['audit_all']);
    assert.equal((doc.channels.audit_all as JsonSchema).address, 'audit/all');
    assert.deepEqual(Object.keys((doc.channels.audit_all as JsonSchema).messages as object), [
      'sb.events.Hello',
      'sb.events.Unbound',
    ]);
    assert.deepEqual(doc.servers, { hub: { host: '127.0.0.1:7071', protocol: 'switchboard' } });
    assertRefsResolve(doc);
  });
});
