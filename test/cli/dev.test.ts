import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { processOrGroupAlive } from '../support/processes.ts';
import { sleep, waitFor } from '../support/wait.ts';
import { REPO, type RunningCli, startCli } from './cli-runner.ts';

const SRC = pathToFileURL(path.join(REPO, 'src/index.ts')).href;
const GREETER = pathToFileURL(path.join(REPO, 'examples/greeter/greeter.ts')).href;

/** A Switchboard service: a native server on port 0, registered with the hub dev gives it. */
function serviceSource(name: string): string {
  return `import { HubRegistry, loadContract, Server } from '${SRC}';
import { GREETER_PROTO, greeter } from '${GREETER}';
import { suffix } from '../lib/shared.ts';
const contract = await loadContract(GREETER_PROTO);
const server = new Server({ native: { host: '127.0.0.1', port: 0 } }).add(contract.service('greet.Greeter'), greeter);
await server.listen();
const registry = new HubRegistry({ url: process.env.SWITCHBOARD_HUB });
await server.register({ registry, deregisterDelayMs: 0 });
console.log('${name} up' + suffix + ' as ' + process.env.SWITCHBOARD_SERVICE_NAME + ' dev=' + process.env.SWITCHBOARD_DEV);
console.error('${name} to stderr');
server.closeOnSignals({ after: () => registry.close() });
`;
}

async function write(file: string, text: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, text);
}

/** Changes a file's modification time, as an editor's save does. */
async function touch(file: string): Promise<void> {
  const now = new Date();
  await utimes(file, now, now);
}

/** The pids of "<name> │ started (pid N)" lines, in order. */
function startedPids(output: string, name: string): number[] {
  const pattern = new RegExp(`^${name}\\s*│ started \\(pid (\\d+)\\)`, 'gm');
  return [...output.matchAll(pattern)].map((m) => Number(m[1]));
}

function count(output: string, pattern: RegExp): number {
  return output.match(new RegExp(pattern, 'gm'))?.length ?? 0;
}

async function stop(running: RunningCli, pids: number[]): Promise<void> {
  if (running.child.exitCode === null) running.child.kill('SIGKILL');
  await running.exit;
  for (const pid of pids) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Gone, as it should be.
    }
  }
}

