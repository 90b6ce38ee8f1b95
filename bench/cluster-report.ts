import {
  type BalancingResult,
  type GovernanceResult,
  type GovernanceTransportResult,
  governanceTransports,
  type HubResult,
  type PartRun,
  p99ByRound,
  type ScenarioId,
  summarizeScenario,
  watchFigures,
} from './cluster-results.ts';
import type { MemorySample } from './protocol.ts';
import { type Comparison, cell, int, mib, ms, range, table, times } from './report-kit.ts';
import { median, roundRatios } from './rounds.ts';

/** The report's sections on the cluster parts (balancing, governance, hub) and their ratios. */

export interface ClusterResults {
  balancing?: BalancingResult;
  governance?: GovernanceResult;
  hub?: HubResult;
}

const loads = (numbers: readonly number[]) => numbers.map((n) => n.toFixed(2)).join(', ');

function producedBy(run: PartRun): string {
  return `Produced by \`${run.command}\` on ${run.date} (Node ${run.node}); load average (1, 5, 15 min) as the part started: ${loads(run.loadBefore)}; as it ended: ${loads(run.loadAfter)}.`;
}

const pct = (share: number | undefined) => (share === undefined ? '—' : `${(100 * share).toFixed(2)}%`);

function scenarioRatios(result: BalancingResult, id: ScenarioId): number[] {
  return roundRatios(p99ByRound(result, id), p99ByRound(result, 'healthy')).map((r) => r.ratio);
}

export function clusterComparisons(results: ClusterResults): Comparison[] {
  const list: Comparison[] = [];
  const { balancing, governance, hub } = results;
  if (balancing) {
    const over = { noun: 'rounds' as const, count: balancing.settings.rounds };
    list.push(
      {
        name: 'balancing, one instance 10× slower: p99 with p2c_peak_ewma (default) vs p99 all healthy',
        values: scenarioRatios(balancing, 'p2c_peak_ewma'),
        over,
        atMost: 2,
      },
      {
        name: 'balancing, one instance 10× slower: p99 with round_robin vs p99 all healthy',
        values: scenarioRatios(balancing, 'round_robin'),
        over,
        note: 'for contrast: lower is better',
      },
      {
        name: 'balancing, one instance 10× slower: p99 with least_outstanding vs p99 all healthy',
        values: scenarioRatios(balancing, 'least_outstanding'),
        over,
        note: 'for contrast: lower is better',
      },
    );
  }
  if (governance) {
    for (const t of governanceTransports(governance)) {
      const pool = t.connections === undefined ? '' : `, ${t.connections} connections each`;
      list.push({
        name: `governance: by name through ClusterTransport vs direct (${t.transport}, ${governance.settings.concurrency} in flight${pool}), req/s${cpuNote(t)}`,
        values: t.ratios,
        over: { noun: 'pairs', count: governance.settings.pairs },
        atLeast: 0.95,
      });
    }
  }
  const oneService = hub?.cases.find((c) => c.id === 'one-service');
  if (hub && oneService) {
    const every = watchFigures(oneService).everyWatcher;
    list.push({
      name: `hub: a change → every one of ${int(oneService.watchers)} watchers of one service, p99 of ${oneService.changes.filter((c) => !c.warmup).length} changes (${int(hub.settings.instances)} instances registered)`,
      values: every ? [every.p99] : [],
      unit: 'ms',
      below: 100,
    });
  }
  return list;
}

