/**
 * The messaging part: for each broker, the Switchboard adapter and the broker's own client
 * ("bare") run the same workload (workload.ts) in the same round, each in a fresh process; the
 * targets run in an order that changes every round (rounds.ts) and, within a target, which side
 * goes first alternates. The embedded broker (a hub in its own process, reached through
 * HubBroker) runs the same workload, to be compared with the bare NATS JetStream and Redis
 * Streams figures of the same round. Then the embedded broker's memory with many messages
 * retained and its recovery after a SIGKILL (retained.ts).
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { KafkaMockCluster } from '../../test/support/kafka-mock.ts';
import { startPart } from '../cluster-results.ts';
import { roundOrder } from '../rounds.ts';
import { firstLine } from '../throughput.ts';
import type { HubChildReport, HubChildSpec } from './hub-child.ts';
import { IpcChild } from './ipc-child.ts';
import type { MessagingResult, MessagingRun } from './results.ts';
import { measureRetained } from './retained.ts';
import { serverMissing, serverNote, sweep } from './servers.ts';
import {
  CONSUMER_WINDOW,
  type Endpoints,
  type Side,
  sideMissing,
  type TargetId,
  targetInfo,
} from './targets.ts';
import { makeTempDir, removeTempDir } from './temp-dirs.ts';
import { type PhaseResult, type WorkloadSettings, workloadNames } from './workload.ts';
import type { WorkloadChildReport, WorkloadChildSpec } from './workload-child.ts';

export interface MessagingSettings {
  host: string;
  command: string;
  /** Messages of each measured phase. */
  messages: number;
  /** Publishes in flight. */
  inFlight: number;
  payloadBytes: number;
  rounds: number;
  targets: readonly TargetId[];
  /** Messages retained in the memory and recovery part; 0 leaves it out. */
  retained: number;
}

const WORKLOAD_CHILD = fileURLToPath(new URL('./workload-child.ts', import.meta.url));
const HUB_CHILD = fileURLToPath(new URL('./hub-child.ts', import.meta.url));

/** A phase that takes longer than this fails: a slow broker gives a note, never a hang. */
export function phaseTimeoutMs(messages: number): number {
  return Math.max(60_000, messages * 10);
}

function warmupMessages(messages: number): number {
  return Math.max(1, Math.min(2000, Math.ceil(messages / 10)));
}

function describePhase(p: PhaseResult, unit: string): string {
  if (p.status !== 'ok') return `failed (${p.note})`;
  const latency = p.latency ? `, p50 ${p.latency.p50.toFixed(2)} ms, p99 ${p.latency.p99.toFixed(2)} ms` : '';
  return `${Math.round(p.msgsPerS ?? 0)} ${unit}${latency}`;
}

/** A hub with a fresh data directory in its own process, for one embedded run. */
async function withHub<T>(host: string, work: (url: string) => Promise<T>): Promise<T> {
  const dataDir = await makeTempDir('sb-bench-hub-');
  const spec: HubChildSpec = { host, dataDir };
  const hub = new IpcChild<HubChildReport>(HUB_CHILD, spec);
  try {
    const ready = await hub.next('ready', 60_000);
    return await work(ready.url);
  } finally {
    await hub.stop();
    await removeTempDir(dataDir);
  }
}

/** A fresh Kafka mock cluster for one run: it keeps every message in memory, and a cluster per run keeps the sides even. */
async function withKafka<T>(work: (bootstrap: string[]) => Promise<T>): Promise<T> {
  const kafka = await KafkaMockCluster.start({ brokers: 1 });
  try {
    return await work([...kafka.bootstrapServers]);
  } finally {
    await kafka.stop();
  }
}

interface RunPlan {
  target: TargetId;
  side: Side;
  round: number;
  position: number;
  token: string;
}

