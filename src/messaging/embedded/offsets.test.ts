/**
 * Consumer-group positions across a reopen: the group resumes at its low-water mark (the first
 * unsettled message) per partition, so nothing is lost, and the only duplicates are messages
 * settled after that mark in the same partition.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sleep, waitFor } from '../../../test/support/wait.ts';
import { useTempDir } from '../log/testdata/temp-dir.ts';
import { LogBroker } from './log-broker.ts';

const bytes = (text: string) => new TextEncoder().encode(text);

describe('embedded broker: offsets across reopen', () => {
  const tmp = useTempDir('embedded-offsets');

  async function open(): Promise<LogBroker> {
    const broker = await LogBroker.open(tmp.path, { drainTimeoutMs: 50, commitIntervalMs: 20 });
    tmp.closers.push(() => broker.close());
    return broker;
  }

  it('resumes at the first unsettled message of each partition', { timeout: 15_000 }, async () => {
    const first = await open();
    const positions = new Map<string, [number, number]>();
    const receipts = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        first.publish('orders', { id: `m${i}`, key: `k${i}`, payload: bytes(`m${i}`) }),
      ),
    );
    for (const receipt of receipts) {
      const [partition, offset] = receipt.position!.split(':').map(Number);
      positions.set(receipt.id, [partition!, offset!]);
    }
    const stuck = 'm50';
    const acked = new Set<string>();
    const sub = await first.subscribe(
      'orders',
      (d) => {
        if (d.id === stuck) return new Promise(() => {}); // never settles
        acked.add(d.id);
      },
      { group: 'billing', startAt: 'earliest', maxInFlight: 16 },
    );
    await waitFor(() => acked.size === 299, 10_000);
    await sub.close();
    await first.close();

    const second = await open();
    const again: string[] = [];
    await second.subscribe('orders', (d) => void again.push(d.id), { group: 'billing', startAt: 'earliest' });
    await waitFor(() => again.includes(stuck), 5000);
    await sleep(200);
    const [stuckPartition, stuckOffset] = positions.get(stuck)!;
    const expected = [...positions]
      .filter(([, [p, o]]) => p === stuckPartition && o >= stuckOffset)
      .map(([id]) => id);
    assert.deepEqual(
      again.sort(),
      expected.sort(),
      'the stuck message and what followed it in its partition',
    );
    assert.ok(expected.length < 300 / 2, `duplicates bounded by one partition (${expected.length})`);
  });

  it('delivers nothing twice after a clean close with everything acked', { timeout: 15_000 }, async () => {
    const first = await open();
    const seen: string[] = [];
    const sub = await first.subscribe('t', (d) => void seen.push(d.id), { group: 'g', startAt: 'earliest' });
    await Promise.all(
      Array.from({ length: 100 }, (_, i) => first.publish('t', { key: `k${i % 5}`, payload: bytes(`${i}`) })),
    );
    await waitFor(() => seen.length === 100, 5000);
    await sub.close();
    await first.close();
    const second = await open();
    const later: string[] = [];
    await second.subscribe('t', (d) => void later.push(d.id), { group: 'g', startAt: 'earliest' });
    const { id } = await second.publish('t', { payload: bytes('new') });
    await waitFor(() => later.length >= 1, 5000);
    await sleep(100);
    assert.deepEqual(later, [id]);
  });

  it('keeps the start of a group created at latest across a reopen', { timeout: 15_000 }, async () => {
    const first = await open();
    await first.publish('t', { payload: bytes('before the group') });
    await (await first.subscribe('t', () => {}, { group: 'late', startAt: 'latest' })).close();
    const { id } = await first.publish('t', { payload: bytes('after the group') });
    await first.close();
    const second = await open();
    const seen: string[] = [];
    await second.subscribe('t', (d) => void seen.push(d.id), { group: 'late', startAt: 'latest' });
    await waitFor(() => seen.length >= 1, 5000);
    await sleep(100);
    assert.deepEqual(seen, [id]);
  });

  it('commits in batches, not once per ack', { timeout: 15_000 }, async () => {
    const broker = await open();
    let handled = 0;
    await broker.subscribe('t', () => void handled++, { group: 'g', startAt: 'earliest' });
    const writesBefore = broker.offsetWrites;
    await Promise.all(Array.from({ length: 500 }, (_, i) => broker.publish('t', { payload: bytes(`${i}`) })));
    await waitFor(() => handled === 500, 5000);
    await sleep(100);
    const writes = broker.offsetWrites - writesBefore;
    assert.ok(writes >= 1 && writes < 50, `${writes} offset writes for 500 acks`);
  });
});
