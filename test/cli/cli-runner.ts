/** Running `switchboard` in tests: as a child process (as users run it) or in this process. */
import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../../src/cli/main.ts';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(REPO, 'bin/switchboard.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment without SWITCHBOARD_HUB/_BROKER, so a developer's own setting cannot leak in. */
function cleanEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const { SWITCHBOARD_HUB: _, SWITCHBOARD_BROKER: __, ...rest } = process.env;
  return { ...rest, ...env };
}

/** Runs the CLI as a child process to its end (killed after 20 s). */
export function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const running = startCli(args, env);
  return running.exit.then((code) => ({ code, stdout: running.stdout(), stderr: running.stderr() }));
}

export interface RunningCli {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** The exit code; null when killed by a signal. */
  exit: Promise<number | null>;
}

/** Starts the CLI as a child process that runs until it ends by itself or is signalled. */
export function startCli(args: string[], env: Record<string, string> = {}, killAfterMs = 30_000): RunningCli {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO, env: cleanEnv(env) });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  child.stdin.end();
  // Never outlives the test, whatever happens.
  const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  timer.unref();
  const exit = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve(code);
    }),
  );
  return { child, stdout: () => stdout, stderr: () => stderr, exit };
}

/**
 * Runs the CLI in this process: the same code path without a process start. `env` is set for
 * the run only (SWITCHBOARD_HUB and SWITCHBOARD_BROKER are always cleared first).
 */
export async function inProcess(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const saved = { hub: process.env.SWITCHBOARD_HUB, broker: process.env.SWITCHBOARD_BROKER };
  delete process.env.SWITCHBOARD_HUB;
  delete process.env.SWITCHBOARD_BROKER;
  Object.assign(process.env, env);
  try {
    const code = await run(args, {
      out: (text) => {
        stdout += text;
      },
      err: (text) => {
        stderr += text;
      },
      readStdin: async () => '',
    });
    return { code, stdout, stderr };
  } finally {
    for (const key of Object.keys(env)) delete process.env[key];
    if (saved.hub !== undefined) process.env.SWITCHBOARD_HUB = saved.hub;
    if (saved.broker !== undefined) process.env.SWITCHBOARD_BROKER = saved.broker;
  }
}

/** A port nothing listens on (one the OS just gave out and took back). */
export async function deadPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
