/**
 * Interop with Python grpcio (Debian's /usr/bin/python3) in both directions, on the reference
 * Greeter contract: the Python client of the brief calls GrpcServer, and GrpcClientTransport
 * calls a grpcio server. Stubs are generated at run time by the Python scripts themselves.
 */
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, execFile } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadContractSync, Status, StatusError } from '../../src/contract/index.ts';
import {
  type CallContext,
  createClient,
  type Message,
  ServiceHost,
  type UnaryMethod,
} from '../../src/core/index.ts';
import { GrpcClientTransport, GrpcServer } from '../../src/transports/grpc/index.ts';
import { PYTHON, PYTHON_SCRIPTS, startPythonGreeter, stopPython } from '../support/python-greeter.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SCRIPTS = PYTHON_SCRIPTS;
const greeter = loadContractSync(path.join(HERE, '../../examples/greeter/greeter.proto')).service(
  'greet.Greeter',
);
type GreeterService = { sayHello: UnaryMethod<Message, Message> };

interface PythonRun {
  code: number;
  stdout: string;
  stderr: string;
}

function runPythonClient(args: string[]): Promise<PythonRun> {
  return new Promise((resolve) => {
    execFile(
      PYTHON,
      [path.join(SCRIPTS, 'greeter_client.py'), ...args],
      { cwd: SCRIPTS, timeout: 30_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout: stdout.trim(), stderr: stderr.trim() });
      },
    );
  });
}

describe('Python grpcio client → GrpcServer', () => {
  let server: GrpcServer;
  let target: string;
  const cancelled: string[] = [];

  before(async () => {
    const host = new ServiceHost().add(greeter, {
      async sayHello(req: Message, ctx: CallContext): Promise<Message> {
        const name = String(req.name);
        if (name === 'error') throw new StatusError(Status.NOT_FOUND, `no one called ${name} here ☃`);
        if (name === 'slow') {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, 5000);
            ctx.signal.addEventListener('abort', () => {
              clearTimeout(timer);
              cancelled.push(name);
              resolve();
            });
          });
        }
        return { message: `Hello, ${name}!` };
      },
    } as never);
    server = new GrpcServer(host);
    const address = await server.listen();
    target = `${address.host}:${address.port}`;
  });

  after(async () => {
    await server.close(100);
  });

  it("answers the brief's client: SayHello(name='John') prints Hello, John!", async () => {
    const run = await runPythonClient(['--target', target]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'Hello, John!');
  });

  it('a Python timeout becomes our deadline: DEADLINE_EXCEEDED, and the handler is cancelled', async () => {
    const run = await runPythonClient(['--target', target, '--name', 'slow', '--timeout', '0.5']);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stdout, /^DEADLINE_EXCEEDED/);
    const until = Date.now() + 3000;
    while (!cancelled.includes('slow')) {
      assert.ok(Date.now() < until, 'the handler was cancelled');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });

  it('an error status reaches the Python client with its code and message', async () => {
    const run = await runPythonClient(['--target', target, '--name', 'error']);
    assert.equal(run.code, 2, run.stderr);
    assert.equal(run.stdout, 'NOT_FOUND: no one called error here ☃');
  });

  it('a gzip-compressed Python request is understood', async () => {
    // Long enough that grpcio really compresses it (it sends small messages as they are).
    const name = `Zip${'z'.repeat(2000)}`;
    const run = await runPythonClient(['--target', target, '--name', name, '--gzip']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, `Hello, ${name}!`);
  });
});

describe('GrpcClientTransport → Python grpcio server', () => {
  let plain: ChildProcessWithoutNullStreams | undefined;
  let gzip: ChildProcessWithoutNullStreams | undefined;
  let transport: GrpcClientTransport;
  let gzipTransport: GrpcClientTransport;

  before(async () => {
    const [a, b] = await Promise.all([startPythonGreeter([]), startPythonGreeter(['--gzip'])]);
    plain = a.child;
    gzip = b.child;
    transport = new GrpcClientTransport({ target: `127.0.0.1:${a.port}` });
    gzipTransport = new GrpcClientTransport({ target: `127.0.0.1:${b.port}` });
  });

  after(async () => {
    await transport?.close();
    await gzipTransport?.close();
    await Promise.all([stopPython(plain), stopPython(gzip)]);
  });

  it('SayHello(name=John) answers Hello, John!, with trailing metadata', async () => {
    let who = '';
    const res = await createClient<GreeterService>(greeter, transport).sayHello(
      { name: 'John' },
      {
        metadata: { 'x-who': 'node' },
        onTrailers: (t) => {
          who = t.getString('x-who-was') ?? '';
        },
      },
    );
    assert.equal(res.message, 'Hello, John!');
    assert.equal(who, 'node');
  });

  it('an aborted Python handler reaches us as a status with trailing metadata', async () => {
    try {
      await createClient<GreeterService>(greeter, transport).sayHello({ name: 'fail' });
      assert.fail('the call succeeded');
    } catch (err) {
      assert.ok(err instanceof StatusError, String(err));
      assert.equal(err.code, Status.FAILED_PRECONDITION);
      assert.equal(err.message, 'Python says no ☃');
      assert.equal(err.metadata.getString('x-served-by'), 'grpcio');
    }
  });

  it('our deadline reaches the Python server and fails the call in time', async () => {
    const started = Date.now();
    await assert.rejects(
      createClient<GreeterService>(greeter, transport).sayHello({ name: 'slow' }, { timeoutMs: 300 }),
      (e: StatusError) => e.code === Status.DEADLINE_EXCEEDED,
    );
    assert.ok(Date.now() - started < 2000);
  });

  it('reads gzip-compressed responses from grpcio', async () => {
    const name = `Gzip${'z'.repeat(2000)}`;
    const res = await createClient<GreeterService>(greeter, gzipTransport).sayHello({ name });
    assert.equal(res.message, `Hello, ${name}!`);
  });
});
