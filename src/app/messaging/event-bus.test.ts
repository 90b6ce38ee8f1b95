import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { sleep, waitFor } from '../../../test/support/wait.ts';
import { Status, StatusError } from '../../contract/index.ts';
import { MemoryBroker, type OutgoingMessage } from '../../messaging/index.ts';
import { EventBus } from './event-bus.ts';
import type { EventContext } from './event-context.ts';
import { eventsContract, type Hello, type Recorded, record, utf8 } from './testdata/fixtures.ts';

const contract = eventsContract();
const helloType = contract.message('sb.events.Hello');

describe('EventBus', () => {
  let broker: MemoryBroker;
  let bus: EventBus;

  beforeEach(() => {
    broker = new MemoryBroker({ retryBackoffMs: 20 });
    bus = new EventBus(broker, contract, { source: '/tests' });
  });
  afterEach(() => broker.close());

  /** Subscribes a handler that records each event with its context. */
  async function received(group = 'app') {
    const seen: { event: Hello; ctx: EventContext }[] = [];
    await bus.subscribe(bus.type<Hello>('sb.events.Hello'), (event, ctx) => void seen.push({ event, ctx }), {
      group,
    });
    return seen;
  }

  it('publishes typed events to the topic the contract binds, as binary-mode CloudEvents', async () => {
    const Hello = bus.type<Hello>('sb.events.Hello');
    assert.equal(bus.topicOf(Hello), 'greet.hello');
    const seen = await received();
    const raw = await record(broker, 'greet.hello');
    const before = Date.now();
    const receipt = await bus.publish(
      Hello,
      { name: 'Ada', count: 2 },
      { id: 'evt-1', key: 'k', subject: 'u/1' },
    );
    assert.equal(receipt.id, 'evt-1');
    await waitFor(() => seen.length === 1 && raw.log.length === 1);

    const { event, ctx } = seen[0]!;
    assert.equal(event.name, 'Ada');
    assert.equal(event.count, 2);
    assert.deepEqual([ctx.topic, ctx.id, ctx.key, ctx.attempt], ['greet.hello', 'evt-1', 'k', 1]);
    assert.equal(ctx.cloudEvent?.type, 'sb.events.Hello');
    assert.equal(ctx.deadline, Infinity, 'a publish outside any call carries no deadline');

    const headers = raw.log[0]!.headers;
    assert.equal(headers['ce-specversion'], '1.0');
    assert.equal(headers['ce-id'], 'evt-1');
    assert.equal(headers['ce-source'], '/tests');
    assert.equal(headers['ce-type'], 'sb.events.Hello');
    assert.equal(headers['ce-subject'], 'u/1');
    assert.equal(headers['content-type'], 'application/protobuf');
    const time = Date.parse(headers['ce-time'] ?? '');
    assert.ok(time >= before - 1000 && time <= Date.now() + 1000, `ce-time ${headers['ce-time']}`);
    assert.match(headers['ce-time'] ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    assert.deepEqual({ ...helloType.decode(raw.log[0]!.payload) }, { name: 'Ada', count: 2 });
  });

  it('sends a message without the option to its full name, or where the code binds it', async () => {
    assert.equal(bus.topicOf('sb.events.Unbound'), 'sb.events.Unbound');
    const bound = new EventBus(broker, contract, { topics: { 'sb.events.Unbound': 'unbound.v1' } });
    assert.equal(bound.topicOf('sb.events.Unbound'), 'unbound.v1');
    const raw = await record(broker, 'unbound.v1');
    await bound.publish('sb.events.Unbound', { text: 'hi' });
    await waitFor(() => raw.log.length === 1);
    assert.equal(raw.log[0]!.headers['ce-type'], 'sb.events.Unbound');
    assert.throws(
      () => new EventBus(broker, contract, { topics: { 'sb.events.Hello': 'other' } }),
      /bound to topic "greet.hello" by the contract/,
    );
    await assert.rejects(bus.publish('sb.events.Nope', {}), /unknown message|no such type/);
  });

  it('writes the proto3 JSON mapping when configured for JSON, and structured mode when asked', async () => {
    const seen = await received();
    const raw = await record(broker, 'greet.hello');
    await new EventBus(broker, contract, { encoding: 'json' }).publish('sb.events.Hello', {
      name: 'j',
      count: 3,
    });
    const structured = new EventBus(broker, contract, { mode: 'structured', source: 's' });
    await structured.publish('sb.events.Hello', { name: 'p', count: 4 }, { id: 's-1' });
    await new EventBus(broker, contract, { mode: 'structured', encoding: 'json' }).publish(
      'sb.events.Hello',
      {
        name: 'q',
      },
    );
    await waitFor(() => seen.length === 3 && raw.log.length === 3);

    const [json, proto, jsonDoc] = raw.log as [Recorded, Recorded, Recorded];
    assert.equal(json.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(Buffer.from(json.payload).toString()), { name: 'j', count: 3 });

    assert.equal(proto.headers['content-type'], 'application/cloudevents+json');
    assert.equal(proto.headers['ce-id'], undefined, 'structured mode keeps the attributes in the document');
    const doc = JSON.parse(Buffer.from(proto.payload).toString());
    assert.equal(doc.specversion, '1.0');
    assert.equal(doc.id, 's-1');
    assert.equal(doc.source, 's');
    assert.equal(doc.type, 'sb.events.Hello');
    assert.equal(doc.datacontenttype, 'application/protobuf');
    assert.deepEqual(
      { ...helloType.decode(Buffer.from(doc.data_base64, 'base64')) },
      { name: 'p', count: 4 },
    );

    const docJson = JSON.parse(Buffer.from(jsonDoc.payload).toString());
    assert.deepEqual(docJson.data, { name: 'q' });
    assert.deepEqual(
      seen.map((s) => s.event.name),
      ['j', 'p', 'q'],
    );
  });

  it('reads events of foreign producers: binary mode (ce- and ce_ headers), structured mode, plain', async () => {
    const seen = await received();
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    await broker.publish('greet.hello', {
      headers: {
        'ce-specversion': '1.0',
        'ce-id': 'py-1',
        'ce-source': 'urn:python',
        'ce-type': 'sb.events.Hello',
        'Content-Type': 'application/json; charset=utf-8',
      },
      payload: utf8('{"name":"py","count":7,"addedLater":true}'),
    });
    await broker.publish('greet.hello', {
      headers: {
        ce_specversion: '1.0',
        ce_id: 'kafka-1',
        ce_source: 'urn:kafka',
        ce_type: 'sb.events.Hello',
      },
      // field 1 (name) = "hi", field 2 (count) = 5: protobuf written by hand
      payload: Uint8Array.of(0x0a, 0x02, 0x68, 0x69, 0x10, 0x05),
    });
    const document = {
      specversion: '1.0',
      id: 'go-1',
      source: 'urn:go',
      type: 'sb.events.Hello',
      datacontenttype: 'application/json',
      traceparent,
      data: { name: 'go', count: 1 },
    };
    await broker.publish('greet.hello', {
      headers: { 'content-type': 'application/cloudevents+json' },
      payload: utf8(JSON.stringify(document)),
    });
    await broker.publish('greet.hello', { id: 'plain-1', payload: Uint8Array.of(0x0a, 0x01, 0x78) });
    await waitFor(() => seen.length === 4);

    assert.deepEqual(
      seen.map(({ event }) => [event.name, event.count]),
      [
        ['py', 7],
        ['hi', 5],
        ['go', 1],
        ['x', 0],
      ],
    );
    assert.deepEqual(
      seen.map(({ ctx }) => [ctx.id, ctx.cloudEvent?.source]),
      [
        ['py-1', 'urn:python'],
        ['kafka-1', 'urn:kafka'],
        ['go-1', 'urn:go'],
        ['plain-1', undefined],
      ],
    );
    assert.equal(seen[2]!.ctx.metadata.getString('traceparent'), traceparent, 'the tracing extension');
  });

  it('dead-letters what it cannot read, with the reason, and goes on with the rest', async () => {
    const seen = await received();
    const dlq = await record(broker, 'greet.hello.dlq');
    const ce = (type = 'sb.events.Hello', extra: Record<string, string> = {}) => ({
      'ce-specversion': '1.0',
      'ce-id': `id-${type}`,
      'ce-source': 'urn:foreign',
      'ce-type': type,
      ...extra,
    });
    const bad: OutgoingMessage[] = [
      { headers: ce(), payload: Uint8Array.of(0x0a, 0x05, 0x41) }, // a string field cut short
      { headers: ce('sb.events.Other'), payload: new Uint8Array(0) },
      { headers: ce('sb.events.Hello', { 'content-type': 'text/plain' }), payload: utf8('hello') },
      { headers: { 'content-type': 'application/cloudevents+json' }, payload: utf8('{not json') },
      { headers: { ...ce(), 'ce-specversion': '0.3' }, payload: new Uint8Array(0) },
      { headers: { 'ce-specversion': '1.0', 'ce-type': 'sb.events.Hello' }, payload: new Uint8Array(0) },
      { headers: ce('sb.events.Hello', { 'x-switchboard-deadline': 'soon' }), payload: new Uint8Array(0) },
    ];
    for (const message of bad) await broker.publish('greet.hello', message);
    await bus.publish('sb.events.Hello', { name: 'good' });
    await waitFor(() => seen.length === 1 && dlq.log.length === bad.length);

    assert.equal(seen[0]!.event.name, 'good');
    const reasons = dlq.log.map((l) => l.headers['x-death-reason'] ?? '');
    const expected = [
      /^INVALID_ARGUMENT: malformed sb.events.Hello message/,
      /^INVALID_ARGUMENT: an event of type sb.events.Other on topic greet.hello/,
      /^INVALID_ARGUMENT: unsupported content type "text\/plain"/,
      /^INVALID_ARGUMENT: a structured CloudEvent must be a UTF-8 JSON document/,
      /^INVALID_ARGUMENT: unsupported CloudEvents specversion "0.3"/,
      /^INVALID_ARGUMENT: CloudEvents attribute id is missing/,
      /^INVALID_ARGUMENT: x-switchboard-deadline must be a time in epoch milliseconds/,
    ];
    for (const [i, pattern] of expected.entries()) assert.match(reasons[i]!, pattern);
    assert.ok(
      dlq.log.every((l) => l.headers['x-death-attempts'] === '1'),
      'dead-lettered on the first attempt',
    );
  });

  it('retries a failing handler with backoff, then dead-letters it, while later events flow', async () => {
    const attempts: number[] = [];
    const handled: { name: string; at: number }[] = [];
    await bus.subscribe(
      'sb.events.Hello',
      (event) => {
        if (event.name === 'poison') {
          attempts.push(Date.now());
          throw new StatusError(Status.UNAVAILABLE, 'database down');
        }
        handled.push({ name: String(event.name), at: Date.now() });
      },
      { group: 'app', maxAttempts: 3 },
    );
    const dlq = await record(broker, 'greet.hello.dlq');
    await bus.publish('sb.events.Hello', { name: 'poison' });
    for (let i = 0; i < 5; i++) await bus.publish('sb.events.Hello', { name: `ok${i}` });
    await waitFor(() => dlq.log.length === 1);

    assert.deepEqual(
      handled.map((h) => h.name),
      ['ok0', 'ok1', 'ok2', 'ok3', 'ok4'],
    );
    assert.equal(attempts.length, 3);
    assert.ok(
      handled.every((h) => h.at < attempts[1]!),
      'the others did not wait for the poison message',
    );
    assert.ok(attempts[1]! - attempts[0]! >= 15, 'first backoff');
    assert.ok(attempts[2]! - attempts[1]! >= 35, 'the backoff grows');
    assert.match(dlq.log[0]!.headers['x-death-reason'] ?? '', /UNAVAILABLE: database down/);
    assert.equal(dlq.log[0]!.headers['x-death-attempts'], '3');
  });

  it('dead-letters a non-retryable status at once, and retries a plain error', async () => {
    const calls: [string, number][] = [];
    await bus.subscribe(
      'sb.events.Hello',
      (event, ctx) => {
        calls.push([String(event.name), ctx.attempt]);
        if (event.name === 'invalid') throw new StatusError(Status.FAILED_PRECONDITION, 'no such user');
        if (event.name === 'flaky' && ctx.attempt === 1) throw new Error('connection reset');
      },
      { group: 'app' },
    );
    const dlq = await record(broker, 'greet.hello.dlq');
    await bus.publish('sb.events.Hello', { name: 'invalid' });
    await bus.publish('sb.events.Hello', { name: 'flaky' });
    await waitFor(() => dlq.log.length === 1 && calls.length === 3);
    await sleep(50);
    assert.deepEqual(calls.sort(), [
      ['flaky', 1],
      ['flaky', 2],
      ['invalid', 1],
    ]);
    assert.equal(dlq.log.length, 1);
    assert.equal(dlq.log[0]!.headers['x-death-reason'], 'FAILED_PRECONDITION: no such user');
  });
});
