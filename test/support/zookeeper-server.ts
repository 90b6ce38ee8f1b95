/**
 * A private ZooKeeper server for tests that stop and restart it (the shared one on 2181 stays
 * up): Debian's zookeeper package, standalone, tickTime 500 ms, on a free loopback port, data
 * in a temporary folder. The JVM runs under a shell that kills it when our stdin closes, so it
 * dies with the test process however that ends.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep } from './wait.ts';

const CLASSPATH = '/etc/zookeeper/conf:/usr/share/java/zookeeper.jar';

/** True when the zookeeper package and a JVM are installed (scripts/services.sh installs them). */
export function zookeeperInstalled(): Promise<boolean> {
  return Promise.resolve(existsSync('/usr/share/java/zookeeper.jar') && existsSync('/usr/bin/java'));
}

export class ZooKeeperServer {
  readonly port: number;
  readonly #dir: string;
  #process: ChildProcess | undefined;

  private constructor(port: number, dir: string) {
    this.port = port;
    this.#dir = dir;
  }

  static async start(): Promise<ZooKeeperServer> {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-zk-'));
    writeFileSync(
      join(dir, 'zoo.cfg'),
      [
        'tickTime=500',
        `dataDir=${join(dir, 'data')}`,
        'clientPortAddress=127.0.0.1',
        `clientPort=${port}`,
        'maxSessionTimeout=60000',
        'admin.enableServer=false',
        '',
      ].join('\n'),
    );
    const server = new ZooKeeperServer(port, dir);
    await server.resume();
    return server;
  }

  /** "127.0.0.1:port". */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Starts the server (again, on the same port and data) and waits until it answers. */
  async resume(): Promise<void> {
    const script = 'java "$@" & pid=$!; read _; kill -9 $pid; wait $pid';
    this.#process = spawn(
      'sh',
      [
        '-c',
        script,
        'sh',
        '-Xmx128m',
        '-cp',
        CLASSPATH,
        'org.apache.zookeeper.server.ZooKeeperServerMain',
        join(this.#dir, 'zoo.cfg'),
      ],
      { stdio: ['pipe', 'ignore', 'ignore'] },
    );
    this.#process.unref();
    (this.#process.stdin as net.Socket | null)?.unref();
    // The port opens before the server serves: a connection made in between may never be
    // answered. "srvr" tells "Mode: standalone" only once it serves.
    const until = Date.now() + 20_000;
    while (!(await fourLetterWord(this.port, 'srvr')).includes('Mode:')) {
      if (Date.now() > until) throw new Error(`the private ZooKeeper on ${this.port} did not start`);
      await sleep(100);
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

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

/** Sends a four-letter command; resolves with the answer ('' when there is none). */
function fourLetterWord(port: number, word: string): Promise<string> {
  return new Promise((resolve) => {
    let answer = '';
    const socket = net.connect({ host: '127.0.0.1', port }, () => socket.end(word));
    socket.setTimeout(1000, () => socket.destroy());
    socket.on('data', (chunk) => {
      answer += chunk;
    });
    socket.on('error', () => {});
    socket.on('close', () => resolve(answer));
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
