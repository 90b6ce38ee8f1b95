/**
 * A private NATS server with JetStream for tests that stop and restart it (the shared one on
 * 4222 stays up): /usr/sbin/nats-server on a free loopback port, its store in a temporary
 * folder, max_payload 8 MB so a 1 MiB payload fits with its headers (the default is 1 MB). The
 * server runs under a shell that kills it when our stdin closes, so it dies with the test
 * process however that ends.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BINARY = '/usr/sbin/nats-server';

/** True when the nats-server binary is installed (scripts/services.sh installs it). */
export function natsServerInstalled(): Promise<boolean> {
  return Promise.resolve(existsSync(BINARY));
}

export class NatsServer {
  readonly port: number;
  readonly #dir: string;
  #process: ChildProcess | undefined;

  private constructor(port: number, dir: string) {
    this.port = port;
    this.#dir = dir;
  }

  static async start(): Promise<NatsServer> {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-nats-'));
    writeFileSync(join(dir, 'server.conf'), 'max_payload: 8MB\n');
    const server = new NatsServer(port, dir);
    await server.resume();
    return server;
  }

  /** "127.0.0.1:port". */
  get url(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Starts the server (again, on the same port and store) and waits until it is ready. */
  async resume(): Promise<void> {
    if (this.#process) return;
    // A signal name on stdin stops it with that signal; stdin closing (our exit) kills it.
    const script = '"$0" "$@" & pid=$!; read sig || sig=KILL; kill -$sig $pid; wait $pid';
    const args = ['-c', join(this.#dir, 'server.conf'), '-a', '127.0.0.1', '-p', String(this.port)];
    args.push('-js', '-sd', join(this.#dir, 'store'));
    const child = spawn('sh', ['-c', script, BINARY, ...args], { stdio: ['pipe', 'ignore', 'pipe'] });
    this.#process = child;
    child.unref();
    (child.stdin as net.Socket | null)?.unref();
    (child.stderr as net.Socket | null)?.unref();
    // nats-server logs to stderr; "Server is ready" comes once JetStream has recovered its store.
    await new Promise<void>((resolve, reject) => {
      let log = '';
      const settle = (error?: Error) => {
        clearTimeout(timer);
        child.stderr?.removeListener('data', onLog);
        child.removeListener('exit', onExit);
        child.stderr?.resume(); // keep draining the pipe, or a chatty server would block
        if (error) reject(error);
        else resolve();
      };
      const onLog = (chunk: Buffer) => {
        log += chunk.toString();
        if (log.includes('Server is ready')) settle();
      };
      const onExit = (code: number | null) => settle(new Error(`nats-server exited (${code}):\n${log}`));
      const timer = setTimeout(() => settle(new Error(`nats-server did not start:\n${log}`)), 15_000);
      child.stderr?.on('data', onLog);
      child.once('exit', onExit);
    }).catch(async (error: unknown) => {
      await this.kill();
      throw error;
    });
  }

  /**
   * Stops the server; its store stays for `resume()`. SIGKILL (the default) is a crash: the
   * last acks may not have reached the store. SIGTERM is a clean shutdown.
   */
  async kill(signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): Promise<void> {
    const child = this.#process;
    this.#process = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.ref(); // wait for it even when nothing else keeps the event loop alive
    child.stdin?.end(`${signal.slice(3)}\n`);
    await exited;
  }

  /** Kills the server and starts it again on the same port and store. */
  async restart(): Promise<void> {
    await this.kill();
    await this.resume();
  }

  /** Kills the server and removes its store. */
  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