describe('switchboard dev', { timeout: 90_000 }, () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sb-dev-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs the hub and every service, restarts on changes, and stops everything on SIGINT', async () => {
    const root = path.join(dir, 'shop');
    await write(path.join(root, 'package.json'), '{"type":"module"}');
    await write(path.join(root, 'lib/shared.ts'), "export const suffix = '!';\n");
    await write(path.join(root, 'alpha/main.ts'), serviceSource('alpha'));
    await write(path.join(root, 'beta/main.ts'), serviceSource('beta'));
    await write(path.join(root, 'beta/helper.ts'), 'export {};\n');
    await write(path.join(root, 'notes.md'), 'not a service\n');
    const running = startCli(['dev', root, '--port', '0', '--grace', '3000'], { NO_COLOR: '1' }, 60_000);
    const out = () => running.stdout();
    const seen: number[] = [];
    try {
      await waitFor(
        () =>
          out().includes('all 2 services ready') &&
          out().includes('alpha up!') &&
          out().includes('beta up!') &&
          out().includes('alpha to stderr') &&
          out().includes('beta to stderr'),
        20_000,
      );
      assert.match(out(), /^hub\s+│ listening on http:\/\/127\.0\.0\.1:\d+/m);
      assert.match(out(), /^alpha │ alpha up! as alpha dev=1$/m);
      assert.match(out(), /^beta {2}│ beta up! as beta dev=1$/m);
      assert.match(out(), /^beta {2}│ beta to stderr$/m);
      assert.match(out(), /^alpha │ ready in \d+ ms \(registered greet\.Greeter\)$/m);
      assert.match(out(), /^starting 0\/2: alpha, beta$/m);
      assert.ok(!out().includes('\u001b['), 'NO_COLOR: no escape codes');
      const [alpha1] = startedPids(out(), 'alpha');
      const [beta1] = startedPids(out(), 'beta');
      assert.ok(alpha1 && beta1);
      seen.push(alpha1, beta1);

      // A service's own file: only that service restarts.
      await touch(path.join(root, 'beta/helper.ts'));
      await waitFor(() => count(out(), /^beta\s+│ ready in/) === 2, 15_000);
      assert.match(out(), /^dev\s+│ beta\/helper\.ts changed: restarting beta$/m);
      assert.equal(startedPids(out(), 'alpha').length, 1, 'alpha was not restarted');
      const beta2 = startedPids(out(), 'beta')[1] as number;
      seen.push(beta2);
      assert.notEqual(beta2, beta1);
      assert.equal(processOrGroupAlive(beta1), false, 'the old beta process is gone');
      assert.equal(processOrGroupAlive(alpha1), true);

      // Shared code: every service restarts.
      await touch(path.join(root, 'lib/shared.ts'));
      await waitFor(
        () => count(out(), /^alpha\s+│ ready in/) === 2 && count(out(), /^beta\s+│ ready in/) === 3,
        15_000,
      );
      assert.match(out(), /^dev\s+│ lib\/shared\.ts changed: restarting every service$/m);
      seen.push(...startedPids(out(), 'alpha').slice(1), ...startedPids(out(), 'beta').slice(2));
      assert.equal(seen.length, 5);
      assert.equal(processOrGroupAlive(alpha1), false);
      // A file outside any service that is not code still counts as shared; a dotfile does not.
      await write(path.join(root, '.scratch'), 'x');
      await sleep(500);
      assert.equal(startedPids(out(), 'alpha').length, 2, 'dotfiles are ignored');

      // A service folder that appears is run too, and restarts nobody else.
      await mkdir(path.join(root, 'gamma'));
      await sleep(400);
      await write(path.join(root, 'gamma/main.ts'), serviceSource('gamma'));
      await waitFor(() => /^gamma\s+│ ready in/m.test(out()), 15_000);
      assert.match(out(), /^dev\s+│ new service gamma \(gamma\/main\.ts\)$/m);
      assert.equal(startedPids(out(), 'alpha').length, 2, 'alpha was not restarted');
      seen.push(...startedPids(out(), 'gamma'));

      running.child.kill('SIGINT');
      const code = await running.exit;
      assert.equal(code, 0, running.stderr());
      assert.match(out(), /^dev\s+│ SIGINT: stopping 3 services/m);
      assert.match(out(), /^dev\s+│ stopped$/m);
      for (const pid of seen) assert.equal(processOrGroupAlive(pid), false, `process ${pid} is gone`);
    } finally {
      await stop(running, seen);
    }
  });

  it('reports crash loops and services that never register; a second SIGINT kills at once', async () => {
    const root = path.join(dir, 'odd');
    await write(path.join(root, 'package.json'), '{"type":"module"}');
    await write(path.join(root, 'broken/main.ts'), "console.log('broken starting'); process.exit(3);\n");
    // Registers nothing and ignores SIGTERM: only SIGKILL stops it.
    await write(
      path.join(root, 'stubborn/main.ts'),
      "process.on('SIGTERM', () => console.log('ignoring SIGTERM'));\nsetInterval(() => {}, 1000);\n",
    );
    await write(
      path.join(root, 'talker/main.ts'),
      "process.send?.({ switchboard: 'ready' });\nsetInterval(() => {}, 1000);\n",
    );
    const running = startCli(
      ['dev', root, '--port', '0', '--ready-timeout', '3s', '--grace', '20000'],
      { NO_COLOR: '1' },
      60_000,
    );
    const out = () => running.stdout();
    let pids: number[] = [];
    try {
      await waitFor(() => /^broken\s+│ crashed 3 times while starting/m.test(out()), 20_000);
      assert.match(out(), /^broken\s+│ crashed \(exit code 3\); restarting in 500 ms$/m);
      assert.match(out(), /^broken\s+│ crashed \(exit code 3\); restarting in 1000 ms$/m);
      assert.equal(count(out(), /^broken\s+│ broken starting$/), 3);
      assert.match(out(), /^talker\s+│ ready in \d+ ms \(said ready\)$/m);
      await waitFor(() => /^stubborn\s+│ not ready after 3000 ms/m.test(out()), 10_000);
      pids = [...startedPids(out(), 'stubborn'), ...startedPids(out(), 'talker')];
      assert.equal(pids.length, 2);

      running.child.kill('SIGINT');
      await waitFor(() => out().includes('ignoring SIGTERM'), 5000);
      const stoppedAt = Date.now();
      running.child.kill('SIGINT');
      assert.equal(await running.exit, 0);
      assert.ok(Date.now() - stoppedAt < 5000, 'the second SIGINT did not wait for the 20 s grace');
      assert.match(out(), /^dev\s+│ SIGINT again: killing every service$/m);
      for (const pid of pids)
        assert.equal(processOrGroupAlive(pid), false, `process ${pid} is gone\n${out()}`);
    } finally {
      await stop(running, pids);
    }
  });

  it('leaves no service behind when dev itself is killed', async () => {
    const root = path.join(dir, 'killed');
    await write(path.join(root, 'package.json'), '{"type":"module"}');
    await write(
      path.join(root, 'idle/main.ts'),
      "process.send?.({ switchboard: 'ready' });\nsetInterval(() => {}, 1000);\n",
    );
    const running = startCli(['dev', root, '--port', '0'], { FORCE_COLOR: '1', NO_COLOR: '' }, 30_000);
    let pids: number[] = [];
    try {
      await waitFor(() => running.stdout().includes('all 1 service ready'), 15_000);
      // FORCE_COLOR: the service's prefix in its colour, dev's notes dimmed.
      assert.ok(running.stdout().includes('\u001b[36midle │ \u001b[0m'), running.stdout());
      // biome-ignore lint/suspicious/noControlCharactersInRegex: the escape codes are the point
      const plain = running.stdout().replace(/\u001b\[[0-9;]*m/g, '');
      pids = startedPids(plain, 'idle');
      assert.equal(pids.length, 1);
      running.child.kill('SIGKILL');
      await running.exit;
      // The orphan guard in the service notices it has a new parent within a second or two.
      await waitFor(() => !processOrGroupAlive(pids[0] as number), 8000);
    } finally {
      await stop(running, pids);
    }
  });

  it('refuses a folder without services and unknown names, with exit code 2', async () => {
    const empty = path.join(dir, 'empty');
    await mkdir(path.join(empty, 'lib'), { recursive: true });
    const none = startCli(['dev', empty, '--port', '0']);
    assert.equal(await none.exit, 2);
    assert.match(none.stderr(), /switchboard dev: no services in .*subfolder holding main\.ts/);
    const missing = startCli(['dev', path.join(dir, 'nope')]);
    assert.equal(await missing.exit, 2);
    assert.match(missing.stderr(), /is not a folder/);
    const root = path.join(dir, 'names');
    await write(path.join(root, 'one/main.ts'), '');
    const unknown = startCli(['dev', root, '--only', 'one,two']);
    assert.equal(await unknown.exit, 2);
    assert.match(unknown.stderr(), /no service named "two" \(services: one\)/);
  });
});