async function runSide(
  plan: RunPlan,
  settings: MessagingSettings,
  log: (message: string) => void,
): Promise<MessagingRun> {
  const run: MessagingRun = {
    target: plan.target,
    side: plan.side,
    round: plan.round,
    position: plan.position,
    status: 'failed',
    loadAverage: os.loadavg()[0]!,
  };
  const messages = Math.min(
    settings.messages,
    targetInfo(plan.target).maxMessages ?? Number.POSITIVE_INFINITY,
  );
  const workload: WorkloadSettings = {
    messages,
    inFlight: settings.inFlight,
    payloadBytes: settings.payloadBytes,
    warmupMessages: warmupMessages(messages),
    phaseTimeoutMs: phaseTimeoutMs(messages),
    token: plan.token,
    joinGroupsFirst: targetInfo(plan.target).joinGroupsFirst,
  };
  const measure = async (ends: Endpoints) => {
    const spec: WorkloadChildSpec = {
      target: plan.target,
      side: plan.side,
      endpoints: ends,
      settings: workload,
    };
    const child = new IpcChild<WorkloadChildReport>(WORKLOAD_CHILD, spec);
    try {
      // Three phases and the warm-up, each bounded, plus connecting and closing.
      return await child.next('result', 4 * workload.phaseTimeoutMs + 120_000);
    } finally {
      await child.kill();
    }
  };
  try {
    const report =
      plan.target === 'embedded'
        ? await withHub(settings.host, (hubUrl) => measure({ hubUrl }))
        : plan.target === 'kafka'
          ? await withKafka((kafka) => measure({ kafka }))
          : await measure({});
    run.status = 'ok';
    run.node = report.node;
    run.result = report.result;
    if (report.closeNote) run.note = report.closeNote;
    const r = report.result;
    log(
      `  ${plan.side}: publish ${describePhase(r.publish, 'msgs/s')}; consume ${describePhase(r.consume, 'msgs/s')}; end to end ${describePhase(r.endToEnd, 'msgs/s')}`,
    );
  } catch (err) {
    run.note = `failed: ${firstLine(err)}`;
    log(`  ${plan.side}: ${run.note}`);
  } finally {
    try {
      await sweep(plan.target, plan.token, workloadNames(plan.token));
    } catch (err) {
      run.note = [run.note, `cleanup: ${firstLine(err)}`].filter(Boolean).join('; ');
    }
  }
  return run;
}

/** Which targets can run; the others are recorded as skipped, with why. */
async function available(
  settings: MessagingSettings,
  out: MessagingResult,
  log: (message: string) => void,
): Promise<TargetId[]> {
  const running: TargetId[] = [];
  for (const target of settings.targets) {
    const missing = await serverMissing(target);
    if (missing) {
      out.skipped.push({ target, reason: `skipped: ${missing}` });
      log(`messaging ${target}: skipped: ${missing}`);
      continue;
    }
    for (const side of targetInfo(target).sides) {
      const why = sideMissing(target, side);
      if (why) {
        out.skipped.push({ target, side, reason: `skipped: ${why}` });
        log(`messaging ${target} ${side}: skipped: ${why}`);
      }
    }
    const note = await serverNote(target);
    if (note) out.servers[target] = note;
    running.push(target);
  }
  return running;
}

export async function measureMessaging(
  settings: MessagingSettings,
  log: (message: string) => void,
): Promise<MessagingResult> {
  const finish = startPart(settings.command);
  const out: MessagingResult = {
    run: finish(),
    settings: {
      messages: settings.messages,
      inFlight: settings.inFlight,
      payloadBytes: settings.payloadBytes,
      warmupMessages: warmupMessages(settings.messages),
      phaseTimeoutMs: phaseTimeoutMs(settings.messages),
      consumerWindow: CONSUMER_WINDOW,
      rounds: settings.rounds,
      targets: [...settings.targets],
      retained: settings.retained,
    },
    status: 'ok',
    skipped: [],
    servers: {},
    orders: [],
    runs: [],
  };
  try {
    const running = await available(settings, out, log);
    const runId = randomBytes(3).toString('hex');
    for (let round = 0; round < settings.rounds; round++) {
      const order = roundOrder(running, round);
      out.orders.push(order);
      log(
        `messaging round ${round + 1}/${settings.rounds}: ${order.join(', ')} (${settings.messages} messages per phase)`,
      );
      for (const [position, target] of order.entries()) {
        const sides = targetInfo(target).sides.filter((side) => !sideMissing(target, side));
        // Which side goes first alternates, from round to round and from target to target.
        if ((round + position) % 2 === 1) sides.reverse();
        log(`messaging ${target}: ${sides.join(' then ')}…`);
        for (const side of sides) {
          const token = `${runId}-${round}${side === 'switchboard' ? 's' : 'b'}`;
          out.runs.push(await runSide({ target, side, round, position, token }, settings, log));
        }
      }
    }
    if (settings.retained > 0) {
      out.retained = await measureRetained(
        {
          host: settings.host,
          messages: settings.retained,
          payloadBytes: settings.payloadBytes,
          inFlight: settings.inFlight,
          loadMs: 1500,
        },
        log,
      );
    }
    const failed = out.runs.filter((r) => r.status !== 'ok');
    if (out.runs.length > 0 && failed.length === out.runs.length) {
      out.status = 'failed';
      out.note = 'every run failed';
    }
  } catch (err) {
    out.status = 'failed';
    out.note = `failed: ${firstLine(err)}`;
    log(`messaging: ${out.note}`);
  }
  return { ...out, run: finish() };
}
