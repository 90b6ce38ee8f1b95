/**
 * The measured workload of one MessagingDriver, the same for the Switchboard side and the bare
 * side of a comparison:
 *
 * - warm-up: a few messages published and consumed on a topic of their own (not measured);
 * - publish: N messages, `inFlight` publishes awaiting their confirm at once → msgs/s and
 *   publish latency p50/p99;
 * - consume: those N read from the earliest by a new group → msgs/s, from the consume() call to
 *   the last distinct message;
 * - end to end: a consumer attached first to a fresh topic (and proved live by a probe
 *   message), then N publishes, `inFlight` at once → latency from the payload's publish time
 *   to onMessage (p50/p99), and delivered msgs/s from the first publish to the last delivery.
 *
 * Every phase has a time limit: past it the phase fails with a note instead of hanging. Topic
 * and group names carry the run's token, and the driver's cleanup() runs at the end if it has one.
 */
import { type Percentiles, percentiles } from '../cluster-results.ts';
import { firstLine } from '../throughput.ts';
import type { Consumption, MessagingDriver } from './driver.ts';
import { makePayload, nowMs, PROBE_SEQ, readStamp } from './payload.ts';

export interface WorkloadSettings {
  /** Messages of each measured phase. */
  messages: number;
  /** Publishes awaiting their confirm at once. */
  inFlight: number;
  payloadBytes: number;
  /** Messages published and consumed before measuring, on a topic of their own. */
  warmupMessages: number;
  /** Each phase fails, with a note, rather than run longer than this. */
  phaseTimeoutMs: number;
  /** Makes the run's topic and group names unique: letters, digits and '-' only. */
  token: string;
  /**
   * Join each group (consume, then close) before publishing what it is to read: RabbitMQ keeps
   * a message only for the queues that exist when it is published.
   */
  joinGroupsFirst?: boolean;
}

export interface PhaseResult {
  status: 'ok' | 'failed';
  note?: string;
  /** Messages the phase completed: confirmed publishes, or distinct messages consumed. */
  messages: number;
  seconds: number;
  msgsPerS?: number;
  /** Publish latency (publish → confirm), or end to end (publish time → onMessage), ms. */
  latency?: Percentiles;
  /** Deliveries of a message already delivered (at-least-once redeliveries). */
  duplicates?: number;
}

export interface WorkloadResult {
  driver: string;
  publish: PhaseResult;
  consume: PhaseResult;
  endToEnd: PhaseResult;
  /** Set when the driver's cleanup failed or took too long. */
  cleanupNote?: string;
}

export interface WorkloadNames {
  topics: { warmup: string; publish: string; endToEnd: string };
  groups: { warmup: string; consume: string; endToEnd: string };
}

export function workloadNames(token: string): WorkloadNames {
  if (!/^[A-Za-z0-9-]+$/.test(token)) throw new TypeError(`token "${token}": letters, digits and - only`);
  const name = (what: string) => `sbbench-${token}-${what}`;
  return {
    topics: { warmup: name('warm'), publish: name('load'), endToEnd: name('e2e') },
    groups: { warmup: name('warm-g'), consume: name('read-g'), endToEnd: name('e2e-g') },
  };
}

/** How long closing a consumer, preparing a topic or cleaning up may take. */
const HOUSEKEEPING_MS = 15_000;
/** How often the end-to-end phase sends a probe until its consumer receives one. */
const PROBE_EVERY_MS = 250;

const TIMED_OUT = Symbol('timed out');

async function within<T>(work: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const expiry = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), Math.max(0, ms));
  });
  try {
    return await Promise.race([work, expiry]);
  } finally {
    clearTimeout(timer);
  }
}

function failed(note: string): PhaseResult {
  return { status: 'failed', note, messages: 0, seconds: 0 };
}

interface Published {
  /** 1 at each sequence number the broker confirmed. */
  confirmed: Uint8Array;
  count: number;
  latencies: number[];
  errors: number;
  firstError?: string;
  timedOut: boolean;
  seconds: number;
}

async function publishMany(
  driver: MessagingDriver,
  topic: string,
  count: number,
  settings: WorkloadSettings,
  timeoutMs: number,
): Promise<Published> {
  const out: Published = {
    confirmed: new Uint8Array(count),
    count: 0,
    latencies: [],
    errors: 0,
    timedOut: false,
    seconds: 0,
  };
  let next = 0;
  let stop = false;
  const lane = async () => {
    while (!stop && next < count) {
      const seq = next++;
      const t = performance.now();
      try {
        await driver.publish(topic, makePayload(settings.payloadBytes, seq, performance.timeOrigin + t));
        out.latencies.push(performance.now() - t);
        out.confirmed[seq] = 1;
        out.count++;
      } catch (err) {
        out.errors++;
        out.firstError ??= firstLine(err);
      }
    }
  };
  const started = performance.now();
  const lanes = Array.from({ length: Math.min(settings.inFlight, count) }, lane);
  out.timedOut = (await within(Promise.all(lanes), timeoutMs)) === TIMED_OUT;
  stop = true;
  out.seconds = (performance.now() - started) / 1000;
  return out;
}

