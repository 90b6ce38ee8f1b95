import { setTimeout as sleep } from 'node:timers/promises';
import {
  type HubChange,
  type HubResult,
  startPart,
  type WatchCase,
  watchFigures,
} from './cluster-results.ts';
import { BenchChild } from './processes.ts';
import type { MemorySample } from './protocol.ts';
import { firstLine } from './throughput.ts';

/**
 * The hub part: a HubServer (its own process) holding `instances` registered instances of
 * `services` services, watched by `watchers` event streams from `clientProcesses` processes;
 * how long one change takes to reach every watcher, what the hub holds in memory, and how long
 * registering took.
 */

export interface HubSettings {
  host: string;
  command: string;
  instances: number;
  services: number;
  watchers: number;
  changes: number;
  clientProcesses: number;
}

/** Registrations in flight while the instances are registered. */
const REGISTER_CONCURRENCY = 64;
/**
 * Changes made first and left out of the figures: the first fan-out of a fresh hub and reader
 * runs cold code and allocates for the first time (the report gives their times apart).
 */
const WARMUP_CHANGES = 2;
/** The instances' lease: long enough that no heartbeat runs during the part. */
const LEASE_MS = 300_000;

export function serviceNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `bench.s${String(i).padStart(3, '0')}.Greeter`);
}

async function sample(hub: BenchChild): Promise<MemorySample> {
  hub.send({ cmd: 'memory' });
  return (await hub.next('memory', 30_000)).sample;
}

export async function measureHub(settings: HubSettings, log: (message: string) => void): Promise<HubResult> {
  const finish = startPart(settings.command);
  const base = {
    settings: {
      instances: settings.instances,
      services: settings.services,
      watchers: settings.watchers,
      changes: settings.changes,
      clientProcesses: settings.clientProcesses,
    },
  };
  const hub = new BenchChild({ role: 'hub', host: settings.host });
  const clients: BenchChild[] = [];
  const cases: WatchCase[] = [];
  const result: Omit<HubResult, 'run' | 'status'> = { ...base, cases };
  try {
    const { port } = await hub.next('ready', 60_000);
    const url = `http://${settings.host}:${port}`;
    for (let i = 0; i < settings.clientProcesses; i++)
      clients.push(new BenchChild({ role: 'hub-client', url }));
    await Promise.all(clients.map((c) => c.next('warm', 60_000)));
    const empty = await sample(hub);

    const names = serviceNames(settings.services);
    const perService = Math.ceil(settings.instances / settings.services);
    log(`hub: registering ${perService * names.length} instances of ${names.length} services…`);
    clients[0]!.send({
      cmd: 'register',
      services: names,
      perService,
      concurrency: REGISTER_CONCURRENCY,
      ttlMs: LEASE_MS,
    });
    const registered = await clients[0]!.next('registered', 600_000);
    result.register = { ms: registered.ms, concurrency: REGISTER_CONCURRENCY, errors: registered.errors };
    log(
      `  ${registered.count} in ${(registered.ms / 1000).toFixed(2)} s${registered.errors ? ` (${registered.errors} errors, first: ${registered.firstError})` : ''}`,
    );
    const full = await sample(hub);
    result.memory = { empty, registered: full };

    const oneService = names[0]!;
    cases.push(
      await watchCase(
        {
          id: 'one-service',
          label: `${settings.watchers.toLocaleString('en-US')} watchers of one service`,
          streams: Array<string>(settings.watchers).fill(oneService),
          changed: () => oneService,
          afterOpen: async () => {
            result.memory = { empty, registered: full, watching: await sample(hub) };
            hub.send({ cmd: 'hub-stats' });
            result.stats = (await hub.next('hub-stats', 10_000)).stats;
          },
        },
        clients,
        settings,
        log,
      ),
    );
    cases.push(
      await watchCase(
        {
          id: 'spread',
          label: `${settings.watchers.toLocaleString('en-US')} watchers spread over ${names.length} services`,
          streams: Array.from({ length: settings.watchers }, (_, i) => names[i % names.length]!),
          // Each register/deregister pair on a service of its own.
          changed: (j) => names[(j >> 1) % names.length]!,
        },
        clients,
        settings,
        log,
      ),
    );
    const failed = cases.filter((c) => c.status !== 'ok');
    return {
      run: finish(),
      ...result,
      status: failed.length === cases.length ? 'failed' : 'ok',
      note: failed.length ? failed.map((c) => `${c.id}: ${c.note}`).join('; ') : undefined,
    };
  } catch (err) {
    return { run: finish(), ...result, status: 'failed', note: `failed: ${firstLine(err)}` };
  } finally {
    await Promise.all(clients.map((c) => c.stop()));
    await hub.stop();
  }
}

