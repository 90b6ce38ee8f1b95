import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Server } from '../../src/app/index.ts';
import { run } from '../../src/cli/main.ts';
import { type EchoService, echoContract, echoImplementation } from '../fixtures/echo-service.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(REPO, 'bin/switchboard.js');
const ECHO_PROTO = 'test/fixtures/echo.proto';

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI as a child process, optionally feeding standard input. */
function cli(args: string[], stdin = ''): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill(), 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(stdin);
  });
}

/** Runs the CLI in this process: the same code path, without a process start (for the many small cases). */
async function inProcess(args: string[], stdin = ''): Promise<Result> {
  let stdout = '';
  let stderr = '';
  const code = await run(args, {
    out: (text) => {
      stdout += text;
    },
    err: (text) => {
      stderr += text;
    },
    readStdin: async () => stdin,
  });
  return { code, stdout, stderr };
}

function json(result: Result): Record<string, unknown> {
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

describe('switchboard call and list', () => {
  const server = new Server({ grpc: { port: 0 }, http: { port: 0 }, native: { port: 0 } });
  // The Server serves health and reflection itself.
  server.add<EchoService>(echoContract().service('sb.test.Echo'), echoImplementation);
  const targets: Record<string, string> = {};

  before(async () => {
    const addresses = await server.listen();
    for (const [kind, address] of Object.entries(addresses)) targets[kind] = `127.0.0.1:${address?.port}`;
  });
  after(() => server.close(0));

  it('calls a unary method over gRPC with --proto, fields and headers included', async () => {
    const res = json(
      await cli([
        'call',
        'sb.test.Echo/Unary',
        '{"text":"hi","big":"9007199254740993","at":"2024-01-02T03:04:05Z","kind":"KIND_LOUD"}',
        '--target',
        targets.grpc!,
        '--proto',
        ECHO_PROTO,
        '-H',
        'x-who: cli',
      ]),
    );
    assert.equal(res.text, 'hi');
    assert.equal(res.big, '9007199254740993');
    assert.equal(res.at, '2024-01-02T03:04:05Z');
    assert.equal(res.kind, 'KIND_LOUD');
    assert.ok((res.metadata as string[]).includes('x-who=cli'), String(res.metadata));
  });

  for (const transport of ['grpc', 'http', 'native']) {
    // gRPC through a child process, as users run it; the others in-process to keep this file fast.
    const runner = transport === 'grpc' ? cli : inProcess;
    it(`calls through reflection, without --proto, over ${transport}`, async () => {
      const stream = await runner([
        'call',
        'sb.test.Echo.ServerStream',
        '{"text":"reflected","count":3}',
        '-t',
        `${transport}://${targets[transport]}`,
      ]);
      assert.equal(stream.code, 0, stream.stderr);
      const lines = stream.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { text: string; index?: number });
      assert.deepEqual(
        lines.map((m) => `${m.text}:${m.index ?? 0}`),
        ['reflected:0', 'reflected:1', 'reflected:2'],
      );
    });
  }

  it('streams requests from standard input, one JSON object per line', async () => {
    const res = json(
      await cli(
        ['call', 'sb.test.Echo/ClientStream', '-', '-t', targets.grpc!],
        '{"text":"a"}\n{"text":"b"}\n',
      ),
    );
    assert.equal(res.text, 'a,b');
    assert.equal(res.index, 2);
  });

  it('checks health through the standard service', async () => {
    const res = json(
      await inProcess([
        'call',
        'grpc.health.v1.Health/Check',
        '{"service":"sb.test.Echo"}',
        '-t',
        targets.grpc!,
      ]),
    );
    assert.deepEqual(res, { status: 'SERVING' });
  });

  it('exits 1 with the status name when the call fails', async () => {
    const failed = await cli([
      'call',
      'sb.test.Echo/Unary',
      '{"text":"no such echo","failWith":5}',
      '-t',
      targets.grpc!,
    ]);
    assert.equal(failed.code, 1);
    assert.equal(failed.stderr.trim(), 'ERROR NOT_FOUND: no such echo');
    assert.equal(failed.stdout, '');
    const late = await inProcess([
      'call',
      'sb.test.Echo/Unary',
      '{"delayMs":5000}',
      '-t',
      targets.grpc!,
      '-p',
      ECHO_PROTO,
      '--timeout',
      '200',
    ]);
    assert.equal(late.code, 1);
    assert.match(late.stderr, /^ERROR DEADLINE_EXCEEDED: /);
    const unknown = await inProcess(['call', 'no.Such/Method', '-t', targets.grpc!]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^ERROR NOT_FOUND: symbol not found: no\.Such/);
  });

  it('exits 1 UNAVAILABLE when nothing listens at the target', async () => {
    const result = await cli(['call', 'sb.test.Echo/Unary', '{}', '-t', '127.0.0.1:1', '-p', ECHO_PROTO]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^ERROR UNAVAILABLE: /);
  });

  it('exits 2 with a helpful message on usage errors', async () => {
    const cases: [string[], RegExp][] = [
      [['call'], /which method\?/],
      [['call', 'sb.test.Echo/Unary'], /--target host:port is required/],
      [['call', 'sb.test.Echo/Unary', '{', '-t', targets.grpc!, '-p', ECHO_PROTO], /the request is not JSON/],
      [['call', 'sb.test.Echo/Unary', '{"nope":1}', '-t', targets.grpc!, '-p', ECHO_PROTO], /unknown field/],
      [['call', 'sb.test.Echo/Nope', '-t', targets.grpc!, '-p', ECHO_PROTO], /unknown method .*it has Unary/],
      [['call', 'x', '-t', targets.grpc!], /is not package.Service\/Method/],
      [
        ['call', 'sb.test.Echo/Unary', '-t', targets.grpc!, '--transport', 'smoke'],
        /--transport must be one of/,
      ],
      [['call', 'sb.test.Echo/Unary', '-t', targets.grpc!, '--timeout', 'soon'], /--timeout takes a number/],
      [['call', 'sb.test.Echo/Unary', '--bogus'], /Unknown option '--bogus'/],
      [['frobnicate'], /unknown command "frobnicate"/],
    ];
    // Two through the launcher for the real exit code, the rest in-process.
    const results = await Promise.all(cases.map(([args], i) => (i < 2 ? cli(args) : inProcess(args))));
    results.forEach((result, i) => {
      const [args, message] = cases[i]!;
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message, args.join(' '));
    });
    const help = await inProcess(['call', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: switchboard call <package.Service\/Method>/);
  });

  it('lists services and describes one', async () => {
    const services = await inProcess(['list', '-t', targets.grpc!]);
    assert.equal(services.code, 0, services.stderr);
    assert.deepEqual(services.stdout.trim().split('\n'), [
      'grpc.health.v1.Health',
      'grpc.reflection.v1.ServerReflection',
      'grpc.reflection.v1alpha.ServerReflection',
      'sb.test.Echo',
    ]);
    const methods = await inProcess(['list', 'sb.test.Echo', '-t', targets.native!, '--transport', 'native']);
    assert.equal(methods.code, 0, methods.stderr);
    assert.match(
      methods.stdout,
      /^rpc Bidi\(stream sb\.test\.EchoRequest\) returns \(stream sb\.test\.EchoResponse\)$/m,
    );
  });
});
