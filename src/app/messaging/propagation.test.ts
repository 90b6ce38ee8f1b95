import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { sleep, waitFor } from '../../../test/support/wait.ts';
import { Metadata, Status, StatusError } from '../../contract/index.ts';
import { createClient, ServiceHost } from '../../core/index.ts';
import { MemoryBroker } from '../../messaging/index.ts';
import { InprocTransport } from '../../transports/inproc/index.ts';
import { EventBus } from './event-bus.ts';
import type { EventContext } from './event-context.ts';
import { eventsContract, type Hello, record, type Task, type TasksService } from './testdata/fixtures.ts';

const contract = eventsContract();
const tasks = contract.service('sb.events.Tasks');
const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('trace context and deadlines in message headers', () => {
  let broker: MemoryBroker;
  let bus: EventBus;

  beforeEach(() => {
    broker = new MemoryBroker({ retryBackoffMs: 10 });
    bus = new EventBus(broker, contract, { inheritDeadline: true });
  });
  afterEach(() => broker.close());

  async function received() {
    const seen: { event: Hello; ctx: EventContext }[] = [];
    await bus.subscribe<Hello>('sb.events.Hello', (event, ctx) => void seen.push({ event, ctx }), {
      group: 'app',
      startAt: 'earliest',
    });
    return seen;
  }

  it('an event published inside a call carries its trace context and deadline', async () => {
    const host = new ServiceHost({ propagateContext: true }).add<TasksService>(tasks, {
      run: async (task: Task) => {
        await bus.publish<Hello>('sb.events.Hello', { name: task.id });
        return { id: task.id };
      },
    });
    const client = createClient<TasksService>(tasks, new InprocTransport(host));
    const seen = await received();
    const raw = await record(broker, 'greet.hello');
    const deadline = Date.now() + 5000;
    await client.run({ id: 't1' }, { deadline, metadata: { traceparent: TRACEPARENT, tracestate: 'sb=1' } });
    await waitFor(() => seen.length === 1 && raw.log.length === 1);

    assert.equal(raw.log[0]!.headers['x-switchboard-deadline'], String(deadline));
    assert.equal(raw.log[0]!.headers.traceparent, TRACEPARENT);
    const { ctx } = seen[0]!;
    assert.equal(ctx.deadline, deadline);
    assert.ok(ctx.timeRemaining() > 0 && ctx.timeRemaining() <= 5000);
    assert.equal(ctx.metadata.getString('traceparent'), TRACEPARENT);
    assert.equal(ctx.metadata.getString('tracestate'), 'sb=1');
    const options = ctx.callOptions();
    assert.equal(options.deadline, deadline);
    assert.equal(options.parent, null);
    assert.deepEqual(new Metadata(options.metadata).getString('traceparent'), TRACEPARENT);
  });

  it('keeps the trace but not the deadline when told so', async () => {
    const raw = await record(broker, 'greet.hello');
    const parent = { metadata: new Metadata({ traceparent: TRACEPARENT }), deadline: Date.now() + 1000 };
    await bus.publish('sb.events.Hello', { name: 'a' }, { parent, deadline: Infinity });
    await new EventBus(broker, contract, { inheritDeadline: false }).publish(
      'sb.events.Hello',
      {},
      { parent },
    );
    await bus.publish('sb.events.Hello', {}, { parent: null });
    await waitFor(() => raw.log.length === 3);
    assert.deepEqual(
      raw.log.map((l) => [l.headers.traceparent, l.headers['x-switchboard-deadline']]),
      [
        [TRACEPARENT, undefined],
        [TRACEPARENT, undefined],
        [undefined, undefined],
      ],
    );
  });

  it('dead-letters an event whose deadline passed before it was read, without running it', async () => {
    await bus.publish('sb.events.Hello', { name: 'late' }, { deadline: Date.now() + 10 });
    await sleep(30);
    const dlq = await record(broker, 'greet.hello.dlq');
    const seen = await received();
    await bus.publish('sb.events.Hello', { name: 'on time' }, { deadline: Date.now() + 5000 });
    await waitFor(() => dlq.log.length === 1 && seen.length === 1);
    assert.equal(seen[0]!.event.name, 'on time');
    assert.match(
      dlq.log[0]!.headers['x-death-reason'] ?? '',
      /^DEADLINE_EXCEEDED: the message's deadline passed/,
    );
  });

  it("aborts the handler's signal at the deadline; the retry then finds it expired", async () => {
    const reasons: unknown[] = [];
    await bus.subscribe(
      'sb.events.Hello',
      async (_event, ctx) => {
        await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
        reasons.push(ctx.signal.reason);
        throw ctx.signal.reason;
      },
      { group: 'app' },
    );
    const dlq = await record(broker, 'greet.hello.dlq');
    await bus.publish('sb.events.Hello', {}, { deadline: Date.now() + 50 });
    await waitFor(() => dlq.log.length === 1);
    assert.equal(reasons.length, 1, 'the handler ran once');
    assert.ok(reasons[0] instanceof StatusError && reasons[0].code === Status.DEADLINE_EXCEEDED);
    assert.match(
      dlq.log[0]!.headers['x-death-reason'] ?? '',
      /^DEADLINE_EXCEEDED: the message's deadline passed/,
    );
    assert.equal(dlq.log[0]!.headers['x-death-attempts'], '2');
  });
});
