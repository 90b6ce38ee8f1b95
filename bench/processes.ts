import { type ChildProcess, fork, spawn } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from './greeter.ts';
import type { ChildSpec, Command, Report, ReportType } from './protocol.ts';

/**
 * The harness's children: every process it starts is tracked here and killed when the harness
 * exits for any reason (normal end, error, Ctrl-C), so no server outlives a run.
 */

const live = new Set<ChildProcess>();
let cleanupInstalled = false;

export function killAll(): void {
  for (const child of live) child.kill('SIGKILL');
  live.clear();
}

export function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      killAll();
      process.exit(130);
    });
  }
}

function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
}

/** A benchmark process (bench/child.ts) and its IPC conversation. */
export class BenchChild {
  readonly #process: ChildProcess;
  readonly #inbox: Report[] = [];
  #waiter: (() => void) | undefined;
  #exit: string | undefined;

  constructor(spec: ChildSpec, execPath = process.execPath) {
    this.#process = fork(path.join(REPO_ROOT, 'bench/child.ts'), [JSON.stringify(spec)], {
      cwd: REPO_ROOT,
      execPath,
      execArgv: ['--import', 'tsx', '--expose-gc'],
      // Children's output goes to stderr: stdout carries the report.
      stdio: ['ignore', 2, 2, 'ipc'],
    });
    track(this.#process);
    this.#process.on('message', (message) => {
      this.#inbox.push(message as Report);
      this.#waiter?.();
    });
    this.#process.once('exit', (code, signal) => {
      this.#exit = `exited (${signal ?? `code ${code}`})`;
      this.#waiter?.();
    });
    this.#process.once('error', (err) => {
      this.#exit = `failed to start: ${err.message}`;
      this.#waiter?.();
    });
  }

  send(command: Command): void {
    if (this.#process.connected) this.#process.send(command);
  }

  /** The next report of `type`; rejects on an `error` report, on exit and after `timeoutMs`. */
  async next<T extends ReportType>(type: T, timeoutMs: number): Promise<Extract<Report, { type: T }>> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const index = this.#inbox.findIndex((m) => m.type === type || m.type === 'error');
      if (index >= 0) {
        const [message] = this.#inbox.splice(index, 1);
        if (message!.type === 'error') throw new Error(message!.message);
        return message as Extract<Report, { type: T }>;
      }
      if (this.#exit) throw new Error(`benchmark process ${this.#exit} before reporting ${type}`);
      const left = until - Date.now();
      if (left <= 0) throw new Error(`no ${type} report within ${timeoutMs} ms`);
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

  /** Asks the child to stop, and kills it if it has not within `graceMs`. */
  async stop(graceMs = 3000): Promise<void> {
    if (this.#exit) return;
    const exited = new Promise<void>((resolve) => this.#process.once('exit', () => resolve()));
    this.send({ cmd: 'stop' });
    const timer = setTimeout(() => this.#process.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
}

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs an external command (h2load, npm), tracked like the other children. */
export function runCommand(
  command: string,
  args: readonly string[],
  timeoutMs: number,
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    track(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
