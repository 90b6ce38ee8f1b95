/**
 * What the broker leaves on disk: topics as partitioned logs under names that are safe as
 * directory names, the record layout, retention.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { sleep, waitFor } from '../../../test/support/wait.ts';
import { PartitionedLog } from '../log/index.ts';
import { useTempDir } from '../log/testdata/temp-dir.ts';
import { decodeEnvelope, FLAG_GENERATED_ID } from './envelope.ts';
import { LogBroker } from './log-broker.ts';
import { validateTopicName } from './topic-name.ts';

const topicFile = async (dir: string, topic: string) =>
  JSON.parse(await readFile(path.join(dir, 'topics', topic, 'topic.json'), 'utf8')) as { partitions: number };

const BAD = [
  '',
  '.',
  '..',
  '../escape',
  'a/b',
  '/abs',
  'a\\b',
  'c:d',
  'nul\u0000byte',
  'bell\u0007',
  'del\u007f',
  'a..b',
  'tab\tname',
  'x'.repeat(250),
  'é'.repeat(125), // 125 characters, 250 bytes
  'lone\ud800',
];

describe('embedded broker: storage', () => {
  const tmp = useTempDir('embedded-storage');

  it('refuses unsafe names with a TypeError and creates nothing', { timeout: 10_000 }, async () => {
    const broker = await LogBroker.open(path.join(tmp.path, 'broker'));
    tmp.closers.push(() => broker.close());
    for (const name of BAD) {
      const label = JSON.stringify(name);
      assert.throws(() => validateTopicName('topic', name), TypeError, label);
      await assert.rejects(broker.publish(name, { payload: new Uint8Array(1) }), TypeError, label);
      await assert.rejects(
        broker.subscribe(name, () => {}, { group: 'g' }),
        TypeError,
        label,
      );
      await assert.rejects(
        broker.subscribe('ok', () => {}, { group: 'g', deadLetterTopic: name }),
        TypeError,
        `dead-letter ${label}`,
      );
    }
    assert.deepEqual(await readdir(tmp.path), ['broker']);
    assert.deepEqual(await readdir(path.join(tmp.path, 'broker', 'topics')), []);
  });

  it('accepts the usual names, and refuses a topic whose default dead-letter name is too long', async () => {
    for (const name of ['orders', 'orders.v1', 'billing-events_2', 'x'.repeat(249), 'ünïcode']) {
      assert.equal(validateTopicName('topic', name), name);
    }
    const broker = await LogBroker.open(tmp.path);
    tmp.closers.push(() => broker.close());
    await broker.publish('orders.v1', { payload: new Uint8Array(1) });
    await assert.rejects(
      broker.subscribe('x'.repeat(249), () => {}, { group: 'g' }),
      TypeError,
    );
    await broker.subscribe('x'.repeat(249), () => {}, { group: 'g', deadLetterTopic: false });
    assert.deepEqual((await readdir(path.join(tmp.path, 'topics'))).sort(), ['orders.v1', 'x'.repeat(249)]);
  });

  it('creates topics with the partition count, and an existing topic keeps its own', {
    timeout: 10_000,
  }, async () => {
    const first = await LogBroker.open(tmp.path);
    await first.publish('default', { payload: new Uint8Array() });
    await first.close();
    const second = await LogBroker.open(tmp.path, { partitions: 7 });
    tmp.closers.push(() => second.close());
    await second.publish('default', { payload: new Uint8Array() });
    await second.publish('seven', { payload: new Uint8Array() });
    assert.equal((await topicFile(tmp.path, 'default')).partitions, 4);
    assert.equal((await topicFile(tmp.path, 'seven')).partitions, 7);
  });

  it('stores key and headers in their slots and the id before the payload', { timeout: 10_000 }, async () => {
    const broker = await LogBroker.open(tmp.path, { partitions: 2 });
    const keyed = await broker.publish('t', {
      id: 'm-1',
      key: 'customer-7',
      headers: { a: 'b' },
      payload: Buffer.from('hi'),
    });
    const generated = await broker.publish('t', { payload: Buffer.from('anon') });
    await broker.close();
    const log = await PartitionedLog.open(path.join(tmp.path, 'topics', 't'));
    tmp.closers.push(() => log.close());
    const [partition, offset] = keyed.position!.split(':').map(Number);
    assert.equal(
      partition,
      log.partitionFor(Buffer.from('customer-7')),
      'murmur2 of the key picks the partition',
    );
    const [record] = await log.read(partition!, offset!, { maxRecords: 1 });
    assert.equal(Buffer.from(record!.key!).toString(), 'customer-7');
    assert.deepEqual({ ...record!.headers }, { a: 'b' });
    assert.deepEqual(
      Buffer.from(record!.value),
      Buffer.concat([Buffer.from([1, 0, 0, 3]), Buffer.from('m-1hi')]),
    );
    const [p2, o2] = generated.position!.split(':').map(Number);
    const [anon] = await log.read(p2!, o2!, { maxRecords: 1 });
    assert.equal(anon!.key, null);
    const envelope = decodeEnvelope(anon!.value)!;
    assert.equal(envelope.id, generated.id);
    assert.equal(envelope.flags, FLAG_GENERATED_ID);
  });

  it('delivers a record some other writer appended, named by its position', { timeout: 10_000 }, async () => {
    const log = await PartitionedLog.open(path.join(tmp.path, 'topics', 'raw'), { partitions: 1 });
    await log.append([{ value: Buffer.from('plain'), headers: { h: '1' } }]);
    await log.close();
    const broker = await LogBroker.open(tmp.path);
    tmp.closers.push(() => broker.close());
    const seen: { id: string; payload: string; headers: object }[] = [];
    await broker.subscribe(
      'raw',
      (d) =>
        void seen.push({ id: d.id, payload: Buffer.from(d.payload).toString(), headers: { ...d.headers } }),
      { group: 'g', startAt: 'earliest' },
    );
    await waitFor(() => seen.length === 1, 5000);
    assert.deepEqual(seen, [{ id: '0:0', payload: 'plain', headers: { h: '1' } }]);
  });

  it('moves a group whose position retention deleted to the oldest record kept', {
    timeout: 10_000,
  }, async () => {
    const options = { partitions: 1, segmentBytes: 2048, retention: { maxBytes: 4096, checkIntervalMs: 0 } };
    const broker = await LogBroker.open(tmp.path, options);
    tmp.closers.push(() => broker.close());
    await (await broker.subscribe('t', () => {}, { group: 'g', startAt: 'earliest' })).close();
    const ids: string[] = [];
    for (let i = 0; i < 100; i++) ids.push((await broker.publish('t', { payload: new Uint8Array(200) })).id);
    await sleep(50); // retention runs in the background after each roll
    const seen: string[] = [];
    await broker.subscribe('t', (d) => void seen.push(d.id), { group: 'g', startAt: 'earliest' });
    await waitFor(() => seen.at(-1) === ids.at(-1), 5000);
    assert.ok(seen.length < ids.length, `retention deleted old records (${seen.length} left)`);
    assert.deepEqual(seen, ids.slice(ids.length - seen.length), 'every record kept, from the oldest on');
  });
});
