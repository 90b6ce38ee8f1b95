import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { LogClosedError } from './errors.ts';
import { OffsetStore } from './offset-store.ts';
import { useTempDir } from './testdata/temp-dir.ts';

describe('OffsetStore', () => {
  const tmp = useTempDir('offsets');
  const open = async () => {
    const store = await OffsetStore.open(tmp.path);
    tmp.closers.push(() => store.close());
    return store;
  };

  it('commits per (group, topic, partition) and finds them after a reopen', async () => {
    const store = await open();
    await store.commit('billing', 'orders', 0, 17);
    await store.commit('billing', 'orders', 1, 4);
    await store.commit('audit', 'orders', 0, 99);
    await store.commitAll([
      { group: 'billing', topic: 'refunds', partition: 0, offset: 3 },
      { group: '__proto__', topic: '"]', partition: 2, offset: 0 },
    ]);
    await store.close();
    const again = await open();
    assert.equal(again.get('billing', 'orders', 0), 17);
    assert.equal(again.get('billing', 'orders', 1), 4);
    assert.equal(again.get('audit', 'orders', 0), 99);
    assert.equal(again.get('__proto__', '"]', 2), 0);
    assert.equal(again.get('billing', 'orders', 2), undefined);
    assert.deepEqual(
      again.list('billing', 'orders').map((c) => [c.partition, c.offset]),
      [
        [0, 17],
        [1, 4],
      ],
    );
    assert.equal(again.list('billing').length, 3);
    await again.deleteGroup('billing');
    await again.close();
    const third = await open();
    assert.deepEqual(third.list('billing'), []);
    assert.equal(third.get('audit', 'orders', 0), 99);
  });

  it('coalesces concurrent commits into few writes, each commit durable when it resolves', async () => {
    const store = await open();
    await Promise.all(Array.from({ length: 200 }, (_, i) => store.commit('g', 't', i % 4, i)));
    assert.ok(store.writes <= 3, `${store.writes} writes for 200 commits`);
    const saved = JSON.parse(await readFile(path.join(tmp.path, 'offsets.json'), 'utf8'));
    assert.equal(saved.offsets.length, 4);
    assert.deepEqual(
      [0, 1, 2, 3].map((p) => store.get('g', 't', p)),
      [196, 197, 198, 199],
    );
  });

  it('ignores a temporary file a crash left behind', async () => {
    const store = await open();
    await store.commit('g', 't', 0, 5);
    await store.close();
    await writeFile(path.join(tmp.path, 'offsets.json.tmp'), '{"format":"switchboard-off');
    const again = await open();
    assert.equal(again.get('g', 't', 0), 5);
  });

  it('refuses a damaged file rather than guessing offsets', async () => {
    const store = await open();
    await store.commit('g', 't', 0, 1234);
    await store.close();
    const file = path.join(tmp.path, 'offsets.json');
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replace('1234', '1284'));
    await assert.rejects(OffsetStore.open(tmp.path), /checksum mismatch; refusing to guess/);
    await writeFile(file, text.slice(0, 20));
    await assert.rejects(OffsetStore.open(tmp.path), /not valid JSON/);
  });

  it('refuses bad commits and commits after close', async () => {
    const store = await open();
    await assert.rejects(store.commit('g', 't', -1, 0), /partition/);
    await assert.rejects(store.commit('g', 't', 0, 1.5), /offset/);
    await assert.rejects(store.commit('g', 't', 0, -3), /offset/);
    await store.close();
    await assert.rejects(store.commit('g', 't', 0, 1), LogClosedError);
  });
});
