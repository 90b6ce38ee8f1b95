/**
 * The hub of the embedded target, in a process of its own: a HubServer with a data directory,
 * whose broker port serves the embedded log (LogBroker, default options: group commit). For the
 * memory part it can also fill a topic with retained messages and sample its own memory.
 */
import path from 'node:path';
import { HubServer } from '../../src/hub/server.ts';
import { encodeEnvelope } from '../../src/messaging/embedded/envelope.ts';
import { PartitionedLog } from '../../src/messaging/log/index.ts';
import { memorySample } from '../child-io.ts';
import type { MemorySample } from '../protocol.ts';
import { exitWithParent, reportToParent, runAsChild } from './ipc-child.ts';
import { makePayload } from './payload.ts';

export interface HubChildSpec {
  host: string;
  dataDir: string;
}

export type HubChildCommand =
  | { cmd: 'fill'; topic: string; count: number; payloadBytes: number }
  | { cmd: 'memory' }
  | { cmd: 'cpu' }
  | { cmd: 'stop' };

export type HubChildReport =
  | { type: 'ready'; url: string; brokerKind: string; node: string }
  | { type: 'filled'; count: number; fillMs: number; openMs: number }
  | { type: 'memory'; sample: MemorySample }
  /** CPU time the hub process has used so far (user + system), for CPU per message. */
  | { type: 'cpu'; micros: number }
  | { type: 'error'; message: string };

/** Where the hub keeps its broker: `<dataDir>/broker`, as HubServer does (src/hub/server.ts). */
export function brokerDir(dataDir: string): string {
  return path.join(dataDir, 'broker');
}

/** The partitions of a topic the embedded broker creates (LogBrokerOptions.partitions' default). */
const PARTITIONS = 4;
/** Records per append when filling: one write and one fsync for each. */
const FILL_BATCH = 512;

/** The hub as `switchboard dev` runs it: with a data directory, its broker is the embedded log. */
async function startHub(spec: HubChildSpec): Promise<HubServer> {
  const hub = new HubServer({ host: spec.host, port: 0, dataDir: spec.dataDir });
  await hub.listen();
  if (hub.broker?.kind !== 'embedded') {
    await hub.close();
    throw new Error(`the hub's broker is "${hub.broker?.kind ?? 'none'}", not the embedded log`);
  }
  return hub;
}

/**
 * `count` messages into a topic the broker has not opened yet, appended straight to its
 * partitioned log in batches as the broker would lay them out (envelope.ts, keyless, with ids):
 * far faster than a million publishes. Then one publish through the broker opens the topic
 * (each partition's log, and the dedupe window rebuilt from the latest records): `openMs`.
 */
async function fill(
  hub: HubServer,
  dataDir: string,
  command: Extract<HubChildCommand, { cmd: 'fill' }>,
): Promise<Extract<HubChildReport, { type: 'filled' }>> {
  const started = performance.now();
  const log = await PartitionedLog.open(path.join(brokerDir(dataDir), 'topics', command.topic), {
    partitions: PARTITIONS,
  });
  let next = 0;
  const lane = async (partition: number) => {
    while (next < command.count) {
      const first = next;
      const size = Math.min(FILL_BATCH, command.count - first);
      next += size;
      const records = Array.from({ length: size }, (_, k) => ({
        key: null,
        value: encodeEnvelope(`fill-${first + k}`, 0, makePayload(command.payloadBytes, first + k)),
      }));
      await log.appendTo(partition, records);
    }
  };
  try {
    await Promise.all(Array.from({ length: PARTITIONS }, (_, p) => lane(p)));
  } finally {
    await log.close();
  }
  const fillMs = performance.now() - started;
  const broker = hub.broker;
  if (!broker) throw new Error('the hub serves no broker');
  const opening = performance.now();
  await broker.publish(command.topic, {
    id: 'fill-open',
    payload: makePayload(command.payloadBytes, command.count),
  });
  return { type: 'filled', count: command.count + 1, fillMs, openMs: performance.now() - opening };
}

async function main(): Promise<void> {
  exitWithParent();
  const spec = JSON.parse(process.argv[2] ?? '{}') as HubChildSpec;
  const hub = await startHub(spec);
  const answer = (work: () => Promise<HubChildReport>) =>
    void work().then(reportToParent, (err: unknown) =>
      reportToParent({
        type: 'error',
        message: err instanceof Error ? (err.stack ?? err.message) : String(err),
      }),
    );
  process.on('message', (message) => {
    const command = message as HubChildCommand;
    if (command.cmd === 'fill') answer(() => fill(hub, spec.dataDir, command));
    else if (command.cmd === 'memory') answer(async () => ({ type: 'memory', sample: await memorySample() }));
    else if (command.cmd === 'cpu') {
      const used = process.cpuUsage();
      answer(async () => ({ type: 'cpu', micros: used.user + used.system }));
    } else if (command.cmd === 'stop') void hub.close().finally(() => process.exit(0));
  });
  await reportToParent({
    type: 'ready',
    url: hub.url,
    brokerKind: hub.broker?.kind ?? 'none',
    node: process.version,
  });
}

runAsChild(import.meta.url, main);
