/**
 * The messaging part's processes (a workload, a hub, a reopen): a TypeScript module forked with
 * tsx and an IPC channel, its reports awaited by type. Every one is SIGKILLed when the harness
 * exits for any reason, and each exits by itself when the channel closes. (Like BenchChild in
 * ../processes.ts, which forks bench/child.ts only.)
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from '../greeter.ts';

/** What a child sends: a typed report, or `{ type: 'error' }` when it failed. */
export interface ChildReport {
  type: string;
}

const live = new Set<ChildProcess>();
let exitHook = false;

function killLive(): void {
  for (const child of live) child.kill('SIGKILL');
  live.clear();
}

export class IpcChild<R extends ChildReport> {
  readonly #process: ChildProcess;
  readonly #inbox: R[] = [];
  #waiter: (() => void) | undefined;
  #exit: string | undefined;
  readonly #exited: Promise<void>;

  /** Forks `module` (an absolute path) with `spec` as JSON in argv[2]. */
  constructor(module: string, spec: unknown) {
    if (!exitHook) {
      exitHook = true;
      process.once('exit', killLive);
    }
    this.#process = fork(module, [JSON.stringify(spec)], {
      cwd: REPO_ROOT,
      execArgv: ['--import', 'tsx', '--expose-gc'],
      // Their output goes to stderr: the harness's stdout carries the report.
      stdio: ['ignore', 2, 2, 'ipc'],
    });
    live.add(this.#process);
    this.#exited = new Promise((resolve) => {
      this.#process.once('exit', (code, signal) => {
        live.delete(this.#process);
        this.#exit = `exited (${signal ?? `code ${code}`})`;
        this.#waiter?.();
        resolve();
      });
    });
    this.#process.on('message', (message) => {
      this.#inbox.push(message as R);
      this.#waiter?.();
    });
    this.#process.once('error', (err) => {
      this.#exit = `failed to start: ${err.message}`;
      this.#waiter?.();
    });
  }

  get pid(): number | undefined {
    return this.#process.pid;
  }

  send(message: object): void {
    if (this.#process.connected) this.#process.send(message);
  }

  /** The next report of `type`; rejects on an `error` report, on exit and after `timeoutMs`. */
  async next<T extends R['type']>(type: T, timeoutMs: number): Promise<Extract<R, { type: T }>> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const index = this.#inbox.findIndex((m) => m.type === type || m.type === 'error');
      if (index >= 0) {
        const [message] = this.#inbox.splice(index, 1);
        if (message!.type === 'error') throw new Error(String((message as { message?: unknown }).message));
        return message as Extract<R, { type: T }>;
      }
      if (this.#exit) throw new Error(`the process ${this.#exit} before reporting ${type}`);
      const left = until - Date.now();
      if (left <= 0) throw new Error(`no ${type} report within ${Math.round(timeoutMs / 1000)} s`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiter = () => {
          clearTimeout(timer);
          this.#waiter = undefined;
          resolve();
        };
      });
    }
  }

  /** SIGKILL, and wait until it is gone. */
  async kill(): Promise<void> {
    if (!this.#exit) this.#process.kill('SIGKILL');
    await this.#exited;
  }

  /** Asks it to stop (`{ cmd: 'stop' }`), and kills it if it has not within `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.#exit) return;
    this.send({ cmd: 'stop' });
    const timer = setTimeout(() => this.#process.kill('SIGKILL'), graceMs);
    await this.#exited;
    clearTimeout(timer);
  }
}

/** For the child's side: sends `report` and resolves once it has left (before an exit). */
export function reportToParent<R extends ChildReport>(report: R): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(report, undefined, {}, () => resolve());
  });
}

/**
 * For the child's side: runs `main` when `moduleUrl` is the process's entry point only, so that
 * importing a child module for its types or helpers never starts it.
 */
export function runAsChild(moduleUrl: string, main: () => Promise<void>): void {
  if (process.argv[1] !== fileURLToPath(moduleUrl)) return;
  main().catch(failToParent);
}

/** For the child's side: exits when the harness goes away, so no child outlives a run. */
export function exitWithParent(): void {
  process.on('disconnect', () => process.exit(0));
}

/** For the child's side: an error report (the parent's next() rejects with it), then exit 1. */
export async function failToParent(err: unknown): Promise<never> {
  await reportToParent({
    type: 'error',
    message: err instanceof Error ? (err.stack ?? err.message) : String(err),
  });
  process.exit(1);
}
