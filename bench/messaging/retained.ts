/**
 * The embedded broker's memory and recovery: a hub process holds `messages` retained messages
 * of 1 KiB in one topic (memory sampled empty and full, after forced GCs); then this process
 * publishes to that topic through HubBroker, `inFlight` at once, and SIGKILLs the hub mid-load;
 * a fresh process reopens the broker directory, timing the recovery and counting the records:
 * every publish the hub acknowledged must be there. Files live under os.tmpdir() and are
 * removed at the end.
 */
import { fileURLToPath } from 'node:url';
import { HubBroker } from '../../src/app/brokers/hub-broker.ts';
import type { MemorySample } from '../protocol.ts';
import { firstLine } from '../throughput.ts';
import { brokerDir, type HubChildReport, type HubChildSpec } from './hub-child.ts';
import { IpcChild } from './ipc-child.ts';
import { makePayload } from './payload.ts';
import type { ReopenChildReport, ReopenChildSpec } from './reopen-child.ts';
import type { RetainedResult } from './results.ts';
import { makeTempDir, removeTempDir } from './temp-dirs.ts';

export interface RetainedSettings {
  host: string;
  messages: number;
  payloadBytes: number;
  /** Publishes in flight during the load the hub is killed in. */
  inFlight: number;
  /** How long the load runs before the kill, ms. */
  loadMs: number;
}

const TOPIC = 'sbbench-retained';
const HUB_CHILD = fileURLToPath(new URL('./hub-child.ts', import.meta.url));
const REOPEN_CHILD = fileURLToPath(new URL('./reopen-child.ts', import.meta.url));

/** Time to fill or reopen: generous, a million records on a slow disk take a while. */
function fillTimeoutMs(messages: number): number {
  return 120_000 + messages * 0.5;
}

/** Publishes until `stop()`; counts acknowledged and failed publishes. */
function loadUntilStopped(broker: HubBroker, settings: RetainedSettings) {
  const counts = { acked: 0, failed: 0 };
  let stopped = false;
  let seq = 0;
  const lane = async () => {
    while (!stopped) {
      try {
        await broker.publish(TOPIC, { payload: makePayload(settings.payloadBytes, seq++) });
        counts.acked++;
      } catch {
        counts.failed++;
      }
    }
  };
  const lanes = Promise.all(Array.from({ length: settings.inFlight }, lane));
  return {
    counts,
    stop: () => {
      stopped = true;
      return lanes;
    },
  };
}

type Log = (message: string) => void;

async function sample(hub: IpcChild<HubChildReport>): Promise<MemorySample> {
  hub.send({ cmd: 'memory' });
  return (await hub.next('memory', 60_000)).sample;
}

/** Fills the hub's topic, with its memory sampled before and after: returns the messages there. */
async function fill(
  hub: IpcChild<HubChildReport>,
  settings: RetainedSettings,
  result: RetainedResult,
  log: Log,
) {
  const empty = await sample(hub);
  log(`messaging: filling the embedded log with ${settings.messages.toLocaleString('en-US')} messages…`);
  hub.send({ cmd: 'fill', topic: TOPIC, count: settings.messages, payloadBytes: settings.payloadBytes });
  const filled = await hub.next('filled', fillTimeoutMs(settings.messages));
  result.fillMs = filled.fillMs;
  result.openMs = filled.openMs;
  result.memory = { empty, retained: await sample(hub) };
  log(
    `  filled in ${(filled.fillMs / 1000).toFixed(1)} s, opened in ${filled.openMs.toFixed(0)} ms; hub RSS ${(result.memory.retained.rss / 2 ** 20).toFixed(0)} MiB`,
  );
  return filled.count;
}

/** Publishes through HubBroker and SIGKILLs the hub `loadMs` into it: returns the publishes it acknowledged. */
async function loadAndKill(
  hub: IpcChild<HubChildReport>,
  url: string,
  settings: RetainedSettings,
  result: RetainedResult,
  log: Log,
) {
  // A publish the dead hub cannot answer fails after this, instead of retrying for 10 s.
  const client = await HubBroker.fromHub(url, { publishTimeoutMs: 1000 });
  const started = performance.now();
  const load = loadUntilStopped(client, settings);
  await new Promise((resolve) => setTimeout(resolve, settings.loadMs));
  await hub.kill();
  const ms = performance.now() - started;
  await load.stop();
  await client.close();
  result.load = { ...load.counts, ms, inFlight: settings.inFlight };
  log(`  SIGKILL after ${(ms / 1000).toFixed(1)} s of load: ${load.counts.acked} publishes acknowledged`);
  return load.counts.acked;
}

/** Reopens the crashed directory in a fresh process; checks that nothing acknowledged is missing. */
async function reopen(
  dataDir: string,
  expected: number,
  settings: RetainedSettings,
  result: RetainedResult,
  log: Log,
) {
  const spec: ReopenChildSpec = {
    dir: brokerDir(dataDir),
    topic: TOPIC,
    payloadBytes: settings.payloadBytes,
  };
  const reopener = new IpcChild<ReopenChildReport>(REOPEN_CHILD, spec);
  let reopened: Extract<ReopenChildReport, { type: 'reopened' }>;
  try {
    reopened = await reopener.next('reopened', fillTimeoutMs(settings.messages));
  } finally {
    await reopener.kill();
  }
  const missing = Math.max(0, expected - reopened.records);
  result.recovery = {
    ms: reopened.recoveryMs,
    cleanMs: reopened.cleanReopenMs,
    records: reopened.records,
    expected,
    missing,
    logBytes: reopened.logBytes,
  };
  result.status = missing === 0 ? 'ok' : 'failed';
  if (missing) result.note = `${missing} acknowledged messages missing after the crash`;
  // The fill wrote the log directly: a consumer must see its records as the broker's messages.
  if (!reopened.firstId.startsWith('fill-')) {
    result.status = 'failed';
    result.note = `a new group's first message is "${reopened.firstId}", not a filled one: the fill does not match the broker's layout`;
  }
  log(
    `  recovery ${reopened.recoveryMs.toFixed(0)} ms (clean reopen ${reopened.cleanReopenMs.toFixed(0)} ms); ${reopened.records} records, ${missing} acknowledged missing`,
  );
}

export async function measureRetained(settings: RetainedSettings, log: Log): Promise<RetainedResult> {
  const result: RetainedResult = {
    status: 'failed',
    messages: settings.messages,
    payloadBytes: settings.payloadBytes,
  };
  const dataDir = await makeTempDir('sb-bench-retained-');
  const spec: HubChildSpec = { host: settings.host, dataDir };
  const hub = new IpcChild<HubChildReport>(HUB_CHILD, spec);
  try {
    const ready = await hub.next('ready', 60_000);
    const filled = await fill(hub, settings, result, log);
    const acked = await loadAndKill(hub, ready.url, settings, result, log);
    await reopen(dataDir, filled + acked, settings, result, log);
  } catch (err) {
    result.status = 'failed';
    result.note = `failed: ${firstLine(err)}`;
    log(`  ${result.note}`);
  } finally {
    await hub.kill();
    await removeTempDir(dataDir);
  }
  return result;
}
