/**
 * Recovery of the embedded broker after its hub was SIGKILLed mid-load, in a fresh process:
 * how long the broker takes from open to accepting a publish on the crashed topic (the log's
 * recovery of each partition and the dedupe rebuild included), how many records the topic
 * holds afterwards, and, for contrast, the same reopen after a clean close.
 */
import path from 'node:path';
import { LogBroker } from '../../src/messaging/embedded/index.ts';
import { PartitionedLog } from '../../src/messaging/log/index.ts';
import { exitWithParent, reportToParent, runAsChild } from './ipc-child.ts';
import { makePayload } from './payload.ts';

export interface ReopenChildSpec {
  /** The broker's directory (the hub's `<dataDir>/broker`). */
  dir: string;
  topic: string;
  payloadBytes: number;
}

export interface Reopened {
  /** Open after the crash until a publish to the topic was acknowledged, ms. */
  recoveryMs: number;
  /** The same after a clean close, ms. */
  cleanReopenMs: number;
  /** Records in the topic after recovery (the probe publish not counted). */
  records: number;
  /** Bytes of the topic's logs. */
  logBytes: number;
  /** The id of the topic's first message as a new group receives it (the fill's `fill-0`). */
  firstId: string;
}

export type ReopenChildReport = ({ type: 'reopened' } & Reopened) | { type: 'error'; message: string };

/** How long a new group may take to receive the topic's first message. */
const FIRST_MESSAGE_MS = 30_000;

/**
 * Opens the broker and publishes one probe to `topic`: the time until the broker is of use
 * again. With `readFirst`, then reads the topic's first message as a new group, which proves
 * that what the log holds is readable as the broker's messages.
 */
async function reopen(
  spec: ReopenChildSpec,
  probe: string,
  readFirst = false,
): Promise<{ ms: number; firstId?: string }> {
  const started = performance.now();
  const broker = await LogBroker.open(spec.dir);
  try {
    await broker.publish(spec.topic, { id: probe, payload: makePayload(spec.payloadBytes, 0) });
    const ms = performance.now() - started;
    if (!readFirst) return { ms };
    let timer: NodeJS.Timeout | undefined;
    const first = new Promise<string>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error('no message reached a new group')), FIRST_MESSAGE_MS);
      void broker
        .subscribe(spec.topic, (delivery) => resolve(delivery.id), {
          group: 'sbbench-check',
          startAt: 'earliest',
          maxInFlight: 1,
        })
        .catch(reject);
    });
    try {
      return { ms, firstId: await first };
    } finally {
      clearTimeout(timer);
    }
  } finally {
    await broker.close();
  }
}

async function count(spec: ReopenChildSpec): Promise<{ records: number; logBytes: number }> {
  const log = await PartitionedLog.open(path.join(spec.dir, 'topics', spec.topic));
  try {
    let records = 0;
    let logBytes = 0;
    for (let p = 0; p < log.partitions; p++) {
      const partition = log.partition(p);
      records += partition.endOffset - partition.startOffset;
      logBytes += partition.sizeBytes;
    }
    return { records, logBytes };
  } finally {
    await log.close();
  }
}

async function main(): Promise<void> {
  exitWithParent();
  const spec = JSON.parse(process.argv[2] ?? '{}') as ReopenChildSpec;
  const recovery = await reopen(spec, 'recovery-probe-1');
  const { records, logBytes } = await count(spec);
  const clean = await reopen(spec, 'recovery-probe-2', true);
  const report: ReopenChildReport = {
    type: 'reopened',
    recoveryMs: recovery.ms,
    cleanReopenMs: clean.ms,
    records: records - 1,
    logBytes,
    firstId: clean.firstId ?? '',
  };
  await reportToParent(report);
  process.exit(0);
}

runAsChild(import.meta.url, main);