function publishProblem(p: Published, total: number, timeoutMs: number): string | undefined {
  const notes: string[] = [];
  if (p.timedOut) notes.push(`${p.count} of ${total} publishes confirmed within ${timeoutMs / 1000} s`);
  if (p.errors) notes.push(`${p.errors} publishes failed, first: ${p.firstError}`);
  return notes.length ? notes.join('; ') : undefined;
}

/** Closes a consumer once it has joined; a note when that fails or takes too long. */
async function leave(joining: Promise<Consumption>): Promise<string | undefined> {
  try {
    const closed = await within(
      joining.then((c) => c.close()),
      HOUSEKEEPING_MS,
    );
    return closed === TIMED_OUT ? `the consumer did not close within ${HOUSEKEEPING_MS / 1000} s` : undefined;
  } catch (err) {
    return `the consumer failed: ${firstLine(err)}`;
  }
}

function join(...notes: (string | undefined)[]): string | undefined {
  const present = notes.filter((n): n is string => Boolean(n));
  return present.length ? present.join('; ') : undefined;
}

/** Reads from the earliest as `group` until every confirmed message has arrived once. */
async function consumeAll(
  driver: MessagingDriver,
  topic: string,
  group: string,
  published: Published,
  timeoutMs: number,
): Promise<PhaseResult> {
  const seen = new Uint8Array(published.confirmed.length);
  let distinct = 0;
  let duplicates = 0;
  let lastAt = 0;
  let finish!: () => void;
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  if (published.count === 0) finish();
  const started = performance.now();
  const joining = driver.consume(topic, group, (payload) => {
    const stamp = readStamp(payload);
    if (!stamp || stamp.seq >= seen.length) return;
    if (seen[stamp.seq]) {
      duplicates++;
      return;
    }
    seen[stamp.seq] = 1;
    if (published.confirmed[stamp.seq] && ++distinct === published.count) {
      lastAt = performance.now();
      finish();
    }
  });
  let outcome: unknown;
  try {
    outcome = await within(
      joining.then(() => done),
      timeoutMs,
    );
  } catch (err) {
    await leave(joining);
    return failed(`consume failed: ${firstLine(err)}`);
  }
  const timedOut = outcome === TIMED_OUT;
  const seconds = ((timedOut ? performance.now() : lastAt) - started) / 1000;
  const closing = await leave(joining);
  return {
    status: timedOut ? 'failed' : 'ok',
    note: join(
      timedOut ? `${distinct} of ${published.count} consumed within ${timeoutMs / 1000} s` : undefined,
      closing,
    ),
    messages: distinct,
    seconds,
    msgsPerS: timedOut ? undefined : distinct / seconds,
    duplicates,
  };
}

function publishResult(p: Published, total: number, timeoutMs: number): PhaseResult {
  const problem = publishProblem(p, total, timeoutMs);
  return {
    status: problem ? 'failed' : 'ok',
    note: problem,
    messages: p.count,
    seconds: p.seconds,
    msgsPerS: problem ? undefined : p.count / p.seconds,
    latency: percentiles(p.latencies),
  };
}

/** Joins the group and leaves at once, so that it exists before anything is published. */
async function joinFirst(driver: MessagingDriver, topic: string, group: string): Promise<void> {
  const note = await leave(driver.consume(topic, group, () => {}));
  if (note) throw new Error(`joining ${group} before publishing: ${note}`);
}

