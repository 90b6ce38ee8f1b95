/** The report's "Messaging" section and its comparison lines (docs/benchmarks.md). */
import type { PartRun } from '../cluster-results.ts';
import {
  type Comparison,
  cell,
  int,
  measured,
  mib,
  ms,
  range,
  table,
  target,
  verdict,
} from '../report-kit.ts';
import { median, type Spread } from '../rounds.ts';
import {
  type MessagingResult,
  p99,
  type RetainedResult,
  type SideSummary,
  sideRatios,
  summarizeSide,
} from './results.ts';
import { type TargetId, targetInfo } from './targets.ts';

/** Switchboard adapter vs the broker's own client (issue 4's target). */
const ADAPTER_TARGET = 0.8;
/** The embedded broker vs NATS JetStream with file storage (issue 4's target). */
const EMBEDDED_TARGET = 1.0;

const sb = (target: TargetId) => ({ target, side: 'switchboard' as const });
const bare = (target: TargetId) => ({ target, side: 'bare' as const });

function ran(result: MessagingResult, target: TargetId, side: 'switchboard' | 'bare'): boolean {
  return result.runs.some((r) => r.target === target && r.side === side);
}

/** The comparison lines of one target: those of its table, and of the report's Ratios table. */
function targetComparisons(result: MessagingResult, id: TargetId): Comparison[] {
  const over = { noun: 'rounds' as const, count: result.settings.rounds };
  if (id === 'embedded') {
    const vs = (other: TargetId, label: string, atLeast?: number): Comparison[] =>
      ran(result, other, 'bare')
        ? [
            {
              name: `messaging: embedded broker vs ${label}, publish msgs/s`,
              values: sideRatios(result, sb('embedded'), bare(other), 'publish'),
              over,
              atLeast,
            },
            {
              name: `messaging: embedded broker vs ${label}, consume msgs/s`,
              values: sideRatios(result, sb('embedded'), bare(other), 'consume'),
              over,
              atLeast,
            },
            {
              name: `messaging: embedded broker vs ${label}, end-to-end msgs/s`,
              values: sideRatios(result, sb('embedded'), bare(other), 'endToEnd'),
              over,
            },
          ]
        : [];
    return [
      ...vs('nats', 'NATS JetStream (file), bare client', EMBEDDED_TARGET),
      ...vs('redis', 'Redis Streams, bare client'),
    ];
  }
  if (!ran(result, id, 'switchboard') || !ran(result, id, 'bare')) return [];
  const line = (what: string, phase: 'publish' | 'consume' | 'endToEnd', atLeast?: number): Comparison => ({
    name: `messaging ${id}: Switchboard vs bare client, ${what}`,
    values: sideRatios(result, sb(id), bare(id), phase),
    over,
    atLeast,
  });
  return [
    line('publish msgs/s', 'publish', ADAPTER_TARGET),
    line('consume msgs/s', 'consume', ADAPTER_TARGET),
    line('end-to-end msgs/s', 'endToEnd'),
    {
      name: `messaging ${id}: Switchboard vs bare client, end-to-end p99`,
      values: sideRatios(result, sb(id), bare(id), 'endToEnd', p99),
      over,
      note: 'lower is better',
    },
  ];
}

export function messagingComparisons(result: MessagingResult | undefined): Comparison[] {
  if (!result) return [];
  return result.settings.targets.flatMap((id) => targetComparisons(result, id));
}

const loads = (numbers: readonly number[]) => numbers.map((n) => n.toFixed(2)).join(', ');

function producedBy(run: PartRun): string {
  return `Produced by \`${run.command}\` on ${run.date} (Node ${run.node}); load average (1, 5, 15 min) as the part started: ${loads(run.loadBefore)}; as it ended: ${loads(run.loadAfter)}.`;
}

