import assert from 'node:assert/strict';
import { it } from 'node:test';
import { brokerConformance } from '../../../test/conformance/broker-suite.ts';
import { sleep, waitFor } from '../../../test/support/wait.ts';
import { MemoryBroker } from './broker.ts';
import { MemoryBrokerState } from './state.ts';

const shared = new MemoryBrokerState();

brokerConformance({
  name: 'memory',
  capabilities: {
    orderingPerKey: true,
    persistence: false,
    consumerGroups: true,
    replay: true,
    delayedRedelivery: true,
    dedupe: true,
  },
  broker: async () => new MemoryBroker({ state: shared, drainTimeoutMs: 300, retryBackoffMs: 20 }),
});

it('keeps separate states apart', async () => {
  const a = new MemoryBroker();
  const b = new MemoryBroker();
  const seen: string[] = [];
  const sub = await b.subscribe('t', (d) => void seen.push(d.id), { group: 'g' });
  await a.publish('t', { payload: new Uint8Array([1]) });
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.deepEqual(seen, []);
  await sub.close();
  await Promise.all([a.close(), b.close()]);
});

it('refuses to publish once closed', async () => {
  const broker = new MemoryBroker();
  await broker.close();
  await assert.rejects(broker.publish('t', { payload: new Uint8Array() }), /closed/);
});

it('redelivers a delivery not settled within ackTimeoutMs and ignores its late ack', async () => {
  const broker = new MemoryBroker();
  const attempts: number[] = [];
  let late: (() => Promise<void>) | undefined;
  await broker.subscribe(
    't',
    async (d) => {
      attempts.push(d.attempt);
      if (d.attempt === 1) {
        late = () => d.ack();
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
    },
    { group: 'g', ackTimeoutMs: 50 },
  );
  await broker.publish('t', { payload: new Uint8Array([1]) });
  await waitFor(() => attempts.length >= 2, 2000);
  await late?.();
  await sleep(200);
  assert.deepEqual(attempts, [1, 2]);
  await broker.close();
});

it('copies the payload at publish and documents the dead letter in headers', async () => {
  const broker = new MemoryBroker();
  const letters: Record<string, string>[] = [];
  const payloads: number[][] = [];
  await broker.subscribe('t.dlq', (d) => void letters.push({ ...d.headers }), { group: 'd' });
  await broker.subscribe(
    't',
    (d) => {
      payloads.push([...d.payload]);
      return d.term('no');
    },
    { group: 'g' },
  );
  const payload = new Uint8Array([1, 2]);
  await broker.publish('t', { payload, headers: { a: 'b' } });
  payload[0] = 9;
  await waitFor(() => letters.length === 1, 2000);
  assert.deepEqual(payloads, [[1, 2]]);
  assert.deepEqual(letters[0], {
    a: 'b',
    'x-death-reason': 'no',
    'x-death-attempts': '1',
    'x-death-topic': 't',
    'x-death-group': 'g',
  });
  await broker.close();
});

it('replays only the retained messages', async () => {
  const state = new MemoryBrokerState({ retainMessages: 4 });
  const broker = new MemoryBroker({ state });
  for (let i = 0; i < 10; i++) await broker.publish('t', { payload: new Uint8Array([i]) });
  const seen: number[] = [];
  await broker.subscribe('t', (d) => void seen.push(d.payload[0]!), { group: 'g', startAt: 'earliest' });
  await waitFor(() => seen.length >= 4, 2000);
  await sleep(50);
  assert.deepEqual(seen, [6, 7, 8, 9]);
  await broker.close();
});
