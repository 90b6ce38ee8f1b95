/**
 * A Kafka-protocol test cluster: librdkafka's mock cluster, run by Debian's kcat
 * (`kcat -C -t boot -X test.mock.num.brokers=3 -b 127.0.0.1:1 </dev/null` runs until killed).
 * librdkafka picks the brokers' ports and prints them on stderr:
 *   "Mock cluster enabled: original bootstrap.servers and security.protocol ignored and replaced
 *    with 127.0.0.1:35743,…" (and, with `-d mock`, "Mock cluster … bootstrap.servers=…").
 * `-d mock` is not used: it logs every request, which costs the mock CPU under load.
 *
 * kcat runs under a shell that kills it when our stdin pipe closes, so the cluster dies with
 * the test process however that ends. Nothing survives the process: every start is empty.
 */
import { type ChildProcessByStdio, execFile, spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

/**
 * KafkaBroker timings for tests against the mock. It delays a group's first join by a fixed
 * 3 s and a later join by (session − 1 s), and drops a member silent for its session even while
 * that member waits in a join: so the session must exceed 3 s, and short beats the rest. It
 * also ends a rebalance as soon as the leader's assignment arrives, failing followers whose
 * SyncGroup comes later: the leader waits 100 ms for them.
 */
export const KAFKA_TEST_TIMINGS = {
  leaderAssignDelayMs: 100,
  sessionTimeoutMs: 4000,
  heartbeatIntervalMs: 300,
  rebalanceTimeoutMs: 4000,
  fetchMaxWaitMs: 100,
  drainTimeoutMs: 1000,
  retryBackoffMs: 50,
} as const;

const BOOTSTRAP = /Mock cluster\b.*?(?:bootstrap\.servers=|replaced with )(\d[\d.:,]*\d)/;

/** True when kcat is installed (scripts/services.sh installs it). */
export function kcatInstalled(): Promise<boolean> {
  return new Promise((resolve) => execFile('kcat', ['-V'], (err) => resolve(!err)));
}

export interface KafkaMockOptions {
  /** Mock brokers. 3 unless set. */
  brokers?: number;
  /** How long to wait for the bootstrap line. 10 s unless set. */
  startTimeoutMs?: number;
}

export class KafkaMockCluster {
  /** "127.0.0.1:port" of each broker. */
  readonly bootstrapServers: readonly string[];
  readonly #shell: ChildProcessByStdio<Writable, Readable, Readable>;
  readonly #kcatPid: number;

  private constructor(
    shell: ChildProcessByStdio<Writable, Readable, Readable>,
    pid: number,
    servers: string[],
  ) {
    this.#shell = shell;
    this.#kcatPid = pid;
    this.bootstrapServers = servers;
  }

  static async start(options: KafkaMockOptions = {}): Promise<KafkaMockCluster> {
    const brokers = options.brokers ?? 3;
    const timeoutMs = options.startTimeoutMs ?? 10_000;
    const script = 'kcat "$@" </dev/null >/dev/null & pid=$!; echo "$pid"; read _; kill -9 $pid; wait $pid';
    const args = ['-C', '-t', 'boot', '-X', `test.mock.num.brokers=${brokers}`, '-b', '127.0.0.1:1'];
    const shell = spawn('sh', ['-c', script, 'sh', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    try {
      const { pid, servers } = await new Promise<{ pid: number; servers: string[] }>((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(new Error(`the kcat mock cluster printed no bootstrap servers within ${timeoutMs} ms`)),
          timeoutMs,
        );
        const check = () => {
          const pid = /^(\d+)\n/.exec(stdout);
          const match = BOOTSTRAP.exec(stderr);
          if (!pid || !match) return;
          clearTimeout(timer);
          resolve({ pid: Number(pid[1]), servers: match[1]!.split(',') });
        };
        shell.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
          check();
        });
        shell.stderr.on('data', (chunk: Buffer) => {
          if (stderr.length < 64 * 1024) stderr += chunk.toString();
          check();
        });
        shell.once('error', (err) => {
          clearTimeout(timer);
          reject(new Error(`could not start kcat: ${err.message}`));
        });
        shell.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`kcat exited (${code}) before the mock cluster started: ${stderr.trim()}`));
        });
      });
      // Keep draining stderr (kcat's consumer notes) so the pipe never fills and blocks kcat.
      shell.stderr.removeAllListeners('data');
      shell.stderr.resume();
      shell.stdout.resume();
      shell.unref();
      for (const stream of [shell.stdin, shell.stdout, shell.stderr])
        (stream as unknown as { unref?(): void }).unref?.();
      return new KafkaMockCluster(shell, pid, servers);
    } catch (err) {
      await stopShell(shell);
      throw new Error(`${(err as Error).message}; stderr: ${stderr.trim().slice(0, 500)}`);
    }
  }

  /** "127.0.0.1:a,127.0.0.1:b,…", as kafka-python and kcat take it. */
  get bootstrap(): string {
    return this.bootstrapServers.join(',');
  }

  /** Freezes the cluster (SIGSTOP): connections stay open but nothing answers. */
  pause(): void {
    this.#signal('SIGSTOP');
  }

  /** Thaws a paused cluster (SIGCONT); what it held is still there. */
  resume(): void {
    this.#signal('SIGCONT');
  }

  #signal(signal: NodeJS.Signals): void {
    if (this.#shell.exitCode !== null || this.#shell.signalCode !== null) return; // stopped already
    process.kill(this.#kcatPid, signal);
  }

  /** Kills the cluster and waits until it is gone; its data is lost. */
  async stop(): Promise<void> {
    await stopShell(this.#shell);
  }
}

async function stopShell(shell: ChildProcessByStdio<Writable, Readable, Readable>): Promise<void> {
  if (shell.exitCode !== null || shell.signalCode !== null) return;
  const exited = new Promise((resolve) => shell.once('exit', resolve));
  shell.ref(); // wait for it even when nothing else keeps the event loop alive
  shell.stdin.end(); // the shell kills kcat with SIGKILL (which also ends a stopped kcat)
  const timer = setTimeout(() => shell.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