interface CasePlan {
  id: WatchCase['id'];
  label: string;
  /** The service of each watcher. */
  streams: string[];
  /** The service the j-th change touches (register on even j, deregister on odd j). */
  changed: (j: number) => string;
  afterOpen?: () => Promise<void>;
}

async function watchCase(
  plan: CasePlan,
  clients: readonly BenchChild[],
  settings: HubSettings,
  log: (message: string) => void,
): Promise<WatchCase> {
  const watchersPerService = plan.streams.filter((s) => s === plan.changed(0)).length;
  const out: WatchCase = {
    id: plan.id,
    label: plan.label,
    watchers: plan.streams.length,
    watchersPerService,
    eventBytes: 0,
    openMs: 0,
    status: 'ok',
    changes: [],
  };
  log(`hub: ${plan.label}: opening the streams…`);
  try {
    // Watchers dealt out to the client processes in turn.
    for (const [k, client] of clients.entries())
      client.send({ cmd: 'watch', services: plan.streams.filter((_, i) => i % clients.length === k) });
    const opened = await Promise.all(clients.map((c) => c.next('watching', 180_000)));
    out.openMs = Math.max(...opened.map((o) => o.ms));
    out.eventBytes = opened[0]?.eventBytes ?? 0;
    await plan.afterOpen?.();
    log(
      `  ${plan.streams.length} open in ${(out.openMs / 1000).toFixed(2)} s; ${WARMUP_CHANGES} + ${settings.changes} changes…`,
    );
    for (let j = 0; j < WARMUP_CHANGES + settings.changes; j++) {
      const service = plan.changed(j);
      const kind = j % 2 === 0 ? 'register' : 'deregister';
      // A quiet moment between changes, so each is measured alone.
      await sleep(50);
      clients[0]!.send({ cmd: 'change', kind, service, id: `change-${j >> 1}` });
      const { index, at } = await clients[0]!.next('changed', 30_000);
      for (const c of clients) c.send({ cmd: 'arrivals', service, index, timeoutMs: 10_000 });
      const arrivals = await Promise.all(clients.map((c) => c.next('arrivals', 30_000)));
      const change: HubChange = {
        kind,
        service,
        index,
        deliveries: arrivals.flatMap((a) => a.at.map((t) => t - at)),
        missing: arrivals.reduce((n, a) => n + a.missing, 0),
        ...(j < WARMUP_CHANGES ? { warmup: true } : {}),
      };
      out.changes.push(change);
    }
    const figures = watchFigures(out);
    if (figures.missing > 0) out.note = `${figures.missing} deliveries never arrived (10 s timeout)`;
    log(
      `  change → every watcher: p50 ${figures.everyWatcher?.p50.toFixed(1)} ms, max ${figures.everyWatcher?.max.toFixed(1)} ms; ` +
        `per delivery p99 ${figures.delivery?.p99.toFixed(1)} ms`,
    );
  } catch (err) {
    out.status = 'failed';
    out.note = `failed: ${firstLine(err)}`;
    log(`  ${out.note}`);
  } finally {
    for (const c of clients) c.send({ cmd: 'unwatch' });
    await Promise.allSettled(clients.map((c) => c.next('unwatched', 30_000)));
  }
  return out;
}