function figuresTable(result: MessagingResult, rows: SideSummary[]): string {
  const rounds = result.settings.rounds;
  const rate = (s: Spread | undefined): string[] => {
    const median = s ? `**${int(s.median)}**` : '—';
    if (rounds <= 1) return [median];
    const partial = s && s.count < rounds ? ` (${s.count} of ${rounds} rounds)` : '';
    return [median, s ? `${range([s.min, s.max], 1, int)}${partial}` : '—'];
  };
  const rated = (what: string) => (rounds > 1 ? [`${what} msgs/s`, 'range'] : [`${what} msgs/s`]);
  return table(
    [
      'side',
      ...rated('publish'),
      'publish p50 / p99 ms',
      ...rated('consume'),
      'end-to-end msgs/s',
      'end-to-end p50 / p99 ms',
      'rounds ok',
      'note',
    ],
    rows.map((s) => [
      s.driver ?? `${s.side} ${s.target}`,
      ...rate(s.publish),
      `${ms(s.publishP50Ms)} / ${ms(s.publishP99Ms)}`,
      ...rate(s.consume),
      s.endToEnd ? int(s.endToEnd.median) : '—',
      `${ms(s.endToEndP50Ms)} / ${ms(s.endToEndP99Ms)}`,
      `${s.okRounds} of ${s.rounds}`,
      cell([s.duplicates ? `${s.duplicates} redeliveries` : '', s.note ?? ''].filter(Boolean).join('; ')),
    ]),
  );
}

function ratioTable(result: MessagingResult, lines: Comparison[]): string {
  const rounds = result.settings.rounds;
  return table(
    ['comparison', ...(rounds > 1 ? ['measured (median)', 'range'] : ['measured']), 'target', 'verdict'],
    lines.map((c) => [
      c.name,
      measured(c, median(c.values)),
      ...(rounds > 1 ? [range(c.values, rounds, (n) => n.toFixed(2), '×')] : []),
      target(c),
      verdict(c),
    ]),
  );
}

function targetSection(result: MessagingResult, id: TargetId): string[] {
  const info = targetInfo(id);
  const out = [`### ${info.label}`, ''];
  const whole = result.skipped.find((s) => s.target === id && !s.side);
  if (whole) return [...out, `_${whole.reason}_`, ''];
  out.push(`Server: ${result.servers[id] ?? info.server}.`, '');
  const sides = result.skipped.filter((s) => s.target === id && s.side);
  if (sides.length) out.push(...sides.map((s) => `- ${s.side} side ${s.reason}`), '');
  const rows = info.sides
    .filter((side) => ran(result, id, side))
    .map((side) => summarizeSide(result, id, side));
  if (rows.length) out.push(figuresTable(result, rows), '');
  const lines = targetComparisons(result, id);
  if (lines.length) out.push(ratioTable(result, lines), '');
  return out;
}

function retainedSection(r: RetainedResult | undefined, retained: number): string[] {
  const title = `### Embedded broker: memory with ${int(retained)} messages retained, recovery after SIGKILL`;
  if (!r) return [title, '', '_Not run (`--retained 0`)._', ''];
  const out = [title, ''];
  if (r.memory) {
    const { empty, retained: full } = r.memory;
    const perMessage = (key: 'rss' | 'heapUsed') => `${((full[key] - empty[key]) / r.messages).toFixed(1)} B`;
    out.push(
      table(
        ['hub process', 'RSS MiB', 'heapUsed MiB', 'external MiB'],
        [
          ['empty, listening', mib(empty.rss), mib(empty.heapUsed), mib(empty.external)],
          [
            `${int(r.messages)} × ${r.payloadBytes} B retained`,
            mib(full.rss),
            mib(full.heapUsed),
            mib(full.external),
          ],
        ],
      ),
      '',
      `Added per retained message: ${perMessage('rss')} RSS, ${perMessage('heapUsed')} heap. The messages were appended to the log in batches (${((r.fillMs ?? 0) / 1000).toFixed(1)} s), then the broker opened the full topic in ${ms(r.openMs)} ms (first publish to it).`,
      '',
    );
  }
  if (r.load && r.recovery) {
    const rec = r.recovery;
    out.push(
      table(
        ['SIGKILL mid-load, then reopen', 'value'],
        [
          [
            'load before the kill',
            `${(r.load.ms / 1000).toFixed(1)} s, ${r.load.inFlight} publishes in flight through HubBroker`,
          ],
          ['publishes acknowledged / failed', `${int(r.load.acked)} / ${int(r.load.failed)}`],
          ['**recovery**: open → first publish acknowledged', `**${ms(rec.ms)} ms**`],
          ['the same after a clean close', `${ms(rec.cleanMs)} ms`],
          ['records after recovery / at least expected', `${int(rec.records)} / ${int(rec.expected)}`],
          ['acknowledged messages missing', rec.missing === 0 ? '**0**' : `**${int(rec.missing)}**`],
          ['log on disk', `${mib(rec.logBytes)} MiB`],
        ],
      ),
      '',
      'Recovery is all a fresh process does from `LogBroker.open` on the crashed directory until a publish to the',
      "crashed topic is acknowledged: each partition's tail checked (a torn write cut), and the dedupe window",
      'rebuilt from the latest records (full here: the kill comes seconds after the fill). "Missing" counts',
      'acknowledged publishes (the fill, then the load) beyond the records found: it must be 0.',
      '',
    );
  }
  if (r.status !== 'ok') out.push(`**${r.status}**: ${cell(r.note)}`, '');
  return out;
}

