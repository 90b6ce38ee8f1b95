/** The Python grpcio Greeter server (test/interop/python/greeter_server.py) as a child process. */
import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Debian's python3: the one with python3-grpcio (a pyenv python on PATH may lack it). */
export const PYTHON = '/usr/bin/python3';
export const PYTHON_SCRIPTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../interop/python');

export function pythonWithGrpc(): Promise<boolean> {
  return new Promise((resolve) => execFile(PYTHON, ['-c', 'import grpc'], (err) => resolve(!err)));
}

/** Starts greeter_server.py on a free port and waits for its "LISTENING <port>" line. */
export function startPythonGreeter(
  args: string[] = [],
): Promise<{ child: ChildProcessWithoutNullStreams; port: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [path.join(PYTHON_SCRIPTS, 'greeter_server.py'), '--port', '0', ...args], {
      cwd: PYTHON_SCRIPTS,
    });
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`the Python server did not start: ${err}`)), 20_000);
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const match = /LISTENING (\d+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve({ child, port: Number(match[1]) });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the Python server exited (${code}): ${err}`));
    });
  });
}

export function stopPython(child: ChildProcessWithoutNullStreams | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}
