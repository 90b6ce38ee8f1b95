/** Dead letters: headers as MemoryBroker writes them, `false` drops, and durability across a reopen. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sleep, waitFor } from '../../../test/support/wait.ts';
import type { Delivery } from '../broker.ts';
import { useTempDir } from '../log/testdata/temp-dir.ts';
import { LogBroker } from './log-broker.ts';

const bytes = (text: string) => new TextEncoder().encode(text);

describe('embedded broker: dead letters', () => {
  const tmp = useTempDir('embedded-dlq');

  async function open(): Promise<LogBroker> {
    const broker = await LogBroker.open(tmp.path, { drainTimeoutMs: 50, retryBackoffMs: 5 });
    tmp.closers.push(() => broker.close());
    return broker;
  }

  it('dead-letters after maxAttempts of a throwing handler, with the x-death headers', {
    timeout: 10_000,
  }, async () => {
    const broker = await open();
    const letters: Delivery[] = [];
    await broker.subscribe('pay.dlq', (d) => void letters.push(d), { group: 'ops', startAt: 'earliest' });
    const attempts: number[] = [];
    await broker.subscribe(
      'pay',
      (d) => {
        attempts.push(d.attempt);
        throw new Error('boom');
      },
      { group: 'billing', maxAttempts: 3 },
    );
    await broker.publish('pay', {
      id: 'p1',
      key: 'c7',
      headers: { origin: 'test' },
      payload: bytes('poison'),
    });
    await waitFor(() => letters.length === 1, 5000);
    const letter = letters[0]!;
    assert.equal(letter.id, 'p1');
    assert.equal(letter.key, 'c7');
    assert.equal(Buffer.from(letter.payload).toString(), 'poison');
    assert.deepEqual(letter.headers, {
      origin: 'test',
      'x-death-reason': 'max attempts reached: boom',
      'x-death-attempts': '3',
      'x-death-topic': 'pay',
      'x-death-group': 'billing',
    });
    await sleep(100);
    assert.deepEqual(attempts, [1, 2, 3]);
  });

  it('drops after maxAttempts when deadLetterTopic is false, and moves on', { timeout: 10_000 }, async () => {
    const broker = await open();
    const seen: string[] = [];
    await broker.subscribe(
      't',
      (d) => {
        seen.push(`${Buffer.from(d.payload)}#${d.attempt}`);
        return Buffer.from(d.payload).toString() === 'bad' ? d.nack() : undefined;
      },
      { group: 'g', maxAttempts: 2, deadLetterTopic: false },
    );
    await broker.publish('t', { key: 'k', payload: bytes('bad') });
    await broker.publish('t', { key: 'k', payload: bytes('good') });
    await waitFor(() => seen.includes('good#1'), 5000);
    assert.deepEqual(seen, ['bad#1', 'bad#2', 'good#1']);
    await broker.close();
    const reopened = await open();
    const after: string[] = [];
    await reopened.subscribe('t', (d) => void after.push(d.id), { group: 'g' });
    await sleep(200);
    assert.deepEqual(after, [], 'the dropped message is not redelivered after a reopen');
  });

  it('keeps a terminated message in the dead-letter topic across a reopen', { timeout: 10_000 }, async () => {
    const broker = await open();
    const termed: string[] = [];
    await broker.subscribe(
      'orders',
      async (d) => {
        termed.push(d.id);
        await d.term('invalid order');
      },
      { group: 'g', deadLetterTopic: 'orders.rejected' },
    );
    const { id } = await broker.publish('orders', { payload: bytes('x') });
    await waitFor(() => termed.length === 1, 5000);
    await broker.close();
    const reopened = await open();
    const letters: Delivery[] = [];
    const redelivered: string[] = [];
    await reopened.subscribe('orders.rejected', (d) => void letters.push(d), {
      group: 'ops',
      startAt: 'earliest',
    });
    await reopened.subscribe('orders', (d) => void redelivered.push(d.id), { group: 'g' });
    await waitFor(() => letters.length === 1, 5000);
    assert.equal(letters[0]!.id, id);
    assert.equal(letters[0]!.headers['x-death-reason'], 'invalid order');
    assert.equal(letters[0]!.headers['x-death-attempts'], '1');
    await sleep(100);
    assert.deepEqual(redelivered, []);
  });
});
