import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { rejectsWith } from '../../../test/support/status.ts';
import { sleep, waitFor } from '../../../test/support/wait.ts';
import { Metadata, type Status, StatusError } from '../../contract/index.ts';
import { type CallContext, ServiceHost } from '../../core/index.ts';
import { type Broker, MemoryBroker, MemoryBrokerState } from '../../messaging/index.ts';
import { type CommandClient, commandClient } from './command-client.ts';
import { type CommandServer, type ServeCommandsOptions, serveCommands } from './command-server.ts';
import { type IdempotencyStore, MemoryIdempotencyStore } from './idempotency-store.ts';
import { eventsContract, record, type Task, type TasksService, utf8 } from './testdata/fixtures.ts';

const contract = eventsContract();
const tasks = contract.service('sb.events.Tasks');
const TOPIC = 'sb.events.Tasks.commands';
const DLQ = `${TOPIC}.dlq`;

/** A broker that loses the first ack of each command (the consumer sees it again), and counts deliveries. */
function losingFirstAck(inner: Broker, attempts: number[]): Broker {
  return {
    kind: inner.kind,
    capabilities: inner.capabilities,
    publish: (topic, message) => inner.publish(topic, message),
    subscribe: (topic, handler, options) =>
      inner.subscribe(
        topic,
        async (d) => {
          attempts.push(d.attempt);
          await handler(d);
          if (d.attempt === 1) await d.nack();
        },
        options,
      ),
    close: () => inner.close(),
  };
}

/** A store that cannot tell when a running claim settles, as a shared (Redis, SQL) one could not. */
function opaque(store: IdempotencyStore): IdempotencyStore {
  return {
    claim: async (key, leaseMs) => {
      const claim = await store.claim(key, leaseMs);
      return claim.state === 'running' ? { state: 'running' } : claim;
    },
    complete: (key, token, result) => store.complete(key, token, result),
    release: (key, token) => store.release(key, token),
  };
}

