import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { appendFile, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { CorruptLogError, CorruptRecordError } from './errors.ts';
import type { AppendRecord } from './record.ts';
import { SegmentLog, type SegmentLogOptions } from './segment-log.ts';
import { useTempDir } from './testdata/temp-dir.ts';
import { valueFor } from './testdata/values.ts';

const SEGMENT_0 = '00000000000000000000';

function numbered(from: number, count: number, size = 20): AppendRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    key: Buffer.from(`k${from + i}`),
    value: valueFor(`r${from + i}`, size),
    headers: { n: String(from + i) },
  }));
}

describe('SegmentLog recovery', () => {
  const tmp = useTempDir('log-recovery');
  const file = (name: string) => path.join(tmp.path, name);
  const open = async (options: SegmentLogOptions = {}) => {
    const log = await SegmentLog.open(tmp.path, options);
    tmp.closers.push(() => log.close());
    return log;
  };
  /** Writes 5 records, closes, and answers where each record starts in the segment file. */
  const fiveRecords = async (options: SegmentLogOptions = {}) => {
    const log = await SegmentLog.open(tmp.path, options);
    await log.append(numbered(0, 5));
    await log.close();
    const bytes = await readFile(file(`${SEGMENT_0}.log`));
    const starts: number[] = [];
    for (let pos = 0; pos < bytes.length; pos += 4 + bytes.readUInt32BE(pos)) starts.push(pos);
    assert.equal(starts.length, 5);
    return { bytes, starts };
  };
  const assertIntact = async (log: SegmentLog, count: number) => {
    const records = await log.read(log.startOffset, { maxRecords: 1000 });
    assert.deepEqual(
      records.map((r) => [r.offset, Buffer.from(r.key!).toString(), r.headers.n]),
      Array.from({ length: count }, (_, i) => [i, `k${i}`, String(i)]),
    );
    for (const r of records) assert.ok(Buffer.from(r.value).equals(valueFor(`r${r.offset}`, 20)));
  };

  it('cut at every byte of the last record: keeps the valid prefix, drops the tail, appends on', async () => {
    const { bytes, starts } = await fiveRecords();
    const index = await readFile(file(`${SEGMENT_0}.index`));
    const last = starts[4]!;
    for (let cut = last; cut < bytes.length; cut++) {
      await writeFile(file(`${SEGMENT_0}.log`), bytes.subarray(0, cut));
      // Half the cuts keep the stale index (it describes more than the file has), half lose it.
      if (cut % 2 === 0) await writeFile(file(`${SEGMENT_0}.index`), index);
      else await rm(file(`${SEGMENT_0}.index`), { force: true });
      const log = await SegmentLog.open(tmp.path);
      try {
        assert.equal(log.endOffset, 4, `cut at ${cut}`);
        const truncations = log.recovery.truncations;
        if (cut === last) assert.deepEqual(truncations, []);
        else
          assert.deepEqual(
            truncations.map((t) => [t.position, t.droppedBytes, t.kind]),
            [[last, cut - last, 'torn-tail']],
          );
        await assertIntact(log, 4);
        assert.equal(await log.append(numbered(4, 1)), 4);
        await assertIntact(log, 5);
      } finally {
        await log.close();
      }
    }
  });

  it('a torn tail in the last of several segments', async () => {
    const log = await SegmentLog.open(tmp.path, { segmentBytes: 300 });
    for (let i = 0; i < 12; i += 2) await log.append(numbered(i, 2));
    await log.close();
    const logs = (await readdir(tmp.path)).filter((f) => f.endsWith('.log')).sort();
    assert.ok(logs.length >= 3);
    const lastFile = file(logs.at(-1)!);
    const size = (await readFile(lastFile)).length;
    await truncate(lastFile, size - 5);
    const reopened = await open({ segmentBytes: 300 });
    assert.equal(reopened.endOffset, 11);
    assert.equal(reopened.recovery.truncations.length, 1);
    await assertIntact(reopened, 11);
  });

  it('garbage after the last record is dropped', async () => {
    await fiveRecords();
    await appendFile(file(`${SEGMENT_0}.log`), randomBytes(3000));
    const log = await open();
    assert.equal(log.endOffset, 5);
    assert.equal(log.recovery.truncations[0]?.droppedBytes, 3000);
    await assertIntact(log, 5);
  });

  it('zeros after the last record (a size extended before its blocks were written) are dropped', async () => {
    const { bytes } = await fiveRecords();
    await truncate(file(`${SEGMENT_0}.log`), bytes.length + 8192);
    const log = await open();
    assert.equal(log.endOffset, 5);
    assert.equal(log.recovery.truncations[0]?.kind, 'torn-tail');
  });

  it('a zero-filled hole followed by records is a torn tail too: cut at the hole', async () => {
    const { bytes, starts } = await fiveRecords();
    await rm(file(`${SEGMENT_0}.index`));
    const holed = Buffer.from(bytes);
    holed.fill(0, starts[3]!, starts[4]!);
    await writeFile(file(`${SEGMENT_0}.log`), holed);
    const log = await open();
    assert.equal(log.endOffset, 3);
    assert.deepEqual(
      log.recovery.truncations.map((t) => [t.position, t.kind]),
      [[starts[3], 'torn-tail']],
    );
    await assertIntact(log, 3);
  });

  describe('a corrupt record in the middle', () => {
    const rot = async () => {
      const { bytes, starts } = await fiveRecords();
      const rotten = Buffer.from(bytes);
      rotten[starts[2]! + 50]! ^= 0x10;
      await writeFile(file(`${SEGMENT_0}.log`), rotten);
      return starts;
    };

    it('is reported by a read that reaches it, with its offset and position', async () => {
      const starts = await rot();
      const log = await open();
      assert.equal(log.endOffset, 5, 'a valid index covers the segment: nothing is scanned at open');
      assert.equal((await log.read(0, { maxRecords: 2 })).length, 2);
      await assert.rejects(log.read(0), (err: unknown) => {
        assert.ok(err instanceof CorruptRecordError);
        assert.deepEqual([err.offset, err.position, err.reason], [2, starts[2], 'checksum mismatch']);
        assert.match(err.message, /00000000000000000000\.log: corrupt record at byte \d+ \(offset 2\)/);
        return true;
      });
    });

    it('fails open when a scan finds it, rather than dropping the valid records after it', async () => {
      const starts = await rot();
      await rm(file(`${SEGMENT_0}.index`));
      await assert.rejects(SegmentLog.open(tmp.path), (err: unknown) => {
        assert.ok(err instanceof CorruptRecordError);
        assert.equal(err.position, starts[2]);
        assert.match(err.message, /valid records follow it.*onCorruption/);
        return true;
      });
      assert.equal((await readFile(file(`${SEGMENT_0}.log`))).length > starts[4]!, true, 'nothing was cut');
    });

    it("with onCorruption: 'truncate', cuts there and says so", async () => {
      const starts = await rot();
      await rm(file(`${SEGMENT_0}.index`));
      const log = await open({ onCorruption: 'truncate' });
      assert.equal(log.endOffset, 2);
      assert.deepEqual(
        log.recovery.truncations.map((t) => [t.position, t.kind, t.reason]),
        [[starts[2], 'corruption', 'checksum mismatch']],
      );
      await assertIntact(log, 2);
    });
  });

  it('damage at the end of a sealed segment is corruption, not a torn tail', async () => {
    const log = await SegmentLog.open(tmp.path, { segmentBytes: 300 });
    for (let i = 0; i < 12; i += 2) await log.append(numbered(i, 2));
    await log.close();
    const bytes = await readFile(file(`${SEGMENT_0}.log`));
    await writeFile(file(`${SEGMENT_0}.log`), bytes.subarray(0, bytes.length - 3));
    await rm(file(`${SEGMENT_0}.index`));
    await assert.rejects(SegmentLog.open(tmp.path, { segmentBytes: 300 }), /sealed segment/);
    const cut = await open({ segmentBytes: 300, onCorruption: 'truncate' });
    assert.equal(cut.segmentCount, 1);
    assert.equal(cut.recovery.droppedSegments.length >= 2, true);
    assert.ok(cut.endOffset < 12);
    await assertIntact(cut, cut.endOffset);
  });

  it('rebuilds a damaged or missing index and removes stray files', async () => {
    const log = await SegmentLog.open(tmp.path, { segmentBytes: 400, indexIntervalBytes: 64 });
    for (let i = 0; i < 20; i += 2) await log.append(numbered(i, 2));
    await log.close();
    const index = await readFile(file(`${SEGMENT_0}.index`));
    index[index.length - 10]! ^= 0xff;
    await writeFile(file(`${SEGMENT_0}.index`), index);
    await writeFile(file('00000000000000000999.index'), 'orphan');
    await writeFile(file(`${SEGMENT_0}.index.tmp`), 'half written');
    const reopened = await open({ segmentBytes: 400, indexIntervalBytes: 64 });
    assert.equal(reopened.recovery.rebuiltIndexes, 1);
    assert.ok(reopened.recovery.scannedBytes > 0);
    assert.equal(reopened.recovery.removedStrays.length, 2);
    const names = await readdir(tmp.path);
    assert.ok(!names.includes('00000000000000000999.index') && !names.some((n) => n.endsWith('.tmp')));
    for (const from of [0, 5, 13, 19]) {
      assert.equal((await reopened.read(from, { maxRecords: 1 }))[0]?.offset, from);
    }
  });

  it('a missing segment in the middle fails open', async () => {
    const log = await SegmentLog.open(tmp.path, { segmentBytes: 300 });
    for (let i = 0; i < 12; i += 2) await log.append(numbered(i, 2));
    await log.close();
    const logs = (await readdir(tmp.path)).filter((f) => f.endsWith('.log')).sort();
    await rm(file(logs[1]!));
    await assert.rejects(SegmentLog.open(tmp.path, { segmentBytes: 300 }), (err: unknown) => {
      assert.ok(err instanceof CorruptLogError);
      assert.match(err.message, /a segment is missing or overlaps/);
      return true;
    });
  });
});
