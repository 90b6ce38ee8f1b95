/**
 * The embedded broker's consume path in CPU per delivered message, warm: a hub in its own
 * process (as the messaging part runs it) with `--messages` messages of 1 KiB laid into a topic,
 * consumed from the earliest by one HubBroker subscriber (maxInFlight 256), after the same on a
 * warm-up topic. Prints msgs/s and the CPU the hub and the client used per message (medians of
 * `--runs`). The number to watch when changing the hub's delivery path: hub and client share
 * the machine's cores, so CPU per message is what the consume rate is made of.
 *
 *     npx tsx bench/messaging/consume-cpu.ts [--messages 200000] [--warmup 50000] [--runs 3]
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { HubBroker } from '../../src/app/brokers/hub-broker.ts';
import type { HubChildReport, HubChildSpec } from './hub-child.ts';
import { IpcChild } from './ipc-child.ts';
import { readStamp } from './payload.ts';
import { makeTempDir, removeTempDir } from './temp-dirs.ts';

const HUB_CHILD = fileURLToPath(new URL('./hub-child.ts', import.meta.url));
const PAYLOAD_BYTES = 1024;
const TIMEOUT_MS = 600_000;

interface ConsumeFigures {
  msgsPerS: number;
  hubMicrosPerMessage: number;
  clientMicrosPerMessage: number;
}

/** Consumes the `count` messages of `topic` as a new group; CPU of both processes per message. */
async function consume(hub: IpcChild<HubChildReport>, broker: HubBroker, topic: string, count: number) {
  const seen = new Uint8Array(count);
  let distinct = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  hub.send({ cmd: 'cpu' });
  const hubBefore = (await hub.next('cpu', TIMEOUT_MS)).micros;
  const clientBefore = process.cpuUsage();
  const started = performance.now();
  const subscription = await broker.subscribe(
    topic,
    (delivery) => {
      const stamp = readStamp(delivery.payload);
      if (!stamp || stamp.seq >= count || seen[stamp.seq]) return;
      seen[stamp.seq] = 1;
      if (++distinct === count) done();
    },
    { group: `g-${topic}`, startAt: 'earliest', maxInFlight: 256 },
  );
  await finished;
  const seconds = (performance.now() - started) / 1000;
  const client = process.cpuUsage(clientBefore);
  hub.send({ cmd: 'cpu' });
  const hubAfter = (await hub.next('cpu', TIMEOUT_MS)).micros;
  await subscription.close();
  return {
    msgsPerS: count / seconds,
    hubMicrosPerMessage: (hubAfter - hubBefore) / count,
    clientMicrosPerMessage: (client.user + client.system) / count,
  };
}

async function oneRun(messages: number, warmup: number): Promise<ConsumeFigures> {
  const dataDir = await makeTempDir('sb-consume-cpu-');
  const spec: HubChildSpec = { host: '127.0.0.1', dataDir };
  const hub = new IpcChild<HubChildReport>(HUB_CHILD, spec);
  try {
    const ready = await hub.next('ready', 60_000);
    for (const [topic, count] of [
      ['warm', warmup],
      ['load', messages],
    ] as const) {
      hub.send({ cmd: 'fill', topic, count, payloadBytes: PAYLOAD_BYTES });
      await hub.next('filled', TIMEOUT_MS);
    }
    const broker = await HubBroker.fromHub(ready.url);
    try {
      await consume(hub, broker, 'warm', warmup);
      return await consume(hub, broker, 'load', messages);
    } finally {
      await broker.close();
    }
  } finally {
    await hub.stop();
    await removeTempDir(dataDir);
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      messages: { type: 'string', default: '200000' },
      warmup: { type: 'string', default: '50000' },
      runs: { type: 'string', default: '3' },
    },
  });
  const [messages, warmup, runs] = [values.messages, values.warmup, values.runs].map(Number) as [
    number,
    number,
    number,
  ];
  const results: ConsumeFigures[] = [];
  for (let run = 1; run <= runs; run++) {
    const figures = await oneRun(messages, warmup);
    results.push(figures);
    console.log(
      `run ${run}: ${Math.round(figures.msgsPerS)} msgs/s, hub ${figures.hubMicrosPerMessage.toFixed(1)} µs/msg, ` +
        `client ${figures.clientMicrosPerMessage.toFixed(1)} µs/msg`,
    );
  }
  console.log(
    `median of ${runs}: ${Math.round(median(results.map((r) => r.msgsPerS)))} msgs/s, ` +
      `hub ${median(results.map((r) => r.hubMicrosPerMessage)).toFixed(1)} µs/msg, ` +
      `client ${median(results.map((r) => r.clientMicrosPerMessage)).toFixed(1)} µs/msg`,
  );
}

await main();
