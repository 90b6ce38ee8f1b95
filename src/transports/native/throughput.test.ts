import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadContract } from '../../contract/contract.ts';
import { createClient } from '../../core/client.ts';
import { ServiceHost } from '../../core/host.ts';
import type { Message } from '../../core/types.ts';
import { NativeClientTransport } from './client.ts';
import { NativeServer } from './server.ts';

// A sanity check, not a benchmark (`npm run bench` runs client and server in two processes): the
// reference SayHello, 64 unary calls in flight for ~3 s over loopback, client and server in one
// process. It runs in a child process because node:test's own async hooks make every promise
// of the test process about 3x slower, which would measure the test runner, not the transport.

const HERE = fileURLToPath(import.meta.url);
const GREETER_PROTO = path.resolve(path.dirname(HERE), '../../../examples/greeter/greeter.proto');
const CHILD_FLAG = 'SB_NATIVE_THROUGHPUT_CHILD';

interface Result {
  rate: number;
  cpuPerCallUs: number;
}

async function measure(seconds: number): Promise<Result> {
  const service = (await loadContract(GREETER_PROTO)).service('greet.Greeter');
  const host = new ServiceHost().add(service, {
    sayHello: (request: Message) => ({ message: `Hello, ${String(request.name)}!` }),
  });
  const server = new NativeServer(host);
  const { port } = await server.listen();
  const transport = new NativeClientTransport({ target: `127.0.0.1:${port}` });
  const sayHello = createClient(service, transport).sayHello as (request: Message) => Promise<Message>;
  let completed = 0;
  let running = true;
  const worker = async () => {
    while (running) {
      const response = await sayHello({ name: 'John' });
      if (response.message !== 'Hello, John!')
        throw new Error(`unexpected response ${String(response.message)}`);
      completed++;
    }
  };
  try {
    const workers = Array.from({ length: 64 }, worker);
    await new Promise((resolve) => setTimeout(resolve, 500)); // warm-up
    const startCount = completed;
    const startCpu = process.cpuUsage();
    const started = performance.now();
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    const elapsed = (performance.now() - started) / 1000;
    const calls = completed - startCount;
    const cpu = process.cpuUsage(startCpu);
    running = false;
    await Promise.all(workers);
    return { rate: Math.round(calls / elapsed), cpuPerCallUs: (cpu.user + cpu.system) / calls };
  } finally {
    await transport.close();
    await server.close(0);
  }
}

if (process.env[CHILD_FLAG] === '1') {
  const result = await measure(3);
  process.send?.(result);
} else {
  const { it } = await import('node:test');
  it('sustains 64 unary calls in flight (in-process sanity throughput)', async (t) => {
    const child = fork(HERE, [], {
      env: { ...process.env, [CHILD_FLAG]: '1' },
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    t.after(() => {
      if (child.exitCode === null) child.kill();
    });
    const result = await new Promise<Result>((resolve, reject) => {
      child.once('message', (message) => resolve(message as Result));
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`the measuring process exited with ${code}`)));
    });
    t.diagnostic(
      `${result.rate} req/s in one process, ${result.cpuPerCallUs.toFixed(2)} µs of CPU per call (client + server)`,
    );
    // Far below what this machine does (~150k/s): only a broken transport (a stall, a lost flush) fails it.
    assert.ok(result.rate > 10_000, `only ${result.rate} req/s`);
  });
}
