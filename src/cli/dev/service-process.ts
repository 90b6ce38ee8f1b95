import { type ChildProcess, spawn } from 'node:child_process';
import type { ServiceLaunch } from './service-command.ts';

/** What happened to a supervised service, for the dev command to report. */
export type ServiceEvent =
  | { type: 'started'; pid: number; reason: string }
  | { type: 'ready'; afterMs: number; how: string }
  | { type: 'not-ready'; afterMs: number }
  | { type: 'crashed'; exit: string; restartInMs: number }
  | { type: 'gave-up'; exit: string; crashes: number }
  | { type: 'exited'; exit: string }
  | { type: 'spawn-failed'; message: string };

export type ServiceState = 'stopped' | 'starting' | 'ready' | 'backoff' | 'failed' | 'stopping';

export interface ServiceProcessOptions {
  launch: ServiceLaunch;
  /** A chunk of the child's standard output or error. */
  onOutput(stream: 'stdout' | 'stderr', chunk: string): void;
  onEvent(event: ServiceEvent): void;
  /** 'not-ready' is reported when the service is not ready this long after starting. 20 s unless set. */
  readyTimeoutMs?: number;
  /** Between SIGTERM and SIGKILL when stopping. 5 s unless set. */
  graceMs?: number;
  /** Crashes before readiness in a row after which the service is left stopped. 3 unless set. */
  maxStartCrashes?: number;
  /** The first restart delay after a crash, doubled for each further one. 500 ms unless set. */
  backoffMs?: number;
  /** The longest restart delay. 10 s unless set. */
  maxBackoffMs?: number;
  /** A service up this long before crashing starts its backoff afresh. 30 s unless set. */
  stableMs?: number;
}

/**
 * Supervises one service process: starts it in a process group of its own (so stopping it
 * takes whatever it started too, and a Ctrl-C at the terminal reaches only `dev`, which
 * stops services in order), restarts it on demand, restarts it after a crash with a
 * doubling delay, and leaves it stopped after `maxStartCrashes` crashes before it was ever
 * ready, until `restart()` is called (its files changed).
 */
export class ServiceProcess {
  readonly #options: ServiceProcessOptions;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #state: ServiceState = 'stopped';
  #startedAt = 0;
  #wasReady = false;
  #startCrashes = 0;
  #crashes = 0;
  #stopping = false;
  #readyTimer: NodeJS.Timeout | undefined;
  #restartTimer: NodeJS.Timeout | undefined;
  /** Restarts and stops run one after another, in the order asked. */
  #queue: Promise<void> = Promise.resolve();

  constructor(options: ServiceProcessOptions) {
    this.#options = options;
  }

  get state(): ServiceState {
    return this.#state;
  }

  /** The running child's pid (also its process group id). */
  get pid(): number | undefined {
    return this.#child?.exitCode === null && this.#child.signalCode === null ? this.#child.pid : undefined;
  }

  /** When the running child was started (Date.now()). */
  get startedAt(): number {
    return this.#startedAt;
  }

