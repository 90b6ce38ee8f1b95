import path from 'node:path';
import { StatusError } from '../../contract/errors.ts';
import { Status } from '../../contract/status.ts';
import { HubServer } from '../../hub/server.ts';
import { FileWatcher } from './file-watcher.ts';
import { colourOf, LinePrefixer, prefixFor } from './log-prefixer.ts';
import { ProgressLine, progressText } from './progress-line.ts';
import { ReadinessWatch, type StartingService } from './readiness.ts';
import { serviceLaunch } from './service-command.ts';
import { type DevService, findServices, ownerOf } from './service-discovery.ts';
import { type ServiceEvent, ServiceProcess } from './service-process.ts';

export interface DevSessionOptions {
  /** The dev folder, absolute. */
  dir: string;
  services: readonly DevService[];
  /** Whether a service folder that appears while running is run too (--only, --exclude). */
  accept(name: string): boolean;
  hub: { port: number; host: string; dataDir?: string; brokerPort?: number };
  readyTimeoutMs: number;
  /** Between SIGTERM and SIGKILL when stopping a service. */
  graceMs: number;
  watch: boolean;
  colour: boolean;
  /** Rewrite the progress line in place (a terminal). */
  tty: boolean;
  write(text: string): void;
}

interface Running {
  readonly service: DevService;
  readonly process: ServiceProcess;
  readonly out: LinePrefixer;
  readonly err: LinePrefixer;
  readonly say: (text: string) => void;
  /** Not ready after the ready timeout: no longer waited for by the progress line. */
  overdue: boolean;
}

/**
 * One `switchboard dev` run: the hub in this process, a supervised process per service, a
 * watcher that restarts the services whose files change, and the output of all of them on
 * one stream, each line prefixed with who wrote it.
 */
export class DevSession {
  readonly #options: DevSessionOptions;
  readonly #progress: ProgressLine;
  readonly #running: Running[] = [];
  readonly #width: number;
  readonly #hub: HubServer;
  readonly #hubSay: (text: string) => void;
  readonly #devSay: (text: string) => void;
  #readiness: ReadinessWatch | undefined;
  #watcher: FileWatcher | undefined;
  #startedAt = 0;
  #allReadyReported = false;
  /** The dashboard's address, when the hub serves it; said again once start-up is over. */
  #dashboardUrl: string | undefined;
  #startupReported = false;
  /** While the services are first spawned: one progress line for all of them, after. */
  #launching = false;

