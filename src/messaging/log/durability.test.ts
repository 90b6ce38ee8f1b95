import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { describe, it } from 'node:test';
import type { SyncEvent } from './durability.ts';
import { LogFailedError } from './errors.ts';
import { SegmentLog, type SegmentLogOptions } from './segment-log.ts';
import { useTempDir } from './testdata/temp-dir.ts';
import { valueFor } from './testdata/values.ts';

const record = (i: number) => [{ value: valueFor(`r${i}`, 1024) }];

describe('SegmentLog durability', () => {
  const tmp = useTempDir('log-fsync');
  /** Opens a log that records each fsync and checks every append resolves after one covered it. */
  const open = async (options: SegmentLogOptions) => {
    const syncs: SyncEvent[] = [];
    let syncedRecords = 0;
    const log = await SegmentLog.open(tmp.path, {
      ...options,
      onSync: (e) => {
        syncs.push(e);
        syncedRecords += e.records;
      },
    });
    tmp.closers.push(() => log.close());
    const append = async (i: number) => {
      const offset = await log.append(record(i));
      if (options.fsync !== 'never') {
        assert.ok(syncedRecords > offset, `offset ${offset} resolved before an fsync covered it`);
      }
      return offset;
    };
    return { log, syncs, append };
  };

  it('group commit: 300 concurrent appends share a few fsyncs, and none resolves before its fsync', async () => {
    const { log, syncs, append } = await open({ fsync: { groupCommitMs: 20 } });
    const offsets = await Promise.all(Array.from({ length: 300 }, (_, i) => append(i)));
    assert.deepEqual(
      offsets,
      Array.from({ length: 300 }, (_, i) => i),
    );
    assert.ok(syncs.length >= 1 && syncs.length <= 4, `${syncs.length} fsyncs for 300 appends`);
    assert.equal(
      syncs.reduce((n, e) => n + e.appends, 0),
      300,
    );
    assert.equal(log.endOffset, 300);
  });

  it('group commit: sequential appends get at most one fsync per window', async () => {
    const { syncs, append } = await open({ fsync: { groupCommitMs: 25 } });
    const started = performance.now();
    let i = 0;
    while (performance.now() - started < 150) await append(i++);
    const windows = Math.ceil((performance.now() - started) / 25);
    assert.ok(syncs.length <= windows + 1, `${syncs.length} fsyncs in ${windows} windows`);
    assert.ok(i >= syncs.length);
  });

  it("'always': one fsync per append when they come one by one; concurrent appends still share", async () => {
    const { syncs, append } = await open({ fsync: 'always' });
    for (let i = 0; i < 20; i++) await append(i);
    assert.equal(syncs.length, 20);
    syncs.length = 0;
    await Promise.all(Array.from({ length: 200 }, (_, i) => append(20 + i)));
    assert.ok(syncs.length < 200, `${syncs.length} fsyncs for 200 concurrent appends`);
    assert.equal(
      syncs.reduce((n, e) => n + e.appends, 0),
      200,
    );
  });

  it("'never': appends resolve after the write, with no fsync", async () => {
    const { log, syncs, append } = await open({ fsync: 'never' });
    await Promise.all(Array.from({ length: 50 }, (_, i) => append(i)));
    assert.equal(syncs.length, 0);
    assert.equal(log.endOffset, 50);
  });

  it('a record is not readable before its append resolves', async () => {
    const { log } = await open({ fsync: { groupCommitMs: 40 } });
    await log.append(record(0));
    const pending = log.append(record(1));
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(log.endOffset, 1);
    assert.deepEqual(
      (await log.read(0)).map((r) => r.offset),
      [0],
    );
    await pending;
    assert.deepEqual(
      (await log.read(0)).map((r) => r.offset),
      [0, 1],
    );
  });

  it('a failed write fails the log: pending and later appends reject, close still returns', async () => {
    const { log } = await open({ fsync: 'always', segmentBytes: 4096 });
    await log.append(record(0));
    await log.append(record(1));
    await log.append(record(2));
    // The next append must roll, and creating the new segment fails: the directory is gone.
    await rm(tmp.path, { recursive: true, force: true });
    const failing = log.append(record(3));
    const queued = log.append(record(4));
    await assert.rejects(failing, LogFailedError);
    await assert.rejects(queued, LogFailedError);
    await assert.rejects(log.append(record(5)), (err: unknown) => {
      assert.ok(err instanceof LogFailedError);
      assert.match(err.message, /ENOENT/);
      return true;
    });
    assert.equal(log.endOffset, 3);
    await log.close();
  });
});
