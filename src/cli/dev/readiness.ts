import { readFileSync } from 'node:fs';
import type { ServiceInstance } from '../../discovery/instance.ts';
import type { InstanceTable } from '../../discovery/instance-table.ts';

/**
 * Tells which service process registered an instance with the hub, so `dev` knows when a
 * service has started. In order:
 *
 * 1. `metadata['switchboard.pid']` or the pid in the instance id: `Server.register()` names
 *    instances `<host>-<pid>-<random>`, and dev starts each service as a `node` process whose
 *    pid is its child's pid. A pid in the child's process group counts too (a service that
 *    runs its server in a worker process).
 * 2. `metadata['switchboard.service-name']` equal to the service's SWITCHBOARD_SERVICE_NAME.
 * 3. An instance that names no process (a hand-made registration) while exactly one service
 *    is starting: that one.
 *
 * A service can also say it is ready itself, over IPC: `process.send?.({ switchboard: 'ready' })`
 * (ServiceProcess listens for it), for services that register nothing.
 */
export interface StartingService {
  readonly name: string;
  readonly pid: number | undefined;
  readonly startedAt: number;
}

export class ReadinessWatch {
  readonly #table: InstanceTable;
  readonly #seen = new Set<string>();
  #unsubscribe: (() => void) | undefined;

  constructor(table: InstanceTable) {
    this.#table = table;
    for (const entry of table.all()) this.#seen.add(key(entry.instance));
  }

  /**
   * Calls `onReady(name)` for each new instance that belongs to one of `starting()` (asked at
   * each registration, so it always sees the current processes).
   */
  start(starting: () => readonly StartingService[], onReady: (name: string, how: string) => void): void {
    this.#unsubscribe = this.#table.onChange((service) => {
      for (const entry of this.#table.entries(service)) {
        const id = key(entry.instance);
        if (this.#seen.has(id)) continue;
        this.#seen.add(id);
        const owner = ownerOf(entry.instance, starting());
        if (owner) onReady(owner.name, `registered ${entry.instance.service}`);
      }
    });
  }

  close(): void {
    this.#unsubscribe?.();
  }
}

function key(instance: ServiceInstance): string {
  return `${instance.service}\u0000${instance.id}`;
}

/** The pid an instance names, if any. */
export function pidOf(instance: ServiceInstance): number | undefined {
  const fromMetadata = Number(instance.metadata['switchboard.pid']);
  if (Number.isInteger(fromMetadata) && fromMetadata > 0) return fromMetadata;
  const match = /-(\d+)-[0-9a-f]{8}$/.exec(instance.id);
  return match ? Number(match[1]) : undefined;
}

/** Which of the starting services an instance belongs to, if it can be told. */
export function ownerOf(
  instance: ServiceInstance,
  starting: readonly StartingService[],
): StartingService | undefined {
  const pid = pidOf(instance);
  if (pid !== undefined) {
    const direct = starting.find((s) => s.pid === pid);
    if (direct) return direct;
    const group = processGroupOf(pid);
    const grouped = starting.find((s) => s.pid !== undefined && s.pid === group);
    if (grouped) return grouped;
  }
  const named = instance.metadata['switchboard.service-name'];
  if (named !== undefined) return starting.find((s) => s.name === named);
  if (pid === undefined && starting.length === 1) return starting[0];
  return undefined;
}

/** The process group of a pid (Linux /proc); undefined where that cannot be read. */
function processGroupOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const group = Number(fields[2]);
    return Number.isInteger(group) ? group : undefined;
  } catch {
    return undefined;
  }
}
