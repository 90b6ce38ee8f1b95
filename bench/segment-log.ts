/**
 * The embedded broker's storage engine alone: append throughput and latency of 1 KiB records
 * under each fsync policy, read throughput, and open (recovery) time. Standalone for now:
 *
 *   node --import tsx bench/segment-log.ts [--records=20000] [--concurrency=64] [--batch=1]
 *
 * "concurrency" appends are kept in flight, each of "batch" records, as publishers would.
 * Files go to a temporary directory under os.tmpdir(), removed at the end.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { FsyncPolicy } from '../src/messaging/log/durability.ts';
import { SegmentLog } from '../src/messaging/log/segment-log.ts';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '64' },
    batch: { type: 'string', default: '1' },
  },
});
const RECORDS = Number(values.records);
const CONCURRENCY = Number(values.concurrency);
const BATCH = Number(values.batch);
const VALUE = Buffer.alloc(1024, 0x61);
const MIB = 1 << 20;

interface AppendFigures {
  policy: string;
  recordsPerSec: number;
  mibPerSec: number;
  p50Ms: number;
  p99Ms: number;
  fsyncs: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
}

async function appendRun(dir: string, name: string, fsync: FsyncPolicy): Promise<AppendFigures> {
  let fsyncs = 0;
  const log = await SegmentLog.open(dir, { fsync, onSync: () => fsyncs++ });
  const batch = Array.from({ length: BATCH }, (_, i) => ({ key: Buffer.from(`key-${i}`), value: VALUE }));
  const latencies: number[] = [];
  let issued = 0;
  const started = performance.now();
  const lane = async () => {
    while (issued < RECORDS) {
      issued += BATCH;
      const t = performance.now();
      await log.append(batch);
      latencies.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  const seconds = (performance.now() - started) / 1000;
  const bytes = log.sizeBytes;
  await log.close();
  latencies.sort((a, b) => a - b);
  return {
    policy: name,
    recordsPerSec: issued / seconds,
    mibPerSec: bytes / MIB / seconds,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    fsyncs,
  };
}

async function readRun(dir: string): Promise<{ recordsPerSec: number; mibPerSec: number; openMs: number }> {
  const opened = performance.now();
  const log = await SegmentLog.open(dir);
  const openMs = performance.now() - opened;
  // Three passes, the best kept: the first one also pays for compiling the read path.
  let seconds = Number.POSITIVE_INFINITY;
  let count = 0;
  for (let pass = 0; pass < 3; pass++) {
    const started = performance.now();
    let offset = log.startOffset;
    count = 0;
    while (offset < log.endOffset) {
      const records = await log.read(offset, { maxRecords: 1000, maxBytes: MIB });
      count += records.length;
      offset = records.at(-1)!.offset + 1;
    }
    seconds = Math.min(seconds, (performance.now() - started) / 1000);
  }
  const figures = { recordsPerSec: count / seconds, mibPerSec: log.sizeBytes / MIB / seconds, openMs };
  await log.close();
  return figures;
}

async function scanRun(dir: string): Promise<number> {
  // Without the index, open checks every record of the segment: the recovery time after a crash.
  const { readdir } = await import('node:fs/promises');
  for (const name of await readdir(dir)) if (name.endsWith('.index')) await rm(path.join(dir, name));
  const started = performance.now();
  const log = await SegmentLog.open(dir);
  const ms = performance.now() - started;
  await log.close();
  return ms;
}

const root = await mkdtemp(path.join(os.tmpdir(), 'sb-bench-segment-log-'));
try {
  console.log(
    `segment log: ${RECORDS} records of 1 KiB, ${CONCURRENCY} appends in flight, ${BATCH} record(s) each; ${os.cpus().length} cores, node ${process.version}`,
  );
  const policies: [string, FsyncPolicy][] = [
    ['always', 'always'],
    ['group commit 2 ms (default)', { groupCommitMs: 2 }],
    ['group commit 5 ms', { groupCommitMs: 5 }],
    ['never', 'never'],
  ];
  const rows: AppendFigures[] = [];
  for (const [name, policy] of policies) {
    rows.push(await appendRun(path.join(root, name.replace(/\W+/g, '-')), name, policy));
  }
  console.log('\n| fsync policy | records/s | MiB/s | append p50 ms | append p99 ms | fsyncs |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    console.log(
      `| ${r.policy} | ${Math.round(r.recordsPerSec)} | ${r.mibPerSec.toFixed(1)} | ${r.p50Ms.toFixed(2)} | ${r.p99Ms.toFixed(2)} | ${r.fsyncs} |`,
    );
  }
  const readDir = path.join(root, 'never');
  const read = await readRun(readDir);
  const scanMs = await scanRun(readDir);
  console.log(
    `\nread: ${Math.round(read.recordsPerSec)} records/s, ${read.mibPerSec.toFixed(1)} MiB/s (1 MiB reads, checksums verified)`,
  );
  console.log(
    `open after a clean close: ${read.openMs.toFixed(1)} ms; open scanning every record (no index): ${scanMs.toFixed(1)} ms`,
  );
} finally {
  await rm(root, { recursive: true, force: true });
}