export function balancingSection(result: BalancingResult | undefined): string {
  if (!result) return '_Not run._';
  const s = result.settings;
  const rows = (['healthy', 'round_robin', 'p2c_peak_ewma', 'least_outstanding'] as const).map((id) => {
    const sum = summarizeScenario(result, id);
    const ratios = id === 'healthy' ? [] : scenarioRatios(result, id);
    return [
      labelOf(id),
      ms(sum.p50Ms),
      `**${ms(sum.p99Ms)}**`,
      ms(sum.p999Ms),
      int(sum.rps),
      id === 'healthy' ? '—' : pct(sum.slowShare),
      ms(sum.lagP99Ms),
      id === 'healthy'
        ? '1.00×'
        : ratios.length
          ? `${times(median(ratios))} (${range(ratios, s.rounds, (n) => n.toFixed(2), '×')})`
          : 'n/a',
      sum.loadAverage ? range([sum.loadAverage.min, sum.loadAverage.max], 1, (n) => n.toFixed(2)) : '—',
      cell(
        sum.okRounds < sum.rounds
          ? `ok in ${sum.okRounds} of ${sum.rounds} rounds; ${sum.note ?? ''}`
          : sum.note,
      ),
    ];
  });
  return [
    producedBy(result.run),
    '',
    `${s.instances} Greeter instances (Switchboard \`Server\`, native transport) in one process, each answering`,
    `after a timer of ${s.healthyMs} ms; with "one slow", one of them answers after ${s.slowMs} ms. One client process calls`,
    '`greet.Greeter` by name, `connect(service, { registry, balancer })` (ClusterTransport over a',
    `StaticRegistry, retries and outlier detection at their defaults), at a fixed rate of ${int(s.ratePerS)} calls/s. Each`,
    `scenario has a fresh client: ${s.warmupS} s warm-up, then ${s.durationS} s measured${s.rounds > 1 ? `, in each of ${s.rounds} rounds (the order rotates)` : ''}. Figures are`,
    'medians over the rounds; the ratio to all healthy is taken within each round (median, and range).',
    '',
    table(
      [
        'scenario',
        'p50 ms',
        'p99 ms',
        'p99.9 ms',
        'calls/s',
        'calls to the slow one',
        'send lag p99 ms',
        'p99 vs all healthy',
        'load avg at start',
        'note',
      ],
      rows,
    ),
    '',
    '- **A fixed rate, not a closed loop**: a closed loop slows down with its answers, so a slow instance',
    '  lowers the load offered instead of showing in the latencies (and at saturation, on one machine,',
    "  every instance's queue is the same CPU). A fixed rate below capacity, as in Linkerd's \"Beyond",
    '  Round Robin" experiment, keeps offering the load. Every call scheduled in the window counts, however',
    '  late it answers. Latency runs from the moment a call was sent; "send lag" is how late sends ran',
    '  behind the schedule: a stalled client process (another process on the CPU) shows there.',
    `- **${s.healthyMs} ms and ${s.slowMs} ms**: delays are timers, so the instances cost no CPU while they wait. Node's`,
    '  timers have 1 ms resolution (a 1 ms timer takes 1–2 ms), and on this shared 2-core machine the',
    '  processes are descheduled for several ms at times: with 1 ms / 10 ms the all-healthy p99 would be',
    '  that noise, not the balancer. Ten times those delays keep the ratio about the balancer.',
    '- **"calls to the slow one"** counts every call of the scenario, warm-up included (the balancer has to',
    '  try an instance to learn it is slow). Round robin sends it 1 in 5 calls, so its p99 is the slow',
    '  latency; least outstanding sees calls in flight, not latency, and at this rate the slow instance',
    "  often has none, so it keeps getting calls; p2c_peak_ewma learns the slow instance's latency",
    "  and sends it a call only when its estimate has decayed (τ = 10 s) below the others' cost.",
  ].join('\n');
}

function labelOf(id: ScenarioId): string {
  switch (id) {
    case 'healthy':
      return 'all healthy, p2c_peak_ewma';
    case 'round_robin':
      return 'one slow, round_robin';
    case 'p2c_peak_ewma':
      return 'one slow, **p2c_peak_ewma** (default)';
    case 'least_outstanding':
      return 'one slow, least_outstanding';
  }
}

const cpu = (us: number | undefined) => (us === undefined ? '—' : us.toFixed(2));

/** "; client CPU per call 2.00 µs direct, 2.40 µs by name", or nothing when either is missing. */
function cpuNote(t: GovernanceTransportResult): string {
  const direct = t.direct?.cpuUsPerCall;
  const cluster = t.cluster?.cpuUsPerCall;
  if (direct === undefined || cluster === undefined) return '';
  return `; client CPU per call ${cpu(direct)} µs direct, ${cpu(cluster)} µs by name`;
}

function transportSummary(t: GovernanceTransportResult, pairs: number): string {
  const ratio = median(t.ratios);
  if (ratio === undefined) return `- **${t.transport}**: _no ratio: ${t.note ?? t.status}._`;
  const direct = t.direct?.cpuUsPerCall;
  const cluster = t.cluster?.cpuUsPerCall;
  const cpuText =
    direct !== undefined && cluster !== undefined
      ? ` Client CPU per call: ${cpu(direct)} µs direct, ${cpu(cluster)} µs by name (${cluster >= direct ? '+' : ''}${(cluster - direct).toFixed(2)} µs, ${times(cluster / direct)}).`
      : '';
  return `- **${t.transport}**: by name / direct, req/s: **${times(ratio)}** (median of ${t.ratios.length} pairs; range ${range(t.ratios, pairs, (n) => n.toFixed(2), '×', 'pairs')}).${cpuText}`;
}

