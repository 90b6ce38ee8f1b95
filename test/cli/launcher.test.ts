import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// A copy of the package layout (bin/ and dist/, no src/) inside the repo, so that
// node_modules and the bundled proto/ folder resolve as they do for an installed package.
const TMP = path.join(REPO, 'test/cli/.dist-tmp');

async function node(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, args, { cwd: REPO, encoding: 'utf8' });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('bin/switchboard.js', () => {
  before(async () => {
    await rm(TMP, { recursive: true, force: true });
    await mkdir(path.join(TMP, 'bin'), { recursive: true });
    await copyFile(path.join(REPO, 'bin/switchboard.js'), path.join(TMP, 'bin/switchboard.js'));
  });
  after(async () => {
    await rm(TMP, { recursive: true, force: true });
  });

  it('runs the TypeScript sources through tsx in a checkout', async () => {
    const result = await node([path.join(REPO, 'bin/switchboard.js'), '--help']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Usage: switchboard <command>/);
  });

  it('runs the compiled dist/ where there are no sources, as in an installed package', async () => {
    // The build of all of src/ may report type errors in work in progress; it still emits.
    await node([
      path.join(REPO, 'node_modules/typescript/bin/tsc'),
      '-p',
      path.join(REPO, 'tsconfig.build.json'),
      '--outDir',
      path.join(TMP, 'dist'),
    ]);
    const main = await readFile(path.join(TMP, 'dist/cli/main.js'), 'utf8');
    assert.match(main, /from '\.\/call\.js'/, 'relative imports rewritten to .js');
    // No src/ beside this bin/: success shows the launcher took dist/.
    const out = path.join(TMP, 'gen');
    const result = await node([
      path.join(TMP, 'bin/switchboard.js'),
      'gen',
      'examples/greeter/greeter.proto',
      '-o',
      out,
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      await readFile(path.join(out, 'greeter.ts'), 'utf8'),
      /sayHello: UnaryMethod<Request, Response>;/,
    );
    const usage = await node([path.join(TMP, 'bin/switchboard.js'), 'call']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /which method\?/);
  });
});
