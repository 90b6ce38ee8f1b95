import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { durationFlag } from '../../src/cli/dev/dev-command.ts';
import { FileWatcher } from '../../src/cli/dev/file-watcher.ts';
import { LinePrefixer, prefixFor, useColour } from '../../src/cli/dev/log-prefixer.ts';
import { ProgressLine, progressText } from '../../src/cli/dev/progress-line.ts';
import { ownerOf as instanceOwner, pidOf } from '../../src/cli/dev/readiness.ts';
import { findServices, ownerOf, selectServices } from '../../src/cli/dev/service-discovery.ts';
import type { ServiceInstance } from '../../src/discovery/instance.ts';
import { sleep, waitFor } from '../support/wait.ts';

describe('dev: service discovery', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sb-dev-parts-'));
    const files = [
      'orders/main.ts',
      'payments/main.mjs',
      'proto/shop.proto',
      'lib/util.ts',
      'node_modules/x/main.ts',
      '.hidden/main.ts',
      'main.ts',
    ];
    for (const file of files) {
      await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
      await writeFile(path.join(dir, file), '');
    }
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('finds subfolders with an entry file, by name', () => {
    const services = findServices(dir);
    assert.deepEqual(
      services.map((s) => [s.name, path.relative(dir, s.entry)]),
      [
        ['orders', path.join('orders', 'main.ts')],
        ['payments', path.join('payments', 'main.mjs')],
      ],
    );
    assert.deepEqual(
      selectServices(services, ['payments']).map((s) => s.name),
      ['payments'],
    );
    assert.deepEqual(
      selectServices(services, undefined, ['payments']).map((s) => s.name),
      ['orders'],
    );
    assert.throws(
      () => selectServices(services, ['ordres']),
      /no service named "ordres" \(services: orders, payments\)/,
    );
  });

  it('tells whose a changed file is', () => {
    const names = new Set(['orders', 'payments']);
    assert.equal(ownerOf('orders/main.ts', names), 'orders');
    assert.equal(ownerOf('orders/deep/x.ts', names), 'orders');
    assert.equal(ownerOf('lib/util.ts', names), 'shared');
    assert.equal(ownerOf('package.json', names), 'shared');
    assert.equal(ownerOf('orders/node_modules/a.js', names), undefined);
    assert.equal(ownerOf('.git/index', names), undefined);
    assert.equal(ownerOf('orders/.main.ts.swp', names), undefined);
  });
});

describe('dev: output', () => {
  it('prefixes whole lines and holds a partial one until its end', () => {
    let written = '';
    const prefixer = new LinePrefixer('a │ ', (t) => {
      written += t;
    });
    prefixer.push('one\r\ntw');
    assert.equal(written, 'a │ one\n');
    prefixer.push('o\nthree');
    assert.equal(written, 'a │ one\na │ two\n');
    prefixer.flush();
    assert.equal(written, 'a │ one\na │ two\na │ three\n');
  });

  it('colours only when asked to, and never with NO_COLOR', () => {
    assert.equal(useColour({}, true), true);
    assert.equal(useColour({}, false), false);
    assert.equal(useColour({ FORCE_COLOR: '1' }, false), true);
    assert.equal(useColour({ FORCE_COLOR: '0' }, true), true);
    assert.equal(useColour({ FORCE_COLOR: '0' }, false), false);
    assert.equal(useColour({ NO_COLOR: '1', FORCE_COLOR: '1' }, true), false);
    assert.equal(prefixFor('hub', 6, undefined), 'hub    │ ');
    assert.equal(prefixFor('hub', 3, 90), '\u001b[90mhub │ \u001b[0m');
  });

  it('rewrites the progress line in place on a terminal, prints each change once elsewhere', () => {
    let piped = '';
    const plain = new ProgressLine((t) => {
      piped += t;
    }, false);
    plain.set('starting 0/2: a, b');
    plain.set('starting 0/2: a, b');
    plain.above('a │ hello\n');
    plain.set('starting 1/2: b');
    plain.done();
    assert.equal(piped, 'starting 0/2: a, b\na │ hello\nstarting 1/2: b\n');

    let tty = '';
    const live = new ProgressLine((t) => {
      tty += t;
    }, true);
    live.set('starting 0/1: a');
    live.above('a │ hello\n');
    live.done();
    assert.equal(tty, '\r\u001b[2Kstarting 0/1: a\r\u001b[2Ka │ hello\nstarting 0/1: a\r\u001b[2K');
    let narrow = '';
    new ProgressLine(
      (t) => {
        narrow += t;
      },
      true,
      () => 10,
    ).set('starting 0/2: orders, payments');
    assert.equal(narrow, '\r\u001b[2Kstarting…');
    assert.equal(progressText(1, 6, ['a', 'b', 'c', 'd', 'e'], 3), 'starting 1/6: a, b, c, …');
  });
});