export function governanceSection(result: GovernanceResult | undefined): string {
  if (!result) return '_Not run._';
  const s = result.settings;
  const transports = governanceTransports(result);
  const row = (t: GovernanceTransportResult, label: string, c: GovernanceTransportResult['direct']) => [
    t.transport,
    label,
    c?.rps ? `**${int(c.rps.median)}**` : '—',
    c?.rps ? range([c.rps.min, c.rps.max], 1, int) : '—',
    ms(c?.p50Ms),
    ms(c?.p99Ms),
    cpu(c?.cpuUsPerCall),
    String(c?.errors ?? '—'),
  ];
  const rows = transports.flatMap((t) => [row(t, 'direct', t.direct), row(t, 'by name', t.cluster)]);
  const http = transports.find((t) => t.transport === 'http');
  const names = transports.map((t) => t.transport).join(', ');
  return [
    producedBy(result.run),
    '',
    `One server process: Switchboard's \`Server\` serving ${names} (each on a port of its own), the Greeter`,
    'answering at once. One client process, for each transport in turn, with two clients of it:',
    '`connect(service, { target: "<transport>://…" })` (direct) and `connect(service, { registry, transports: [<transport>] })`',
    '(by name: ClusterTransport with its defaults: p2c_peak_ewma, retries within a retry budget, outlier',
    'detection; one instance, in a StaticRegistry, listing an endpoint per transport). Each runs a closed loop',
    `of ${s.concurrency} calls in flight, in alternating slices of ${s.sliceS} s (direct then by name, then by name then`,
    `direct, …), ${s.pairs} pairs per transport after ${s.warmupS} s of alternating warm-up; each ratio is taken within a`,
    'pair, so both sides of a ratio ran under the same conditions of the moment. "Client CPU per call" is the client',
    "process's CPU time (user + system) over a slice divided by the calls it completed: what calling by",
    'name costs the caller (it too rises when other processes compete for the cores). With many calls',
    "on few connections, client and server take turns on each batch of answers, so the client's time per",
    'call is on the critical path even though neither process fills a core: the req/s ratio is about',
    '(client + server CPU per call, direct) / (the same, by name).',
    ...(http
      ? [
          '',
          `HTTP: \`connect()\` passes no pool size to the transports it opens (\`clientTransport()\` and`,
          '`endpointTransport()` in src/app/connect.ts take only tls and maxMessageBytes), so through it both HTTP',
          `clients would queue ${s.concurrency} calls on the default 32 connections. Both are therefore built from the public parts`,
          `\`connect()\` uses, each with a pool of ${http.connections ?? '—'} keep-alive connections: \`createClient\` over an`,
          '`HttpClientTransport` (direct), and a `ClusterTransport` with the same defaults whose endpoint connector',
          'opens that same `HttpClientTransport` (by name); see bench/governance-clients.ts.',
        ]
      : []),
    '',
    table(
      [
        'transport',
        'client',
        'req/s (median)',
        'range',
        'p50 ms',
        'p99 ms',
        'client CPU per call µs',
        'errors',
      ],
      rows,
    ),
    '',
    ...transports.map((t) => transportSummary(t, s.pairs)),
    ...transports.filter((t) => t.note).map((t) => `\n_${t.transport}: ${t.note}_`),
    ...(result.note && transports.length === 0 ? ['', `_${result.note}_`] : []),
  ].join('\n');
}