async function endToEnd(
  driver: MessagingDriver,
  topic: string,
  group: string,
  settings: WorkloadSettings,
): Promise<PhaseResult> {
  const n = settings.messages;
  const limit = performance.now() + settings.phaseTimeoutMs;
  const left = () => limit - performance.now();
  const seen = new Uint8Array(n);
  const latencies: number[] = [];
  let duplicates = 0;
  let lastAt = 0;
  let target = n;
  let probed!: () => void;
  const probeArrived = new Promise<void>((resolve) => {
    probed = resolve;
  });
  let finish!: () => void;
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const joining = driver.consume(topic, group, (payload) => {
    const at = nowMs();
    const stamp = readStamp(payload);
    if (!stamp) return;
    if (stamp.seq === PROBE_SEQ) return probed();
    if (stamp.seq >= n) return;
    if (seen[stamp.seq]) {
      duplicates++;
      return;
    }
    seen[stamp.seq] = 1;
    latencies.push(at - stamp.at);
    lastAt = performance.now();
    if (latencies.length >= target) finish();
  });
  let result: PhaseResult;
  try {
    if ((await within(joining, left())) === TIMED_OUT) throw new Error('the consumer did not join in time');
    // The consumer is live once it receives something: a group join (Kafka) may take seconds.
    for (;;) {
      if (left() <= 0) throw new Error('no probe message reached the consumer in time');
      await within(driver.publish(topic, makePayload(settings.payloadBytes, PROBE_SEQ)), left());
      if ((await within(probeArrived, Math.min(PROBE_EVERY_MS, left()))) !== TIMED_OUT) break;
    }
    const started = performance.now();
    const published = await publishMany(driver, topic, n, settings, left());
    target = published.count;
    if (latencies.length >= target) finish();
    const problem = publishProblem(published, n, settings.phaseTimeoutMs);
    const timedOut = (await within(done, left())) === TIMED_OUT;
    const seconds = (lastAt - started) / 1000;
    result = {
      status: problem || timedOut ? 'failed' : 'ok',
      note: join(
        problem,
        timedOut
          ? `${latencies.length} of ${target} delivered within ${settings.phaseTimeoutMs / 1000} s`
          : undefined,
      ),
      messages: latencies.length,
      seconds,
      msgsPerS: problem || timedOut ? undefined : latencies.length / seconds,
      latency: percentiles(latencies),
      duplicates,
    };
  } catch (err) {
    result = failed(`end to end: ${firstLine(err)}`);
  }
  const closing = await leave(joining);
  return closing ? { ...result, note: join(result.note, closing) } : result;
}

/** The warm-up, then the three phases, into `result`. */
async function measure(
  driver: MessagingDriver,
  settings: WorkloadSettings,
  result: WorkloadResult,
): Promise<void> {
  const { topics, groups } = workloadNames(settings.token);
  const timeoutMs = settings.phaseTimeoutMs;
  for (const topic of Object.values(topics)) {
    if (driver.prepare && (await within(driver.prepare(topic), HOUSEKEEPING_MS)) === TIMED_OUT)
      throw new Error(`preparing ${topic} took over ${HOUSEKEEPING_MS / 1000} s`);
  }
  if (settings.joinGroupsFirst) {
    await joinFirst(driver, topics.warmup, groups.warmup);
    await joinFirst(driver, topics.publish, groups.consume);
  }
  const warm = await publishMany(driver, topics.warmup, settings.warmupMessages, settings, timeoutMs);
  const warmProblem = publishProblem(warm, settings.warmupMessages, timeoutMs);
  const warmRead = warmProblem
    ? undefined
    : await consumeAll(driver, topics.warmup, groups.warmup, warm, timeoutMs);
  if (warmProblem || warmRead?.status !== 'ok') throw new Error(`warm-up: ${warmProblem ?? warmRead?.note}`);

  const published = await publishMany(driver, topics.publish, settings.messages, settings, timeoutMs);
  result.publish = publishResult(published, settings.messages, timeoutMs);
  result.consume =
    published.count > 0
      ? await consumeAll(driver, topics.publish, groups.consume, published, timeoutMs)
      : failed('not run: nothing was published');
  result.endToEnd = await endToEnd(driver, topics.endToEnd, groups.endToEnd, settings);
}

/** The workload on `driver`, which stays open: the caller closes it. */
export async function runWorkload(
  driver: MessagingDriver,
  settings: WorkloadSettings,
): Promise<WorkloadResult> {
  const result: WorkloadResult = {
    driver: driver.name,
    publish: failed('not run'),
    consume: failed('not run'),
    endToEnd: failed('not run'),
  };
  try {
    await measure(driver, settings, result);
  } catch (err) {
    const note = `failed: ${firstLine(err)}`;
    for (const phase of ['publish', 'consume', 'endToEnd'] as const)
      if (result[phase].note === 'not run') result[phase] = failed(note);
  }
  if (driver.cleanup) {
    const { topics, groups } = workloadNames(settings.token);
    try {
      const cleaned = await within(
        driver.cleanup(Object.values(topics), Object.values(groups)),
        HOUSEKEEPING_MS,
      );
      if (cleaned === TIMED_OUT) result.cleanupNote = `cleanup took over ${HOUSEKEEPING_MS / 1000} s`;
    } catch (err) {
      result.cleanupNote = `cleanup failed: ${firstLine(err)}`;
    }
  }
  return result;
}
