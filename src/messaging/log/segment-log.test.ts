import assert from 'node:assert/strict';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { LogClosedError, OffsetOutOfRangeError } from './errors.ts';
import type { AppendRecord } from './record.ts';
import { SegmentLog, type SegmentLogOptions } from './segment-log.ts';
import { useTempDir } from './testdata/temp-dir.ts';
import { valueFor } from './testdata/values.ts';

const text = (bytes: Uint8Array | null) => (bytes === null ? null : Buffer.from(bytes).toString());

function numbered(from: number, count: number, size = 100): AppendRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    key: Buffer.from(`k${from + i}`),
    value: valueFor(`r${from + i}`, size),
    headers: { n: String(from + i) },
  }));
}

describe('SegmentLog', () => {
  const tmp = useTempDir('segment-log');
  const open = async (options: SegmentLogOptions = {}, dir = tmp.path) => {
    const log = await SegmentLog.open(dir, options);
    tmp.closers.push(() => log.close());
    return log;
  };

  it('appends and reads back records whole: empty and 1 MiB values, keys, headers, timestamps', async () => {
    const log = await open();
    const big = valueFor('big', 1 << 20);
    const first = await log.append([
      { value: new Uint8Array(0) },
      { value: big, key: Buffer.from('big-key'), headers: { 'content-type': 'application/octet-stream' } },
      { value: Buffer.from('hi'), key: new Uint8Array(0), headers: { a: '', 'ü-☃': 'ë😀' }, timestamp: 1234 },
    ]);
    assert.equal(first, 0);
    assert.equal(log.endOffset, 3);
    assert.equal(
      (await log.read(0)).length,
      1,
      'the 1 MiB record does not fit in the default 1 MiB maxBytes',
    );
    const records = await log.read(0, { maxBytes: 2 << 20 });
    assert.deepEqual(
      records.map((r) => [r.offset, text(r.key), r.headers, r.value.length]),
      [
        [0, null, {}, 0],
        [1, 'big-key', { 'content-type': 'application/octet-stream' }, 1 << 20],
        [2, '', { a: '', 'ü-☃': 'ë😀' }, 2],
      ],
    );
    assert.ok(Buffer.from(records[1]!.value).equals(big));
    assert.equal(records[2]!.timestamp, 1234);
    assert.ok(Math.abs(records[0]!.timestamp - Date.now()) < 10_000);
  });

  it('gives consecutive offsets in call order to concurrent appends', async () => {
    const log = await open();
    const firsts = await Promise.all(Array.from({ length: 50 }, (_, i) => log.append(numbered(i * 2, 2))));
    assert.deepEqual(
      firsts,
      Array.from({ length: 50 }, (_, i) => i * 2),
    );
    const records = await log.read(0, { maxRecords: 1000 });
    assert.deepEqual(
      records.map((r) => r.headers.n),
      Array.from({ length: 100 }, (_, i) => String(i)),
    );
  });

  it('rolls segments at the size limit and reads across them from any offset', async () => {
    const log = await open({ segmentBytes: 2048, indexIntervalBytes: 300 });
    for (let i = 0; i < 60; i += 3) await log.append(numbered(i, 3));
    assert.ok(log.segmentCount >= 5, `only ${log.segmentCount} segments`);
    const files = (await readdir(tmp.path)).filter((f) => f.endsWith('.log')).sort();
    assert.equal(files[0], '00000000000000000000.log');
    for (const f of files) assert.ok((await stat(path.join(tmp.path, f))).size <= 2048, `${f} too big`);
    for (const from of [0, 1, 7, 8, 9, 29, 30, 31, 58, 59]) {
      const records = await log.read(from, { maxRecords: 25 });
      assert.deepEqual(
        records.map((r) => r.offset),
        Array.from({ length: Math.min(25, 60 - from) }, (_, i) => from + i),
        `from ${from}`,
      );
      assert.ok(records.every((r) => text(r.key) === `k${r.offset}`));
    }
  });

  it('keeps a batch larger than a segment whole in one segment', async () => {
    const log = await open({ segmentBytes: 1024 });
    await log.append(numbered(0, 2));
    await log.append(numbered(2, 30));
    await log.append(numbered(32, 1));
    const records = await log.read(0, { maxRecords: 100 });
    assert.equal(records.length, 33);
    assert.equal(log.segmentCount, 3);
  });

  it('honours maxRecords and maxBytes, and returns an oversized first record anyway', async () => {
    const log = await open({ segmentBytes: 4096 });
    await log.append(numbered(0, 40, 200));
    assert.equal((await log.read(0, { maxRecords: 7 })).length, 7);
    const sized = await log.read(3, { maxBytes: 900 });
    assert.equal(sized.length, 3, 'about 250 bytes each: 3 fit in 900');
    assert.equal(sized[0]!.offset, 3);
    const one = await log.read(5, { maxBytes: 10 });
    assert.deepEqual(
      one.map((r) => r.offset),
      [5],
    );
  });

  it('reopens after a clean close with every record, no scan, and appends on', async () => {
    const first = await open({ segmentBytes: 2048 });
    await first.append(numbered(0, 30));
    await first.close();
    const log = await open({ segmentBytes: 2048 });
    assert.equal(log.recovery.scannedBytes, 0);
    assert.equal(log.recovery.rebuiltIndexes, 0);
    assert.deepEqual(log.recovery.truncations, []);
    assert.equal(log.startOffset, 0);
    assert.equal(log.endOffset, 30);
    assert.equal(await log.append(numbered(30, 5)), 30);
    const records = await log.read(0, { maxRecords: 100 });
    assert.deepEqual(
      records.map((r) => r.headers.n),
      Array.from({ length: 35 }, (_, i) => String(i)),
    );
  });

  it('reads at the end give nothing; outside the log, OffsetOutOfRangeError', async () => {
    const log = await open();
    await log.append(numbered(0, 3));
    assert.deepEqual(await log.read(3), []);
    await assert.rejects(log.read(4), (err: unknown) => {
      assert.ok(err instanceof OffsetOutOfRangeError);
      assert.deepEqual(
        [err.offset, err.startOffset, err.endOffset, err.code],
        [4, 0, 3, 'OFFSET_OUT_OF_RANGE'],
      );
      return true;
    });
    await assert.rejects(log.read(-1), OffsetOutOfRangeError);
    await assert.rejects(log.read(1.5), RangeError);
  });

  it('refuses bad records without assigning offsets', async () => {
    const log = await open({ maxRecordBytes: 1000 });
    await assert.rejects(
      log.append([{ value: Buffer.alloc(10) }, { value: Buffer.alloc(2000) }]),
      /record 1/,
    );
    await assert.rejects(log.append([{ value: 'x' as unknown as Uint8Array }]), TypeError);
    assert.equal(await log.append([{ value: Buffer.alloc(1) }]), 0);
    assert.equal(await log.append([]), 1);
  });

  it('refuses bad options', async () => {
    await assert.rejects(SegmentLog.open(tmp.path, { segmentBytes: 0 }), /segmentBytes/);
    await assert.rejects(SegmentLog.open(tmp.path, { fsync: { groupCommitMs: -1 } }), /fsync/);
    await assert.rejects(SegmentLog.open(tmp.path, { fsync: 'sometimes' as 'never' }), /fsync/);
    await assert.rejects(SegmentLog.open(tmp.path, { retention: { maxBytes: -5 } }), /retention.maxBytes/);
  });

  it('after close: appends and reads fail with LogClosedError; appends queued before close complete', async () => {
    const log = await open({ fsync: { groupCommitMs: 50 } });
    const pending = log.append(numbered(0, 5));
    const closed = log.close();
    await assert.rejects(log.append(numbered(5, 1)), LogClosedError);
    assert.equal(await pending, 0);
    await closed;
    await assert.rejects(log.read(0), LogClosedError);
    const again = await open();
    assert.equal(again.endOffset, 5);
  });

  it('rolls on demand; an empty active segment is not rolled', async () => {
    const log = await open();
    await log.roll();
    assert.equal(log.segmentCount, 1);
    await log.append(numbered(0, 2));
    await log.roll();
    await log.append(numbered(2, 2));
    assert.equal(log.segmentCount, 2);
    assert.deepEqual(
      (await log.read(1)).map((r) => r.offset),
      [1, 2, 3],
    );
  });
});
