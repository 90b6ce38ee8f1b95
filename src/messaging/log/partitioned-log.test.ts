import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { PartitionedLog, type PartitionedLogOptions } from './partitioned-log.ts';
import { partitionForKey } from './partitioner.ts';
import { useTempDir } from './testdata/temp-dir.ts';

describe('PartitionedLog', () => {
  const tmp = useTempDir('topic');
  const open = async (options: PartitionedLogOptions) => {
    const topic = await PartitionedLog.open(tmp.path, options);
    tmp.closers.push(() => topic.close());
    return topic;
  };

  it('puts each key on its murmur2 partition and keeps per-key order, across concurrent appends', async () => {
    const topic = await open({ partitions: 4 });
    const keys = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'];
    const appends = [];
    for (let seq = 0; seq < 20; seq++) {
      appends.push(
        topic.append(keys.map((k) => ({ key: Buffer.from(k), value: Buffer.from(`${k}:${seq}`) }))),
      );
    }
    const placed = (await Promise.all(appends)).flat();
    assert.equal(placed.length, 120);
    for (const key of keys) {
      const partition = partitionForKey(Buffer.from(key), 4);
      assert.equal(topic.partitionFor(Buffer.from(key)), partition);
      const records = await topic.read(partition, 0, { maxRecords: 1000 });
      const mine = records.filter((r) => Buffer.from(r.key!).toString() === key);
      assert.deepEqual(
        mine.map((r) => Buffer.from(r.value).toString()),
        Array.from({ length: 20 }, (_, seq) => `${key}:${seq}`),
      );
    }
  });

  it('answers where each record went, in input order', async () => {
    const topic = await open({ partitions: 3 });
    const result = await topic.append([
      { key: Buffer.from('x'), value: Buffer.from('1') },
      { key: Buffer.from('y'), value: Buffer.from('2') },
      { key: Buffer.from('x'), value: Buffer.from('3') },
    ]);
    for (const [i, { partition, offset }] of result.entries()) {
      const [record] = await topic.read(partition, offset, { maxRecords: 1 });
      assert.equal(Buffer.from(record!.value).toString(), String(i + 1));
    }
    assert.equal(result[2]!.offset, result[0]!.offset + 1);
  });

  it('keyless records stick to one partition per completed append, and spread over time', async () => {
    const topic = await open({ partitions: 3 });
    const burst = await Promise.all(
      Array.from({ length: 30 }, () => topic.append([{ value: Buffer.from('v') }])),
    );
    assert.equal(
      new Set(burst.map(([r]) => r!.partition)).size,
      1,
      'a concurrent burst shares one partition',
    );
    const seen = new Set<number>();
    for (let i = 0; i < 6; i++) seen.add((await topic.append([{ value: Buffer.from('w') }]))[0]!.partition);
    assert.equal(seen.size, 3);
  });

  it('remembers its partition count and refuses to change it', async () => {
    await assert.rejects(PartitionedLog.open(tmp.path), /give partitions/);
    const topic = await PartitionedLog.open(tmp.path, { partitions: 2 });
    await topic.append([{ key: Buffer.from('k'), value: Buffer.from('v') }]);
    await topic.close();
    const names = await readdir(tmp.path);
    assert.deepEqual(names.sort(), ['partition-0', 'partition-1', 'topic.json']);
    await assert.rejects(PartitionedLog.open(tmp.path, { partitions: 3 }), /has 2 partitions, not 3/);
    const again = await open({});
    assert.equal(again.partitions, 2);
    const p = partitionForKey(Buffer.from('k'), 2);
    assert.equal(again.partition(p).endOffset, 1);
    assert.throws(() => again.partition(2), RangeError);
    await assert.rejects(PartitionedLog.open(`${tmp.path}/other`, { partitions: 0 }), /partitions/);
  });
});