  /** Starts the service if it is not running. */
  start(reason = 'start'): Promise<void> {
    return this.#enqueue(async () => {
      if (this.#child) return;
      this.#spawn(reason);
    });
  }

  /** Stops the service if running, then starts it afresh; a crash-looped service starts again too. */
  restart(reason: string): Promise<void> {
    return this.#enqueue(async () => {
      await this.#stopChild();
      this.#startCrashes = 0;
      this.#crashes = 0;
      this.#spawn(reason);
    });
  }

  /** SIGTERM, then SIGKILL after the grace; no more restarts. */
  stop(): Promise<void> {
    return this.#enqueue(async () => {
      await this.#stopChild();
      this.#state = 'stopped';
    });
  }

  /** SIGKILL to the service's process group at once (the second Ctrl-C). */
  kill(): void {
    clearTimeout(this.#restartTimer);
    this.#stopping = true;
    const pid = this.#child?.pid;
    if (pid !== undefined) killGroup(pid, 'SIGKILL');
  }

  /** The service registered with the hub (or said it is ready): it has started. */
  markReady(how: string): void {
    if (this.#state !== 'starting' || this.#wasReady) return;
    this.#wasReady = true;
    this.#state = 'ready';
    this.#startCrashes = 0;
    clearTimeout(this.#readyTimer);
    this.#options.onEvent({ type: 'ready', afterMs: Date.now() - this.#startedAt, how });
  }

  #enqueue(step: () => Promise<void>): Promise<void> {
    const next = this.#queue.then(step);
    this.#queue = next.catch(() => {});
    return next;
  }

  #spawn(reason: string): void {
    clearTimeout(this.#restartTimer);
    const { launch } = this.#options;
    this.#stopping = false;
    this.#wasReady = false;
    this.#startedAt = Date.now();
    let child: ChildProcess;
    try {
      child = spawn(launch.command, launch.args, {
        env: launch.env,
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        detached: true,
      });
    } catch (err) {
      this.#state = 'failed';
      this.#options.onEvent({ type: 'spawn-failed', message: (err as Error).message });
      return;
    }
    this.#child = child;
    this.#state = 'starting';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => this.#options.onOutput('stdout', d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => this.#options.onOutput('stderr', d));
    child.on('message', (message) => {
      if ((message as { switchboard?: unknown } | null)?.switchboard === 'ready')
        this.markReady('said ready');
    });
    this.#exited = new Promise<void>((resolve) => {
      child.once('error', (err) => {
        // Spawning failed (no 'exit' follows): report it as a start that crashed.
        if (child.pid === undefined) {
          this.#options.onEvent({ type: 'spawn-failed', message: err.message });
          this.#child = undefined;
          this.#state = 'failed';
          resolve();
        }
      });
      child.once('exit', (code, signal) => {
        // Whatever the service started in its group goes with it: no orphans.
        if (child.pid !== undefined) killGroup(child.pid, 'SIGKILL');
        // 'close' comes once its output is read to the end; a pipe held open elsewhere must
        // not hold up a restart for long.
        const settled = () => {
          clearTimeout(late);
          if (this.#child === child) this.#child = undefined;
          clearTimeout(this.#readyTimer);
          this.#exitedBy(code, signal);
          resolve();
        };
        const late = setTimeout(() => {
          child.removeAllListeners('close');
          settled();
        }, 1000);
        child.once('close', settled);
      });
    });
    if (child.pid !== undefined) this.#options.onEvent({ type: 'started', pid: child.pid, reason });
    const readyTimeoutMs = this.#options.readyTimeoutMs ?? 20_000;
    this.#readyTimer = setTimeout(() => {
      if (this.#state === 'starting') this.#options.onEvent({ type: 'not-ready', afterMs: readyTimeoutMs });
    }, readyTimeoutMs);
  }

  #exitedBy(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#stopping) return;
    const exit = signal ? `killed by ${signal}` : `exit code ${code}`;
    if (code === 0 && !signal) {
      this.#state = 'stopped';
      this.#options.onEvent({ type: 'exited', exit });
      return;
    }
    const uptime = Date.now() - this.#startedAt;
    if (!this.#wasReady && uptime < (this.#options.readyTimeoutMs ?? 20_000)) {
      this.#startCrashes++;
      if (this.#startCrashes >= (this.#options.maxStartCrashes ?? 3)) {
        this.#state = 'failed';
        this.#options.onEvent({ type: 'gave-up', exit, crashes: this.#startCrashes });
        return;
      }
      this.#crashes = this.#startCrashes;
    } else {
      this.#crashes = uptime >= (this.#options.stableMs ?? 30_000) ? 1 : this.#crashes + 1;
    }
    const delay = Math.min(
      (this.#options.backoffMs ?? 500) * 2 ** (this.#crashes - 1),
      this.#options.maxBackoffMs ?? 10_000,
    );
    this.#state = 'backoff';
    this.#options.onEvent({ type: 'crashed', exit, restartInMs: delay });
    this.#restartTimer = setTimeout(() => {
      void this.#enqueue(async () => {
        if (this.#state === 'backoff' && !this.#child) this.#spawn('restart after a crash');
      });
    }, delay);
  }

  /** Ends the running child (SIGTERM, SIGKILL after the grace) and waits for it. */
  async #stopChild(): Promise<void> {
    clearTimeout(this.#restartTimer);
    clearTimeout(this.#readyTimer);
    const child = this.#child;
    if (!child || child.pid === undefined) return;
    this.#stopping = true;
    this.#state = 'stopping';
    killGroup(child.pid, 'SIGTERM');
    const grace = setTimeout(() => {
      if (child.pid !== undefined) killGroup(child.pid, 'SIGKILL');
    }, this.#options.graceMs ?? 5000);
    await this.#exited;
    clearTimeout(grace);
  }
}

/** Signals a process group; a group that is already gone is fine. */
function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}
