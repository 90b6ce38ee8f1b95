import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(REPO, 'bin/switchboard.js');
const TSC = path.join(REPO, 'node_modules/typescript/bin/tsc');
// Inside the repo so that imports of src/ and node_modules resolve; a dot folder, so the
// repo's own `tsc -p tsconfig.json` (whose globs skip dot folders) never sees it.
const TMP = path.join(REPO, 'test/cli/.gen-tmp');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function exec(file: string, args: string[]): Promise<Result> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [file, ...args], {
      cwd: REPO,
      encoding: 'utf8',
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** A tsconfig that extends the repo's, type-checks `files`, and maps switchboard/core to src/. */
async function tsconfig(name: string, files: string[]): Promise<string> {
  const file = path.join(TMP, name);
  const config = {
    extends: '../../../tsconfig.json',
    compilerOptions: { noEmit: true, paths: { 'switchboard/core': ['../../../src/core/index.ts'] } },
    files,
    include: [],
  };
  await writeFile(file, JSON.stringify(config, null, 2));
  return file;
}

// Correct use of the generated types: a typed server and a typed client, checked by tsc
// and then run, so the types are shown to match what the runtime really hands over.
const USAGE = `import { loadContractSync } from '../../../src/contract/index.ts';
import { createClient, ServiceHost } from '../../../src/core/index.ts';
import { InprocTransport } from '../../../src/transports/inproc/index.ts';
import { type EchoRequest, type EchoService, EchoServiceName, Kind } from './gen/echo.ts';
import { type GreeterService, GreeterServiceName, type Request } from './gen/greeter.ts';

const echo = loadContractSync('test/fixtures/echo.proto').service(EchoServiceName);
const greeter = loadContractSync('examples/greeter/greeter.proto').service(GreeterServiceName);
const host = new ServiceHost();
host.add<EchoService>(echo, {
  unary: (req: EchoRequest) => ({
    text: req.text.toUpperCase(),
    big: req.big,
    kind: Kind.KIND_LOUD,
    at: req.at,
    labels: { seen: String(Object.keys(req.labels).length) },
  }),
  async *serverStream(req) {
    for (let i = 0; i < req.count; i++) yield { text: req.text, index: i };
  },
});
host.add<GreeterService>(greeter, { sayHello: (req: Request) => ({ message: \`Hello, \${req.name}!\` }) });
const transport = new InprocTransport(host);
const client = createClient<EchoService>(echo, transport);
const greet = createClient<GreeterService>(greeter, transport);

const res = await client.unary({ text: 'x', big: 5n, kind: Kind.KIND_PLAIN, labels: { a: 'b' }, at: { seconds: 1, nanos: 2 } });
const text: string = res.text;
const kind: Kind = res.kind;
const index: number = res.index;
const seconds: string = String(res.at?.seconds);
const indexes: number[] = [];
for await (const m of client.serverStream({ text: 'y', count: 2 })) indexes.push(m.index);
const hello = await greet.sayHello({ name: 'John' });
console.log(JSON.stringify({ text, kind, index, big: res.big.toString(), seconds, labels: res.labels, indexes, hello: hello.message }));
`;

// Each line is a mistake the generated types must catch.
const WRONG = `import { createClient, type ClientTransport } from '../../../src/core/index.ts';
import { loadContractSync } from '../../../src/contract/index.ts';
import { type EchoService, EchoServiceName, Kind } from './gen/echo.ts';

declare const transport: ClientTransport;
const client = createClient<EchoService>(loadContractSync('x.proto').service(EchoServiceName), transport);
export async function wrong(): Promise<void> {
  await client.unary({ text: 42 });
  const n: string = (await client.unary({})).index;
  await client.nope({});
  const k: Kind = 7;
  void n;
  void k;
}
`;

describe('switchboard gen', () => {
  before(async () => {
    await rm(TMP, { recursive: true, force: true });
    await mkdir(TMP, { recursive: true });
  });
  after(async () => {
    await rm(TMP, { recursive: true, force: true });
  });

  it('writes one file per .proto, plus the imported files whose types are used', async () => {
    const out = path.join(TMP, 'gen');
    const result = await exec(BIN, [
      'gen',
      'test/fixtures/echo.proto',
      'examples/greeter/greeter.proto',
      '--out',
      out,
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(
      result.stdout
        .trim()
        .split('\n')
        .map((p) => path.relative(out, p))
        .sort(),
      ['echo.ts', 'google/protobuf/timestamp.ts', 'greeter.ts'],
    );
    const echo = await readFile(path.join(out, 'echo.ts'), 'utf8');
    assert.match(echo, /export const EchoServiceName = 'sb\.test\.Echo';/);
    assert.match(echo, /serverStream: ServerStreamingMethod<EchoRequest, EchoResponse>;/);
    assert.match(echo, /import type \{ Timestamp \} from '\.\/google\/protobuf\/timestamp\.ts';/);
    assert.match(echo, /labels: Record<string, string>;/);
    assert.match(echo, /big: Int64;/);
    assert.match(
      echo,
      /\/\*\* For server streaming: how many responses to send\. \*\//,
      'comments carried over',
    );
  });

  it('generates types that type-check and match what the runtime delivers', async () => {
    await writeFile(path.join(TMP, 'usage.ts'), USAGE);
    const config = await tsconfig('tsconfig.usage.json', ['usage.ts']);
    const checked = await exec(TSC, ['-p', config]);
    // Only errors in the generated and usage files count: src/ is other work, checked elsewhere.
    const ours = checked.stdout.split('\n').filter((line) => line.includes('.gen-tmp/'));
    assert.deepEqual(ours, [], checked.stdout);
    assert.ok(checked.code === 0 || /error TS/.test(checked.stdout), checked.stderr);
    const ran = await exec('--import', ['tsx', path.join(TMP, 'usage.ts')]);
    assert.equal(ran.code, 0, ran.stderr);
    assert.deepEqual(JSON.parse(ran.stdout), {
      text: 'X',
      kind: 2,
      index: 0,
      big: '5',
      seconds: '1',
      labels: { seen: '1' },
      indexes: [0, 1],
      hello: 'Hello, John!',
    });
  });

  it('makes wrong usage fail to type-check', async () => {
    await writeFile(path.join(TMP, 'wrong.ts'), WRONG);
    const config = await tsconfig('tsconfig.wrong.json', ['wrong.ts']);
    const checked = await exec(TSC, ['-p', config]);
    assert.notEqual(checked.code, 0);
    const errorLines = [...checked.stdout.matchAll(/wrong\.ts\((\d+),/g)].map((m) => Number(m[1]));
    assert.deepEqual(
      [...new Set(errorLines)].sort((a, b) => a - b),
      [8, 9, 10, 11],
      checked.stdout,
    );
  });

  it('answers usage mistakes with exit code 2 and a hint', async () => {
    const noOut = await exec(BIN, ['gen', 'test/fixtures/echo.proto']);
    assert.equal(noOut.code, 2);
    assert.match(noOut.stderr, /--out <dir> is required/);
    assert.match(noOut.stderr, /switchboard gen --help/);
    const missing = await exec(BIN, ['gen', 'nope.proto', '--out', path.join(TMP, 'x')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot load nope\.proto/);
    const help = await exec(BIN, ['gen', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: switchboard gen/);
  });
});