describe('commands through the queue', () => {
  let broker: MemoryBroker;
  let runs: Map<string, number>;
  let calls: CallContext[];
  let host: ServiceHost;
  let commands: CommandClient<TasksService>;
  let server: CommandServer | undefined;

  beforeEach(() => {
    broker = new MemoryBroker({ state: new MemoryBrokerState({ dedupeWindowMs: 0 }), retryBackoffMs: 10 });
    runs = new Map();
    calls = [];
    host = new ServiceHost({
      interceptors: [
        (ctx, next) => {
          calls.push(ctx);
          return next();
        },
      ],
    }).add<TasksService>(tasks, {
      run: async (task: Task, ctx) => {
        const count = (runs.get(task.id) ?? 0) + 1;
        runs.set(task.id, count);
        if (task.delayMs) await sleep(task.delayMs);
        if (task.failCode) throw new StatusError(task.failCode as Status, `failing on purpose (${count})`);
        return { id: task.id, runs: count, traceparent: ctx.metadata.getString('traceparent') ?? '' };
      },
    });
    commands = commandClient<TasksService>(tasks, broker, { source: '/tests' });
  });
  afterEach(async () => {
    await commands.close();
    await server?.close();
    server = undefined;
    await broker.close();
  });

  async function serve(options: ServeCommandsOptions = {}, on: Broker = broker): Promise<void> {
    server = await serveCommands(host, on, { maxAttempts: 3, duplicateDelayMs: 20, ...options });
  }

  it('resolves once the broker has the command, and runs it through the host like a call', async () => {
    const raw = await record(broker, TOPIC);
    await serve();
    const receipt = await commands.run({ id: 'c1' }, { idempotencyKey: 'key-1' });
    assert.equal(receipt.id, 'key-1');
    await waitFor(() => runs.get('c1') === 1);
    assert.equal(raw.log[0]!.headers['ce-type'], 'sb.events.Tasks.Run');
    assert.equal(calls.length, 1, 'server interceptors ran');
    assert.equal(calls[0]!.transport, 'queue');
    assert.equal(calls[0]!.peer, `memory:${TOPIC}`);
    assert.equal(calls[0]!.method.path, '/sb.events.Tasks/Run');
    assert.ok(calls[0]!.deadline <= Date.now() + 30_000, 'a command without a deadline gets the default');
    assert.equal(
      (commands as unknown as Record<string, unknown>).watch,
      undefined,
      'streaming methods are left out',
    );
    assert.equal(typeof (commands as unknown as Record<string, unknown>).Run, 'function', 'proto names too');
  });

  it('runs a command once when it is published twice or redelivered after its ack was lost', async () => {
    const dead = await record(broker, DLQ);
    const attempts: number[] = [];
    await serve({}, losingFirstAck(broker, attempts));
    const first = await commands.run({ id: 'twice' }, { idempotencyKey: 'k-twice' });
    const second = await commands.run({ id: 'twice' }, { idempotencyKey: 'k-twice' });
    assert.deepEqual([first.duplicate, second.duplicate], [false, false], 'this broker does not dedupe');
    await commands.run({ id: 'other' }, { idempotencyKey: 'k-other' });
    await waitFor(() => attempts.length === 6, 2000);
    await sleep(30);
    assert.deepEqual(attempts.sort(), [1, 1, 1, 2, 2, 2], 'every message was delivered again');
    assert.equal(runs.get('twice'), 1);
    assert.equal(runs.get('other'), 1);
    assert.equal(dead.log.length, 0);
  });

  it('does not run concurrent duplicates twice: the second waits and is answered from the store', async () => {
    await serve();
    const request = () =>
      commands.run.request({ id: 'slow', delayMs: 80 }, { idempotencyKey: 'same', timeoutMs: 3000 });
    const [a, b] = await Promise.all([request(), request()]);
    assert.equal(runs.get('slow'), 1);
    assert.deepEqual([a.runs, b.runs], [1, 1]);
  });

  it('polls for a running duplicate with a store that cannot signal completion', async () => {
    await serve({ store: opaque(new MemoryIdempotencyStore()), maxAttempts: 10, duplicateDelayMs: 30 });
    const request = () =>
      commands.run.request({ id: 'polled', delayMs: 80 }, { idempotencyKey: 'p', timeoutMs: 3000 });
    const [a, b] = await Promise.all([request(), request()]);
    assert.equal(runs.get('polled'), 1);
    assert.deepEqual([a.runs, b.runs], [1, 1]);
  });

  it('dead-letters a non-retryable status at once, with its code and message', async () => {
    const dead = await record(broker, DLQ);
    await serve();
    await commands.run({ id: 'bad', failCode: 3 });
    await waitFor(() => dead.log.length === 1);
    assert.equal(dead.log[0]!.headers['x-death-reason'], 'INVALID_ARGUMENT: failing on purpose (1)');
    assert.equal(dead.log[0]!.headers['x-death-attempts'], '1');
    assert.equal(runs.get('bad'), 1);
  });

  it('retries a retryable status with backoff, then dead-letters it', async () => {
    const dead = await record(broker, DLQ);
    await serve();
    await commands.run({ id: 'down', failCode: 14 });
    await waitFor(() => dead.log.length === 1);
    assert.equal(runs.get('down'), 3, 'each attempt ran: a failed run releases its claim');
    assert.match(
      dead.log[0]!.headers['x-death-reason'] ?? '',
      /max attempts reached: UNAVAILABLE: failing on purpose \(3\)/,
    );
  });

  it('dead-letters commands it cannot run: expired, unknown, streaming, untyped, malformed', async () => {
    const dead = await record(broker, DLQ);
    await commands.run({ id: 'late' }, { timeoutMs: 5 });
    await sleep(20);
    await serve({ startAt: 'earliest' });
    const ce = (type?: string) => ({
      'ce-specversion': '1.0',
      'ce-id': `id-${type}`,
      'ce-source': 'urn:foreign',
      ...(type ? { 'ce-type': type } : {}),
    });
    await broker.publish(TOPIC, { headers: ce('sb.events.Tasks.Nope'), payload: new Uint8Array(0) });
    await broker.publish(TOPIC, { headers: ce('sb.events.Tasks.Watch'), payload: new Uint8Array(0) });
    await broker.publish(TOPIC, { payload: new Uint8Array(0) });
    await broker.publish(TOPIC, { headers: ce('sb.events.Tasks.Run'), payload: Uint8Array.of(0x0a, 0x09) });
    await waitFor(() => dead.log.length === 5);
    const reasons = dead.log.map((l) => l.headers['x-death-reason'] ?? '');
    assert.match(reasons[0]!, /^DEADLINE_EXCEEDED: /);
    assert.match(reasons[1]!, /^UNIMPLEMENTED: sb.events.Tasks.Nope is no method of sb.events.Tasks/);
    assert.match(reasons[2]!, /^UNIMPLEMENTED: sb.events.Tasks.Watch streams/);
    assert.match(reasons[3]!, /^INVALID_ARGUMENT: a command needs a CloudEvents type/);
    assert.match(reasons[4]!, /^INVALID_ARGUMENT: malformed sb.events.Task message/);
    assert.equal(runs.size, 0);
  });

  it('answers a request with the typed response, carrying its trace and deadline to the handler', async () => {
    await serve();
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const parent = { metadata: new Metadata({ traceparent }), deadline: Infinity };
    const before = Date.now();
    const result = await commands.run.request({ id: 'r1' }, { timeoutMs: 2000, parent });
    assert.deepEqual({ ...result }, { id: 'r1', runs: 1, traceparent });
    assert.ok(calls[0]!.deadline >= before + 2000 && calls[0]!.deadline <= Date.now() + 2000);
    assert.equal(commands.pendingRequests, 0);

    const json = commandClient<TasksService>(tasks, broker, { encoding: 'json' });
    try {
      assert.equal((await json.run.request({ id: 'r2' }, { timeoutMs: 2000 })).id, 'r2');
    } finally {
      await json.close();
    }
  });

  it('rejects a request with the status the handler failed with', async () => {
    await serve();
    await rejectsWith(commands.run.request({ id: 'e1', failCode: 9 }), 9, /^failing on purpose \(1\)$/);
    // A retryable status is answered after the last attempt.
    await rejectsWith(commands.run.request({ id: 'e2', failCode: 14 }), 14, /failing on purpose \(3\)/);
    assert.equal(runs.get('e2'), 3);
  });

  it('times out a request nobody answers, leaves nothing behind and drops late replies quietly', async () => {
    const lonely = commandClient<TasksService>(tasks, broker, { topic: 'nobody.listens' });
    try {
      const started = Date.now();
      await rejectsWith(
        lonely.run.request({ id: 't' }, { timeoutMs: 50 }),
        4,
        /no reply before the deadline/,
      );
      assert.ok(Date.now() - started < 1000);
      assert.equal(lonely.pendingRequests, 0);
      const reply = {
        headers: { 'x-switchboard-correlation-id': 'unknown', 'x-switchboard-status': '0' },
        payload: utf8('garbage'),
      };
      await broker.publish(lonely.replyTopic, reply);
      await sleep(20);
      const controller = new AbortController();
      const cancelled = lonely.run.request({ id: 'c' }, { signal: controller.signal, timeoutMs: 5000 });
      controller.abort();
      await rejectsWith(cancelled, 1);
      assert.equal(lonely.pendingRequests, 0);
    } finally {
      await lonely.close();
    }
  });
});
