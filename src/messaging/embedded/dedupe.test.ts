/** Dedupe by message id: within the window, across a reopen, bounded in count, under races. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sleep, waitFor } from '../../../test/support/wait.ts';
import { useTempDir } from '../log/testdata/temp-dir.ts';
import { LogBroker } from './log-broker.ts';
import type { LogBrokerOptions } from './options.ts';

const bytes = (text: string) => new TextEncoder().encode(text);

describe('embedded broker: dedupe', () => {
  const tmp = useTempDir('embedded-dedupe');

  async function open(options: LogBrokerOptions = {}): Promise<LogBroker> {
    const broker = await LogBroker.open(tmp.path, options);
    tmp.closers.push(() => broker.close());
    return broker;
  }

  it('drops a second publish of one id after a reopen', { timeout: 10_000 }, async () => {
    const first = await open();
    assert.equal((await first.publish('t', { id: 'order-42', payload: bytes('1') })).duplicate, false);
    await first.close();
    const second = await open();
    const again = await second.publish('t', { id: 'order-42', payload: bytes('2') });
    assert.deepEqual(again, { id: 'order-42', duplicate: true });
    assert.equal((await second.publish('t', { id: 'order-43', payload: bytes('3') })).duplicate, false);
    const seen: string[] = [];
    await second.subscribe('t', (d) => void seen.push(`${d.id}=${Buffer.from(d.payload)}`), {
      group: 'g',
      startAt: 'earliest',
    });
    await waitFor(() => seen.length >= 2, 5000);
    await sleep(100);
    assert.deepEqual(seen.sort(), ['order-42=1', 'order-43=3']);
  });

  it('forgets an id after the window, also across a reopen', { timeout: 10_000 }, async () => {
    const first = await open({ dedupeWindowMs: 200 });
    await first.publish('t', { id: 'a', payload: bytes('') });
    assert.equal((await first.publish('t', { id: 'a', payload: bytes('') })).duplicate, true);
    await sleep(250);
    assert.equal((await first.publish('t', { id: 'a', payload: bytes('') })).duplicate, false);
    await first.close();
    await sleep(250);
    const second = await open({ dedupeWindowMs: 200 });
    assert.equal((await second.publish('t', { id: 'a', payload: bytes('') })).duplicate, false);
  });

  it('remembers at most dedupeMaxIds ids, oldest forgotten first, also across a reopen', {
    timeout: 10_000,
  }, async () => {
    const first = await open({ dedupeMaxIds: 3, partitions: 2 });
    // Apart in time, so the rebuild (which orders ids by record timestamp) sees their order.
    for (const id of ['a', 'b', 'c', 'd']) {
      await first.publish('t', { id, key: id, payload: bytes('') });
      await sleep(3);
    }
    assert.equal((await first.publish('t', { id: 'b', payload: bytes('') })).duplicate, true);
    assert.equal((await first.publish('t', { id: 'a', key: 'a', payload: bytes('') })).duplicate, false);
    await first.close();
    const second = await open({ dedupeMaxIds: 3 });
    // The log now holds a, b, c, d, a: the newest three ids are d, a and c (b is the oldest).
    assert.equal((await second.publish('t', { id: 'c', payload: bytes('') })).duplicate, true);
    assert.equal((await second.publish('t', { id: 'b', payload: bytes('') })).duplicate, false);
  });

  it('appends once when one id is published concurrently', { timeout: 10_000 }, async () => {
    const broker = await open();
    const receipts = await Promise.all(
      Array.from({ length: 10 }, () => broker.publish('t', { id: 'same', payload: bytes('x') })),
    );
    assert.equal(receipts.filter((r) => !r.duplicate).length, 1);
    const seen: string[] = [];
    await broker.subscribe('t', (d) => void seen.push(d.id), { group: 'g', startAt: 'earliest' });
    await waitFor(() => seen.length >= 1, 5000);
    await sleep(100);
    assert.deepEqual(seen, ['same']);
  });
});
