/** The Greeter example as a child process on free ports: what failure tests kill and stop. */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface GreeterProcess {
  readonly child: ChildProcess;
  readonly ports: { grpc: number; http: number; native: number };
  readonly id: string;
  output(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
}

export async function startGreeter(env: Record<string, string>, timeoutMs = 30_000): Promise<GreeterProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/greeter/main.ts'], {
    cwd: REPO,
    env: { ...process.env, GRPC_PORT: '0', HTTP_PORT: '0', NATIVE_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const until = Date.now() + timeoutMs;
  while (!output.includes('serving;')) {
    if (child.exitCode !== null || Date.now() > until) {
      child.kill('SIGKILL');
      assert.fail(`the greeter did not start:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const port = (kind: string) => Number(new RegExp(`${kind}\\s+listening on [^:]+:(\\d+)`).exec(output)?.[1]);
  const id = /registered as (\S+)/.exec(output)?.[1] ?? '';
  return {
    child,
    ports: { grpc: port('grpc'), http: port('http'), native: port('native') },
    id,
    output: () => output,
    exited,
  };
}

export async function stopGreeter(greeter: GreeterProcess): Promise<void> {
  if (greeter.child.exitCode === null && greeter.child.signalCode === null) greeter.child.kill('SIGKILL');
  await greeter.exited;
}
