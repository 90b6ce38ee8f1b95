/**
 * EjectionReporter against a real HTTP server that records the reports, with renewals driven
 * by fake timers: when it reports, renews and stops, one request in flight per instance,
 * rate-limited errors, the bound, close().
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { FakeClock } from '../governance/fake-clock.ts';
import { EjectionReporter, type EjectionReporterOptions, type ReporterTimers } from './ejection-reporter.ts';

/** Timers that fire only when the test advances them, on a FakeClock. */
class FakeTimers implements ReporterTimers {
  readonly clock = new FakeClock(1_000_000);
  #next = 0;
  readonly #due = new Map<number, { at: number; callback: () => void }>();

  setTimeout(callback: () => void, ms: number): unknown {
    const handle = ++this.#next;
    this.#due.set(handle, { at: this.clock.now() + ms, callback });
    return handle;
  }

  clearTimeout(handle: unknown): void {
    this.#due.delete(handle as number);
  }

  get pending(): number {
    return this.#due.size;
  }

  advance(ms: number): void {
    this.clock.advance(ms);
    for (const [handle, timer] of [...this.#due]) {
      if (timer.at > this.clock.now()) continue;
      this.#due.delete(handle);
      timer.callback();
    }
  }
}

interface Received {
  instance: string;
  body: { ejected: boolean; by: string };
}

/** A real server taking PUTs like the hub's; `hold` keeps answers back until released. */
class RecordingHub {
  readonly received: Received[] = [];
  status = 200;
  hold = false;
  #held: (() => void)[] = [];
  readonly #server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    req.on('end', () => {
      const instance = decodeURIComponent((req.url ?? '').split('/').at(-1) ?? '');
      this.received.push({ instance, body: JSON.parse(text) as Received['body'] });
      const answer = () => res.writeHead(this.status, { 'content-type': 'application/json' }).end('{}');
      if (this.hold) this.#held.push(answer);
      else answer();
    });
  });

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/`;
  }

  release(): void {
    this.hold = false;
    for (const answer of this.#held.splice(0)) answer();
  }

  async close(): Promise<void> {
    this.release();
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}

async function until(predicate: () => boolean, what: string, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Lets in-flight requests that should not exist have a chance to arrive. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

const event = (instance: string, service = 'greet.Greeter') => ({ service, instance });
const ended = (instance: string) => ({ ...event(instance), reason: 'recovered' as const });

describe('EjectionReporter', { timeout: 15_000 }, () => {
  let hub: RecordingHub;
  let hubUrl: string;
  let timers: FakeTimers;
  let errors: Error[];
  let reporters: EjectionReporter[];

  beforeEach(async () => {
    hub = new RecordingHub();
    hubUrl = await hub.listen();
    timers = new FakeTimers();
    errors = [];
    reporters = [];
  });
  afterEach(async () => {
    await Promise.all(reporters.map((r) => r.close()));
    await hub.close();
  });

  function reporter(options: Partial<EjectionReporterOptions> = {}): EjectionReporter {
    const r = new EjectionReporter({
      hubUrl,
      by: 'frontend',
      timers,
      clock: timers.clock,
      onError: (err) => errors.push(err),
      ...options,
    });
    reporters.push(r);
    return r;
  }

  it('reports at once, renews every 20 s while ejected, and reports the end', async () => {
    const r = reporter();
    r.ejected(event('a-1'));
    await until(() => hub.received.length === 1, 'the first report');
    assert.deepEqual(hub.received[0], { instance: 'a-1', body: { ejected: true, by: 'frontend' } });
    await until(() => timers.pending === 1, 'the renewal to be scheduled');

    timers.advance(19_999);
    await settle();
    assert.equal(hub.received.length, 1, 'no renewal before 20 s');
    timers.advance(1);
    await until(() => hub.received.length === 2, 'the first renewal');
    assert.deepEqual(hub.received[1]?.body, { ejected: true, by: 'frontend' });
    await until(() => timers.pending === 1, 'the next renewal');
    timers.advance(20_000);
    await until(() => hub.received.length === 3, 'the second renewal');
    await until(() => timers.pending === 1, 'the next renewal');

    r.ejectionEnded(ended('a-1'));
    assert.equal(timers.pending, 0, 'the end cancels the renewal');
    await until(() => hub.received.length === 4, 'the end');
    assert.deepEqual(hub.received[3], { instance: 'a-1', body: { ejected: false, by: 'frontend' } });
    await until(() => r.size === 0, 'the instance to be forgotten');
    timers.advance(120_000);
    await settle();
    assert.equal(hub.received.length, 4, 'nothing after the end');
    assert.deepEqual(errors, []);
  });

  it('keeps one request in flight per instance and sends the latest state after it', async () => {
    const r = reporter();
    hub.hold = true;
    r.ejected(event('a-1'));
    await until(() => hub.received.length === 1, 'the first report');
    r.ejectionEnded(ended('a-1'));
    r.ejected(event('a-1'));
    r.ejectionEnded(ended('a-1'));
    r.ejected(event('b-1'));
    await until(() => hub.received.length === 2, 'the other instance');
    assert.equal(hub.received[1]?.instance, 'b-1', 'another instance is not held back');
    await settle();
    assert.equal(hub.received.length, 2, 'a-1 waits for its request in flight');

    hub.release();
    await until(() => hub.received.length === 3, 'the state after the first request');
    assert.deepEqual(hub.received[2], { instance: 'a-1', body: { ejected: false, by: 'frontend' } });
    await settle();
    assert.equal(hub.received.length, 3, 'the changes in between were folded into one');
  });

  it('reports one instance ejected while any client of the process has it out', async () => {
    const r = reporter();
    r.ejected(event('a-1', 'greet.Greeter'));
    r.ejected(event('a-1', 'shop.Orders'));
    await until(() => hub.received.length === 1, 'the report');
    r.ejectionEnded(ended('a-1'));
    await settle();
    assert.equal(hub.received.length, 1, 'still ejected by the other client');
    await until(() => timers.pending === 1, 'the renewal');
    r.ejectionEnded(ended('a-1'));
    await until(() => hub.received.length === 2, 'the end');
    assert.equal(hub.received[1]?.body.ejected, false);
    r.ejectionEnded(ended('a-1'));
    await settle();
    assert.equal(hub.received.length, 2, 'an unmatched end sends nothing');
  });

  it('passes failures to onError at most once a minute, and retries with the renewal', async () => {
    hub.status = 503;
    const r = reporter();
    r.ejected(event('a-1'));
    r.ejected(event('b-1'));
    await until(() => hub.received.length === 2, 'both reports');
    await until(() => timers.pending === 2, 'both renewals');
    assert.equal(errors.length, 1, errors.map((e) => e.message).join('; '));
    assert.match(errors[0]?.message ?? '', /hub refused the ejection report for instance [ab]-1: 503/);

    timers.advance(20_000);
    await until(() => hub.received.length === 4, 'the renewals');
    await until(() => timers.pending === 2, 'the next renewals');
    assert.equal(errors.length, 1, 'a minute has not passed');
    timers.advance(20_000);
    await until(() => hub.received.length === 6, 'the next renewals');
    await until(() => timers.pending === 2, 'the renewals after');
    timers.advance(20_000);
    await until(() => hub.received.length === 8, 'the renewals a minute on');
    await until(() => errors.length === 2, 'the next error');
    assert.match(errors[1]?.message ?? '', /and 5 more failures since the last report/);
  });

  it('reports a hub that does not answer, without throwing to the caller', async () => {
    const gone = new RecordingHub();
    const url = await gone.listen();
    await gone.close();
    const r = reporter({ hubUrl: url, timeoutMs: 500 });
    assert.doesNotThrow(() => r.ejected(event('a-1')));
    await until(() => errors.length === 1, 'the error');
    assert.match(errors[0]?.message ?? '', /could not report instance a-1 ejected to the hub: ECONNREFUSED/);
  });

  it('tracks a bounded number of instances', async () => {
    const r = reporter({ maxInstances: 2 });
    r.ejected(event('a-1'));
    r.ejected(event('a-2'));
    r.ejected(event('a-3'));
    assert.equal(r.size, 2);
    assert.match(errors[0]?.message ?? '', /2 ejected instances tracked already; a-3 is not reported/);
    await until(() => hub.received.length === 2, 'two reports');
    r.ejectionEnded(ended('a-3'));
    await settle();
    assert.deepEqual(hub.received.map((x) => x.instance).sort(), ['a-1', 'a-2']);
  });

  it('close() stops the renewals and sends nothing more', async () => {
    const r = reporter();
    r.ejected(event('a-1'));
    await until(() => timers.pending === 1, 'the renewal');
    await r.close();
    assert.equal(timers.pending, 0);
    r.ejected(event('b-1'));
    r.ejectionEnded(ended('a-1'));
    timers.advance(60_000);
    await settle();
    assert.equal(hub.received.length, 1);
  });
});