export function messagingSection(result: MessagingResult | undefined): string {
  if (!result) return '_Not run._';
  const s = result.settings;
  const out = [
    producedBy(result.run),
    '',
    `Each broker is driven twice per round, each time by a fresh process: through its Switchboard adapter`,
    `(\`Broker.publish\` awaiting the receipt; \`subscribe\` with a group from the earliest message, maxInFlight`,
    `${s.consumerWindow}, the handler returning = ack) and through its own client used directly (bench/messaging/bare-*.ts,`,
    `same durability, same consumer window). Workload, after ${int(s.warmupMessages)} warm-up messages: publish ${int(s.messages)} messages of`,
    `${s.payloadBytes} B with ${s.inFlight} awaiting their confirm (msgs/s, publish → confirm p50/p99); consume them from the`,
    'earliest as a new group (msgs/s from the consume call to the last message); end to end on a fresh topic',
    `with the consumer attached first (proved live by a probe): ${int(s.messages)} publishes, ${s.inFlight} in flight, latency from`,
    'the publish time carried in the payload to the consumer callback, and delivered msgs/s. Publisher and consumer',
    `share one process and one connection; each phase fails after ${s.phaseTimeoutMs / 1000} s rather than hang. Figures are medians`,
    `of ${s.rounds} round(s); ratios are taken within a round. The targets run in an order that changes every round, and`,
    'which side goes first alternates. Command line above; see bench/README.md for the flags.',
    '',
    `The embedded broker is a \`HubServer\` with a data directory in its own process (the embedded log, default group`,
    'commit), reached through `HubBroker`, on the same workload; it is compared with the bare NATS JetStream and Redis',
    'Streams runs of the same round.',
    '',
    'Own code on this hot path: the Consume stream between the hub and `HubBroker` is encoded and decoded by hand',
    '(src/services/broker/consume-codec.ts, same wire as broker.proto, fuzzed against protobufjs) instead of by',
    'protobufjs. `npx tsx bench/messaging/consume-cpu.ts` (200,000 messages of 1 KiB after 50,000 warm-up, one',
    'HubBroker subscriber, maxInFlight 256, CPU from `process.cpuUsage` in both processes; medians of 3 runs) measured',
    'on 2026-12-03, the commit before that change against the one after it (with fewer payload copies and less',
    'per-delivery work in the consumer group): 50,934 -> 95,930 msgs/s, hub 22.8 -> 10.2 µs and client 5.7 -> 4.9 µs',
    "per delivered message (the three changes together; the codec's own share is not measured apart by a command here).",
    '',
  ];
  if (result.status !== 'ok') out.push(`**${result.status}**: ${cell(result.note)}`, '');
  for (const id of s.targets) out.push(...targetSection(result, id));
  out.push(...retainedSection(result.retained, s.retained));
  return out.join('\n').trimEnd();
}
