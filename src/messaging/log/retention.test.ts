import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { waitFor } from '../../../test/support/wait.ts';
import { OffsetOutOfRangeError } from './errors.ts';
import type { AppendRecord } from './record.ts';
import { activeExpired, segmentsToDelete } from './retention.ts';
import { SegmentLog, type SegmentLogOptions } from './segment-log.ts';
import { useTempDir } from './testdata/temp-dir.ts';
import { valueFor } from './testdata/values.ts';

class FakeClock {
  constructor(public ms: number) {}
  now(): number {
    return this.ms;
  }
}

const batch = (from: number, count: number): AppendRecord[] =>
  Array.from({ length: count }, (_, i) => ({ value: valueFor(`r${from + i}`, 200) }));

describe('segmentsToDelete', () => {
  const seg = (size: number, maxTimestamp: number) => ({ size, maxTimestamp });

  it('by size: oldest first until the total fits, never the active segment', () => {
    const segments = [seg(100, 0), seg(100, 0), seg(100, 0), seg(100, 0)];
    assert.equal(segmentsToDelete(segments, 0, { maxBytes: 400 }), 0);
    assert.equal(segmentsToDelete(segments, 0, { maxBytes: 399 }), 1);
    assert.equal(segmentsToDelete(segments, 0, { maxBytes: 150 }), 3);
    assert.equal(segmentsToDelete(segments, 0, { maxBytes: 0 }), 3);
  });

  it('by age: stops at the first segment young enough, keeping offsets contiguous', () => {
    const segments = [seg(1, 100), seg(1, 500), seg(1, 100), seg(1, 100)];
    assert.equal(segmentsToDelete(segments, 1000, { maxAgeMs: 600 }), 1);
    assert.equal(segmentsToDelete(segments, 1000, { maxAgeMs: 400 }), 3);
    assert.equal(segmentsToDelete(segments, 1000, {}), 0);
  });

  it('an active segment whose records have all expired is due for a roll', () => {
    assert.equal(activeExpired(seg(10, 100), 1000, { maxAgeMs: 500 }), true);
    assert.equal(activeExpired(seg(0, -1), 1000, { maxAgeMs: 500 }), false);
    assert.equal(activeExpired(seg(10, 600), 1000, { maxAgeMs: 500 }), false);
  });
});

describe('SegmentLog retention', () => {
  const tmp = useTempDir('log-retention');
  const open = async (options: SegmentLogOptions) => {
    const log = await SegmentLog.open(tmp.path, options);
    tmp.closers.push(() => log.close());
    return log;
  };
  const logFiles = async () => (await readdir(tmp.path)).filter((f) => f.endsWith('.log')).length;

  it('by size: deletes whole old segments, moves startOffset, reads below it are out of range', async () => {
    const log = await open({ segmentBytes: 1024, retention: { maxBytes: 3000, checkIntervalMs: 0 } });
    for (let i = 0; i < 40; i += 2) await log.append(batch(i, 2));
    await log.enforceRetention();
    assert.ok(log.sizeBytes <= 3000, `${log.sizeBytes} bytes kept`);
    assert.ok(log.startOffset > 0);
    assert.equal(await logFiles(), log.segmentCount);
    assert.equal(log.endOffset, 40);
    const start = log.startOffset;
    await assert.rejects(log.read(start - 1), (err: unknown) => {
      assert.ok(err instanceof OffsetOutOfRangeError);
      assert.deepEqual([err.startOffset, err.endOffset], [start, 40]);
      return true;
    });
    const kept = await log.read(start, { maxRecords: 100 });
    assert.deepEqual(
      kept.map((r) => r.offset),
      Array.from({ length: 40 - start }, (_, i) => start + i),
    );
  });

  it('runs on roll by itself', async () => {
    const log = await open({ segmentBytes: 1024, retention: { maxBytes: 2500, checkIntervalMs: 0 } });
    for (let i = 0; i < 40; i += 2) await log.append(batch(i, 2));
    await waitFor(() => log.sizeBytes <= 2500 + 1024, 2000);
    assert.ok(log.startOffset > 0);
  });

  it('by age with an injected clock, rolling an active segment whose records all expired', async () => {
    const clock = new FakeClock(1_000_000);
    const log = await open({
      segmentBytes: 1024,
      clock,
      retention: { maxAgeMs: 60_000, checkIntervalMs: 0 },
    });
    for (let i = 0; i < 10; i += 2) await log.append(batch(i, 2));
    clock.ms += 30_000;
    for (let i = 10; i < 20; i += 2) await log.append(batch(i, 2));
    const segmentsBefore = log.segmentCount;
    clock.ms += 40_000; // the first ten are 70 s old, the next ten 40 s
    const deleted = await log.enforceRetention();
    assert.ok(deleted >= 1 && log.segmentCount < segmentsBefore);
    assert.ok(log.startOffset > 0 && log.startOffset <= 10, `start ${log.startOffset}`);
    clock.ms += 30_000; // now everything is old: the active segment is rolled and goes too
    await log.enforceRetention();
    assert.equal(log.startOffset, 20);
    assert.equal(log.endOffset, 20);
    assert.equal(log.segmentCount, 1);
    assert.deepEqual(await log.read(20), []);
    assert.equal(await log.append(batch(20, 1)), 20);
  });

  it('keeps its start across a reopen', async () => {
    const first = await SegmentLog.open(tmp.path, { segmentBytes: 1024, retention: { maxBytes: 2000 } });
    for (let i = 0; i < 30; i += 2) await first.append(batch(i, 2));
    await first.enforceRetention();
    const start = first.startOffset;
    await first.close();
    const log = await open({ segmentBytes: 1024 });
    assert.equal(log.startOffset, start);
    assert.equal(log.endOffset, 30);
  });

  it('reads racing a deletion get contiguous records or a clear out-of-range, never a file error', async () => {
    const filled = await SegmentLog.open(tmp.path, { segmentBytes: 1024, fsync: 'never' });
    for (let i = 0; i < 100; i += 2) await filled.append(batch(i, 2));
    await filled.close();
    const log = await open({ segmentBytes: 1024, retention: { maxBytes: 1500, checkIntervalMs: 0 } });
    const outcomes = { records: 0, outOfRange: 0 };
    const reads: Promise<void>[] = [];
    for (let k = 0; k < 30; k++) {
      const from = k * 3;
      reads.push(
        log.read(from, { maxRecords: 100 }).then(
          (records) => {
            assert.ok(records.length > 0);
            assert.deepEqual(
              records.map((r) => r.offset),
              Array.from({ length: records.length }, (_, i) => from + i),
            );
            outcomes.records++;
          },
          (err: unknown) => {
            assert.ok(err instanceof OffsetOutOfRangeError, String(err));
            outcomes.outOfRange++;
          },
        ),
      );
      if (k === 5) void log.enforceRetention();
      await new Promise(setImmediate);
    }
    await Promise.all(reads);
    assert.ok(log.startOffset > 80);
    assert.ok(outcomes.records >= 5 && outcomes.outOfRange >= 5, JSON.stringify(outcomes));
  });
});