describe('dev: readiness', () => {
  const instance = (id: string, metadata: Record<string, string> = {}): ServiceInstance => ({
    service: 'greet.Greeter',
    id,
    endpoints: [{ transport: 'native', host: '127.0.0.1', port: 1 }],
    metadata,
  });

  it('finds the process in the instance id or metadata', () => {
    assert.equal(pidOf(instance('box-1-4242-0a1b2c3d')), 4242);
    assert.equal(pidOf(instance('custom', { 'switchboard.pid': '77' })), 77);
    assert.equal(pidOf(instance('127.0.0.1-50051')), undefined);
    const starting = [
      { name: 'orders', pid: 4242, startedAt: 0 },
      { name: 'payments', pid: 5151, startedAt: 0 },
    ];
    assert.equal(instanceOwner(instance('box-4242-0a1b2c3d'), starting)?.name, 'orders');
    assert.equal(
      instanceOwner(instance('x', { 'switchboard.service-name': 'payments' }), starting)?.name,
      'payments',
    );
    // Nothing names a process: only a lone starting service can be its owner.
    assert.equal(instanceOwner(instance('127.0.0.1-50051'), starting), undefined);
    assert.equal(instanceOwner(instance('127.0.0.1-50051'), starting.slice(1))?.name, 'payments');
    // Another machine's (or an old) process: nobody's.
    assert.equal(instanceOwner(instance('box-999999-0a1b2c3d'), starting), undefined);
  });
});

describe('dev: file watcher', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sb-watch-'));
    await mkdir(path.join(dir, 'a/deep'), { recursive: true });
    await mkdir(path.join(dir, 'node_modules'), { recursive: true });
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reports a burst of changes once, after the quiet time, ignoring node_modules', async () => {
    const batches: string[][] = [];
    const watcher = new FileWatcher(dir, (paths) => batches.push(paths.sort()), { debounceMs: 100 });
    try {
      assert.equal(watcher.start(), 'recursive');
      await sleep(50);
      await writeFile(path.join(dir, 'a/deep/x.ts'), '1');
      await writeFile(path.join(dir, 'b.ts'), '1');
      await writeFile(path.join(dir, 'node_modules/y.js'), '1');
      await waitFor(() => batches.length > 0, 3000);
      await sleep(250);
      assert.equal(batches.length, 1);
      assert.deepEqual([...new Set(batches[0])], [path.join('a', 'deep', 'x.ts'), 'b.ts']);
    } finally {
      watcher.close();
    }
  });

  it('polls where recursive watching is unavailable', async () => {
    const batches: string[][] = [];
    const watcher = new FileWatcher(dir, (paths) => batches.push(paths), {
      debounceMs: 50,
      pollMs: 50,
      mode: 'polling',
    });
    try {
      assert.equal(watcher.start(), 'polling');
      await writeFile(path.join(dir, 'a/deep/polled.ts'), '1');
      await waitFor(() => batches.flat().includes(path.join('a', 'deep', 'polled.ts')), 3000);
      await rm(path.join(dir, 'a/deep/polled.ts'));
      await waitFor(() => batches.length >= 2, 3000);
      assert.deepEqual(batches[1], [path.join('a', 'deep', 'polled.ts')], 'a deleted file is a change too');
    } finally {
      watcher.close();
    }
  });
});

describe('dev: durations', () => {
  it('reads milliseconds, or seconds and minutes with a unit', () => {
    assert.equal(durationFlag('--x', '1500'), 1500);
    assert.equal(durationFlag('--x', '20s'), 20_000);
    assert.equal(durationFlag('--x', '1m'), 60_000);
    assert.equal(durationFlag('--x', '250ms'), 250);
    assert.throws(() => durationFlag('--x', 'soon'), /--x: expected milliseconds/);
    assert.throws(() => durationFlag('--x', '0'), /--x/);
  });
});