export function hubSection(result: HubResult | undefined): string {
  if (!result) return '_Not run._';
  const s = result.settings;
  const warmups = Math.max(0, ...result.cases.map((c) => c.changes.filter((ch) => ch.warmup).length));
  const out = [
    producedBy(result.run),
    '',
    `A \`HubServer\` (defaults: Consul- and Eureka-compatible APIs on) in its own process. One client process`,
    `registers ${int(s.instances)} instances of ${s.services} services through \`HubRegistry\` (each with three endpoints,`,
    `a version, a zone and metadata; 300 s leases, so no heartbeat runs meanwhile), then opens ${int(s.watchers)} watch`,
    `streams and makes ${warmups} + ${s.changes} changes, one after another: register one instance of a watched service, then`,
    'deregister it, and so on, each once the previous one had reached every watcher.',
    "A delivery is timed from just before the change's HTTP request to the moment its event's last byte was",
    'read by the watcher. The watchers are raw HTTP clients of `GET /api/v1/watch/<service>` that find where',
    'each event ends and read its `id:` without parsing the JSON (see bench/hub-client.ts): a real watcher',
    'is a process of its own parsing its one copy. One client process: on 2 cores, more of them only take',
    'CPU from the hub (in a trial on this machine, 4 watcher processes made the times several times longer).',
    '',
  ];
  if (result.register) {
    const perS = (s.instances / result.register.ms) * 1000;
    out.push(
      `**Registering** ${int(s.instances)} instances, ${result.register.concurrency} registrations in flight from one process: **${(result.register.ms / 1000).toFixed(2)} s** (${int(perS)}/s)${result.register.errors ? `, ${result.register.errors} errors` : ''}.`,
      '',
    );
  }
  const memory = result.memory;
  if (memory) {
    const states: { label: string; sample: MemorySample; added?: { count: number; unit: string } }[] = [
      { label: 'empty, listening', sample: memory.empty },
      {
        label: `${int(s.instances)} instances`,
        sample: memory.registered,
        added: { count: s.instances, unit: 'instance' },
      },
    ];
    if (memory.watching)
      states.push({
        label: `${int(s.instances)} instances + ${int(s.watchers)} watchers`,
        sample: memory.watching,
        added: { count: s.watchers, unit: 'watcher' },
      });
    const tableRows = states.map(({ label, sample, added }, i) => {
      const previous = states[i - 1]?.sample;
      const each = (key: 'heapUsed' | 'rss') =>
        previous && added
          ? `${((sample[key] - previous[key]) / added.count / 1024).toFixed(2)} KiB per ${added.unit}`
          : '—';
      return [
        label,
        mib(sample.rss),
        mib(sample.heapUsed),
        mib(sample.external),
        each('heapUsed'),
        each('rss'),
      ];
    });
    out.push(
      '**Memory of the hub process** (after forced GCs):',
      '',
      table(['state', 'RSS MiB', 'heapUsed MiB', 'external MiB', 'heapUsed added', 'RSS added'], tableRows),
      '',
      "The Eureka-compatible API keeps every change of its last 3 minutes for its delta endpoint (Eureka's",
      'window), so right after registering, the heap holds each new instance twice; it shrinks once they age out.',
      '',
    );
  }
  if (result.stats)
    out.push(
      `Hub stats with the watchers open: ${int(result.stats.instances)} instances, ${int(result.stats.watchers)} watch streams, ${int(result.stats.connections)} connections (the registering client's idle keep-alive ones included), ${int(result.stats.watchBufferedBytes)} bytes queued to watchers.`,
      '',
    );
  const rows = result.cases.map((c) => {
    const f = watchFigures(c);
    const trio = (p: typeof f.delivery) => (p ? `${ms(p.p50)} / **${ms(p.p99)}** / ${ms(p.max)}` : '—');
    return [
      c.label,
      int(c.watchersPerService),
      `${(c.eventBytes / 1024).toFixed(1)} KiB`,
      `${(c.openMs / 1000).toFixed(2)} s`,
      f.firstWatcher ? ms(f.firstWatcher.p50) : '—',
      trio(f.delivery),
      `${trio(f.everyWatcher)} (${f.everyWatcher?.count ?? 0} changes)`,
      f.warmupMs.map((t) => ms(t)).join(', ') || '—',
      cell([c.status === 'ok' ? '' : c.status, c.note].filter(Boolean).join(': ')),
    ];
  });
  out.push(
    table(
      [
        'watchers',
        'watchers of the changed service',
        'event size',
        'streams opened in',
        'change → first watcher p50 ms',
        'each delivery p50 / p99 / max ms',
        'change → every watcher p50 / p99 / max ms',
        'warm-up changes ms',
        'note',
      ],
      rows,
    ),
    '',
    'Every change sends the full instance list of its service: with 1,000 watchers of one service, one',
    'change is 1,000 copies of that event leaving the hub at once. "Change → first watcher" is about the',
    'hub alone (the request, the table, rendering the event); "change → every watcher" is the time until',
    `the last copy was read, so it also counts moving them all through loopback into one process (of ${s.changes}`,
    `changes, p99 is the slowest). The first ${warmups} changes of each case warm the code up (a cold hub and`,
    'reader) and are not counted; their times are in "warm-up changes".',
  );
  if (result.note) out.push('', `_${result.note}_`);
  return out.join('\n');
}
