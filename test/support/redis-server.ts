/**
 * A private Redis server for tests that stop and restart it (the shared one on 6379 stays up
 * and keeps nothing on disk): /usr/bin/redis-server on a free loopback port, append-only file
 * fsynced on every write, data in a temporary folder — on tmpfs when the machine has one: a
 * killed server process loses nothing the page cache holds, so a restart tests what it should
 * without an fsync to disk per write (which would make every publish and ack take ~2 ms).
 * It runs under a shell that kills it when our stdin closes, so it dies with the test process
 * however that ends.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep } from './wait.ts';

const BINARY = '/usr/bin/redis-server';

/** True when the redis-server binary is installed (scripts/services.sh installs it). */
export function redisServerInstalled(): Promise<boolean> {
  return Promise.resolve(existsSync(BINARY));
}

export class RedisServer {
  readonly port: number;
  readonly #dir: string;
  #process: ChildProcess | undefined;

  private constructor(port: number, dir: string) {
    this.port = port;
    this.#dir = dir;
  }

  static async start(): Promise<RedisServer> {
    const parent = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
    const server = new RedisServer(await freePort(), mkdtempSync(join(parent, 'switchboard-redis-')));
    await server.resume();
    return server;
  }

  /** "redis://127.0.0.1:port". */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts the server (again, on the same port and data) and waits until it serves. */
  async resume(): Promise<void> {
    if (this.#process) return;
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.#dir];
    args.push('--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--logfile', '');
    const script = `"$0" "$@" & pid=$!; read _; kill -9 $pid; wait $pid`;
    this.#process = spawn('sh', ['-c', script, BINARY, ...args], { stdio: ['pipe', 'ignore', 'ignore'] });
    this.#process.unref();
    (this.#process.stdin as net.Socket | null)?.unref();
    // The port opens before the append-only file is loaded; until then Redis answers -LOADING.
    const until = Date.now() + 10_000;
    while (!(await ping(this.port))) {
      if (Date.now() > until) throw new Error(`the private Redis on ${this.port} did not start`);
      await sleep(50);
    }
  }

  /** Kills the server as a crash would (SIGKILL); its data stays for `resume()`. */
  async kill(): Promise<void> {
    const child = this.#process;
    this.#process = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.ref(); // wait for it even when nothing else keeps the event loop alive
    child.stdin?.end();
    await exited;
  }

  /** A crash and a start on the same data. */
  async restart(): Promise<void> {
    await this.kill();
    await this.resume();
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

/** True when Redis on `port` answers PING with PONG (not -LOADING, not silence). */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    let answer = '';
    const socket = net.connect({ host: '127.0.0.1', port }, () => socket.write('PING\r\n'));
    socket.setTimeout(500, () => socket.destroy());
    socket.on('data', (chunk) => {
      answer += chunk;
      if (answer.includes('\r\n')) socket.destroy();
    });
    socket.on('error', () => {});
    socket.on('close', () => resolve(answer.startsWith('+PONG')));
  });
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
