import type { EndpointTransport } from '../../discovery/instance.ts';
import type { InstanceTable } from '../../discovery/instance-table.ts';
import type { Broker, TopicStats } from '../../messaging/broker.ts';
import type { EjectionReports } from './ejection-reports.ts';
import type { EdgeStats, TopologyStats } from './topology-stats.ts';

/** The dashboard's whole picture at one moment (`GET /api/v1/dashboard/snapshot`). */
export interface DashboardSnapshot {
  /** Epoch milliseconds. */
  time: number;
  services: ServiceView[];
  edges: EdgeStats[];
  topics: TopicView[];
}

export interface ServiceView {
  /** The name its spans carry (service.name), else the name it registered under. */
  name: string;
  /** The contract services its instances registered ("shop.v1.Orders"): what has a contract. */
  serves: string[];
  /** Registered instances; [] for a service known only from its spans. */
  instances: InstanceView[];
}

export interface InstanceView {
  id: string;
  service: string;
  endpoints: { transport: EndpointTransport; host: string; port: number }[];
  /** The registry's health: passing, warning or critical. */
  health: string;
  /** Some caller reported it ejected (outlier detection) within the last minute. */
  ejected: boolean;
  zone?: string;
  version?: string;
}

export interface TopicView {
  name: string;
  /** Messages ever published (as far as the broker knows). */
  published: number;
  /** Messages per second over the last minute of snapshots. */
  publishRate: number;
  groups: { name: string; lag: number; deadLettered: number }[];
}

export interface SnapshotSources {
  registry: InstanceTable;
  topology: TopologyStats;
  ejections: EjectionReports;
  /** The hub's broker, once listening; topics stay [] without one or without `stats()`. */
  broker: () => Broker | undefined;
  now?: () => number;
}

/** Builds snapshots; remembers recent `published` counts to turn them into rates. */
export class SnapshotBuilder {
  readonly #sources: SnapshotSources;
  readonly #now: () => number;
  /** topic → (time, published) samples of the last minute, oldest first. */
  readonly #history = new Map<string, { at: number; published: number }[]>();

  constructor(sources: SnapshotSources) {
    this.#sources = sources;
    this.#now = sources.now ?? Date.now;
  }

  async build(): Promise<DashboardSnapshot> {
    const topics = await this.#topics();
    const time = this.#now();
    return { time, services: this.#services(), edges: this.#sources.topology.edges(), topics };
  }

  /**
   * One node per process: registrations are named by contract service ("shop.v1.Orders"),
   * spans by process ("orders"); a registered service whose server spans name a process is
   * shown as that process, so each box on the graph has both its edges and its instances.
   */
  #services(): ServiceView[] {
    const { registry, ejections, topology } = this.#sources;
    const views = new Map<string, ServiceView>();
    const view = (name: string) => {
      let found = views.get(name);
      if (!found) {
        found = { name, serves: [], instances: [] };
        views.set(name, found);
      }
      return found;
    };
    for (const name of topology.services()) view(name);
    for (const service of registry.services()) {
      const target = view(topology.processOf(service) ?? service);
      target.serves.push(service);
      for (const entry of registry.entries(service)) {
        const i = entry.instance;
        target.instances.push({
          id: i.id,
          service: i.service,
          endpoints: i.endpoints.map((e) => ({ transport: e.transport, host: e.host, port: e.port })),
          health: entry.health,
          ejected: ejections.isEjected(i.id),
          ...(i.zone === undefined ? {} : { zone: i.zone }),
          ...(i.version === undefined ? {} : { version: i.version }),
        });
      }
    }
    return [...views.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async #topics(): Promise<TopicView[]> {
    const broker = this.#sources.broker();
    if (!broker?.stats) return [];
    let topics: TopicStats[];
    try {
      topics = (await broker.stats()).topics;
    } catch {
      // A broker that cannot tell now (closing) leaves the topics out of this snapshot only.
      return [];
    }
    const now = this.#now();
    const seen = new Set<string>();
    const views = topics.map((t): TopicView => {
      seen.add(t.name);
      return {
        name: t.name,
        published: t.published,
        publishRate: this.#rate(t.name, t.published, now),
        groups: t.groups.map((g) => ({ name: g.name, lag: g.lag, deadLettered: g.deadLettered })),
      };
    });
    for (const name of this.#history.keys()) if (!seen.has(name)) this.#history.delete(name);
    return views;
  }

  #rate(topic: string, published: number, now: number): number {
    let samples = this.#history.get(topic);
    if (!samples) {
      samples = [];
      this.#history.set(topic, samples);
    }
    const last = samples.at(-1);
    // Several snapshots within 250 ms (many dashboards) add one sample.
    if (!last || now - last.at >= 250) samples.push({ at: now, published });
    while (samples.length > 2 && now - (samples[0] as { at: number }).at > 60_000) samples.shift();
    const first = samples[0] as { at: number; published: number };
    const seconds = (now - first.at) / 1000;
    if (seconds <= 0) return 0;
    return Math.round((Math.max(0, published - first.published) / seconds) * 1000) / 1000;
  }
}