  constructor(options: DevSessionOptions) {
    this.#options = options;
    this.#progress = new ProgressLine(options.write, options.tty, () => process.stdout.columns);
    this.#width = Math.max(3, ...options.services.map((s) => s.name.length));
    this.#hubSay = this.#sayer('hub', 'hub');
    this.#devSay = this.#sayer('dev', 'hub');
    const { hub } = options;
    this.#hub = new HubServer({
      port: hub.port,
      host: hub.host,
      dataDir: hub.dataDir,
      brokerPort: hub.brokerPort,
      log: (message) => this.#hubSay(message),
    });
  }

  get hubUrl(): string {
    return this.#hub.url;
  }

  /** How many services are supervised (some may be stopped). */
  get serviceCount(): number {
    return this.#running.length;
  }

  /** The running services' pids (for tests and leak checks). */
  get pids(): number[] {
    return this.#running.flatMap((r) => (r.process.pid === undefined ? [] : [r.process.pid]));
  }

  /** Starts the hub (failing with UNAVAILABLE if it cannot listen), then every service. */
  async start(): Promise<void> {
    const { hub } = this.#options;
    try {
      await this.#hub.listen();
    } catch (err) {
      await this.#hub.close();
      const e = err as NodeJS.ErrnoException;
      const why = e.code === 'EADDRINUSE' ? 'the address is in use' : e.message;
      throw new StatusError(Status.UNAVAILABLE, `cannot start the hub on ${hub.host}:${hub.port}: ${why}`);
    }
    this.#hubSay(`listening on ${this.#hub.url} (SWITCHBOARD_HUB for the services)`);
    if (this.#hub.brokerTarget) {
      const kept = hub.dataDir ? `embedded log in ${path.join(hub.dataDir, 'broker')}` : 'in memory';
      this.#hubSay(`broker on ${this.#hub.brokerTarget} (${kept})`);
    }
    if (await this.#servesDashboard()) {
      this.#dashboardUrl = `${this.#hub.url}/`;
      this.#hubSay(`dashboard on ${this.#dashboardUrl}`);
    }

    this.#readiness = new ReadinessWatch(this.#hub.registry);
    this.#readiness.start(
      () => this.#starting(),
      (name, how) => this.#running.find((r) => r.service.name === name)?.process.markReady(how),
    );
    this.#options.services.forEach((service, index) => {
      this.#running.push(this.#supervise(service, index));
    });
    if (this.#options.watch) {
      this.#watcher = new FileWatcher(this.#options.dir, (paths) => this.#filesChanged(paths));
      const how = this.#watcher.start();
      this.#devSay(
        `watching ${this.#options.dir}${how === 'polling' ? ' (polling: recursive fs.watch is unsupported here)' : ''}`,
      );
    }
    this.#startedAt = Date.now();
    this.#launching = true;
    await Promise.all(this.#running.map((r) => r.process.start()));
    this.#launching = false;
    this.#updateProgress();
  }

  /** Stops every service (SIGTERM, SIGKILL after the grace), then the watcher and the hub. */
  async stop(): Promise<void> {
    this.#watcher?.close();
    this.#readiness?.close();
    await Promise.all(this.#running.map((r) => r.process.stop()));
    for (const r of this.#running) {
      r.out.flush();
      r.err.flush();
    }
    this.#progress.done();
    await this.#hub.close();
  }

  /** Kills every service's process group at once (the second Ctrl-C). */
  kill(): void {
    this.#watcher?.close();
    for (const r of this.#running) r.process.kill();
  }

  /** Writes a line of dev's own, prefixed `dev`. */
  say(text: string): void {
    this.#devSay(text);
  }

  #supervise(service: DevService, index: number): Running {
    const prefix = prefixFor(service.name, this.#width, this.#options.colour ? colourOf(index) : undefined);
    const write = (text: string) => this.#progress.above(text);
    const running: Running = {
      service,
      out: new LinePrefixer(prefix, write),
      err: new LinePrefixer(prefix, write),
      say: (text) => write(`${prefix}${this.#dim(text)}\n`),
      overdue: false,
      process: new ServiceProcess({
        launch: serviceLaunch(service.entry, { hubUrl: this.#hub.url, name: service.name }),
        readyTimeoutMs: this.#options.readyTimeoutMs,
        graceMs: this.#options.graceMs,
        onOutput: (stream, chunk) => (stream === 'stdout' ? running.out : running.err).push(chunk),
        onEvent: (event) => this.#report(running, event),
      }),
    };
    return running;
  }

  #report(running: Running, event: ServiceEvent): void {
    const { say } = running;
    if (event.type !== 'started' && event.type !== 'ready' && event.type !== 'not-ready') {
      running.out.flush();
      running.err.flush();
    }
    switch (event.type) {
      case 'started':
        running.overdue = false;
        say(`started (pid ${event.pid})`);
        break;
      case 'ready':
        say(`ready in ${event.afterMs} ms (${event.how})`);
        break;
      case 'not-ready':
        running.overdue = true;
        say(
          `not ready after ${event.afterMs} ms: it registered nothing with the hub ` +
            `(still running; see 'switchboard dev --help' on readiness)`,
        );
        break;
      case 'crashed':
        say(`crashed (${event.exit}); restarting in ${event.restartInMs} ms`);
        break;
      case 'gave-up':
        say(
          `crashed ${event.crashes} times while starting (last: ${event.exit}); ` +
            'left stopped until its files change',
        );
        break;
      case 'exited':
        say(`exited (${event.exit}); starts again when its files change`);
        break;
      case 'spawn-failed':
        say(`could not start: ${event.message}`);
        break;
    }
    this.#updateProgress();
  }

  #starting(): StartingService[] {
    return this.#running
      .filter((r) => r.process.state === 'starting')
      .map((r) => ({ name: r.service.name, pid: r.process.pid, startedAt: r.process.startedAt }));
  }

  #updateProgress(): void {
    if (this.#launching) return;
    const total = this.#running.length;
    const waiting = this.#running.filter((r) => r.process.state === 'starting' && !r.overdue);
    if (waiting.length === 0) {
      this.#progress.done();
      const ready = this.#running.filter((r) => r.process.state === 'ready').length;
      if (!this.#allReadyReported && ready === total && total > 0) {
        this.#allReadyReported = true;
        this.#devSay(`all ${plural(total, 'service')} ready in ${Date.now() - this.#startedAt} ms`);
      }
      // The last line of the start-up summary, where the eye lands once the services are up.
      if (!this.#startupReported && total > 0) {
        this.#startupReported = true;
        if (this.#dashboardUrl) this.#devSay(this.#bold(`dashboard: ${this.#dashboardUrl}`));
      }
      return;
    }
    const ready = this.#running.filter((r) => r.process.state === 'ready').length;
    this.#progress.set(
      progressText(
        ready,
        total,
        waiting.map((r) => r.service.name),
      ),
    );
  }

  #filesChanged(paths: string[]): void {
    const added = this.#addNewServices();
    const names = new Set(this.#running.map((r) => r.service.name));
    const owners = new Map<string, string>();
    for (const file of paths) {
      // A file of a service that just appeared is not shared code, nor a reason to restart it.
      if (added.has(file.split(/[\\/]/)[0] ?? '')) continue;
      const owner = ownerOf(file, names);
      if (owner !== undefined && !owners.has(owner)) owners.set(owner, file);
    }
    const shared = owners.get('shared');
    if (shared !== undefined) {
      this.#devSay(`${shared} changed: restarting every service`);
      for (const r of this.#running) void r.process.restart(`${shared} changed`);
      return;
    }
    for (const [name, file] of owners) {
      const running = this.#running.find((r) => r.service.name === name);
      if (!running) continue;
      this.#devSay(`${file} changed: restarting ${name}`);
      void running.process.restart(`${file} changed`);
    }
  }

  /** Starts the services whose folders appeared since dev started; returns their names. */
  #addNewServices(): Set<string> {
    const added = new Set<string>();
    let found: DevService[];
    try {
      found = findServices(this.#options.dir);
    } catch {
      return added;
    }
    for (const service of found) {
      if (this.#running.some((r) => r.service.name === service.name)) continue;
      if (!this.#options.accept(service.name)) continue;
      const running = this.#supervise(service, this.#running.length);
      this.#running.push(running);
      added.add(service.name);
      this.#devSay(`new service ${service.name} (${path.relative(this.#options.dir, service.entry)})`);
      void running.process.start();
    }
    return added;
  }

  async #servesDashboard(): Promise<boolean> {
    try {
      const res = await fetch(`${this.#hub.url}/`, { signal: AbortSignal.timeout(1000) });
      await res.body?.cancel();
      return res.ok && (res.headers.get('content-type') ?? '').includes('text/html');
    } catch {
      return false;
    }
  }

  #sayer(name: string, colour: 'hub'): (text: string) => void {
    const prefix = prefixFor(
      name,
      Math.max(3, this.#width),
      this.#options.colour ? colourOf(colour) : undefined,
    );
    return (text) => {
      for (const line of text.split('\n')) this.#progress.above(`${prefix}${line}\n`);
    };
  }

  #bold(text: string): string {
    return this.#options.colour ? `\x1b[1m${text}\x1b[0m` : text;
  }

  #dim(text: string): string {
    return this.#options.colour ? `\x1b[2m${text}\x1b[0m` : text;
  }
}

/** "1 service", "3 services". */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
