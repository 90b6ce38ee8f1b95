import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../support/wait.ts';
import { cli, inProcess, startCli } from './cli-runner.ts';

describe('switchboard serve', { timeout: 60_000 }, () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sb-serve-'));
    await writeFile(path.join(dir, 'package.json'), '{"type":"module"}');
    await mkdir(path.join(dir, 'orders'));
    await writeFile(
      path.join(dir, 'orders/main.ts'),
      `const { SWITCHBOARD_HUB, SWITCHBOARD_SERVICE_NAME, SWITCHBOARD_DEV } = process.env;
console.log(\`hub=\${SWITCHBOARD_HUB} name=\${SWITCHBOARD_SERVICE_NAME} dev=\${SWITCHBOARD_DEV}\`);
const typed: number = 3;
process.exit(typed);
`,
    );
    await writeFile(
      path.join(dir, 'orders/waits.ts'),
      `process.on('SIGTERM', () => { console.log('got SIGTERM'); process.exit(0); });
console.log('waiting');
setInterval(() => {}, 1000);
`,
    );
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs a TypeScript entry with the dev environment and exits with its exit code', async () => {
    const result = await cli(['serve', path.join(dir, 'orders/main.ts'), '--hub', 'http://127.0.0.1:7999']);
    assert.equal(result.code, 3, result.stderr);
    assert.equal(result.stdout, 'hub=http://127.0.0.1:7999 name=orders dev=1\n');
    const fromEnv = await cli(['serve', path.join(dir, 'orders/main.ts'), '--name', 'o2'], {
      SWITCHBOARD_HUB: 'http://127.0.0.1:7998',
    });
    assert.equal(fromEnv.stdout, 'hub=http://127.0.0.1:7998 name=o2 dev=1\n');
  });

  it('passes SIGTERM on to the service and exits as it does', async () => {
    const running = startCli(['serve', path.join(dir, 'orders/waits.ts')], {}, 20_000);
    await waitFor(() => running.stdout().includes('waiting'), 10_000);
    running.child.kill('SIGTERM');
    assert.equal(await running.exit, 0);
    assert.equal(running.stdout(), 'waiting\ngot SIGTERM\n');
  });

  it('refuses a missing entry with exit code 2', async () => {
    const result = await inProcess(['serve', path.join(dir, 'nope.ts')]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /switchboard serve: ".*nope\.ts" is not a file/);
  });
});

/** Each command and flags its --help must name: the ones shared across commands above all. */
const HELP_FLAGS: Record<string, string[]> = {
  dev: ['--port', '--data', '--only', '--exclude', '--ready-timeout', '--grace', '--no-watch', '--help'],
  serve: ['--hub', '--name', '--help'],
  hub: ['--port', '--host', '--data', '--broker-port', '--help'],
  call: ['--target', '--hub', '--transport', '--proto', '--timeout', '--header', '--help'],
  list: ['--target', '--transport', '--proto', '--timeout', '--header', '--help'],
  ls: ['--hub', '--consul', '--eureka', '--json', '--timeout', '--help'],
  register: ['--hub', '--consul', '--eureka', '--ttl', '--meta', '--check', '--help'],
  publish: ['--hub', '--broker', '--key', '--header', '--count', '--json', '--help'],
  subscribe: ['--hub', '--broker', '--group', '--count', '--timeout', '--json', '--help'],
  gen: ['--out', '--include', '--help'],
};

describe('switchboard <command> --help', () => {
  for (const [command, flags] of Object.entries(HELP_FLAGS)) {
    it(`${command}: exits 0 with a usage line, its flags and the exit codes`, async () => {
      const result = await inProcess([command, '--help']);
      assert.equal(result.code, 0);
      assert.match(result.stdout, new RegExp(`^Usage: switchboard ${command}\\b`));
      for (const flag of flags) assert.ok(result.stdout.includes(flag), `${command} --help names ${flag}`);
      assert.match(result.stdout, /Exit codes: 0 .*1 .*2 usage/s);
      const viaHelp = await inProcess(['help', command]);
      assert.equal(viaHelp.stdout, result.stdout);
      const bad = await inProcess([command, '--no-such-flag']);
      assert.equal(bad.code, 2);
      assert.match(
        bad.stderr,
        new RegExp(`^switchboard ${command}: .*\\nRun 'switchboard ${command} --help'`),
      );
    });
  }

  it('lists every command in the main help; an unknown topic is a usage error', async () => {
    const result = await inProcess(['--help']);
    assert.equal(result.code, 0);
    for (const command of Object.keys(HELP_FLAGS))
      assert.match(result.stdout, new RegExp(`^  ${command} `, 'm'));
    const unknown = await inProcess(['help', 'nope']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no command "nope"/);
  });
});
