/**
 * Broker trouble against a private nats-server that the test kills and restarts: publishes
 * while it is down fail within publishTimeoutMs and are never sent later (no buffering), a
 * publish that sees it come back in time succeeds, and a subscriber resumes where it stopped.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NatsServer, natsServerInstalled } from '../../../test/support/nats-server.ts';
import { serviceMissing } from '../../../test/support/services.ts';
import { sleep, waitFor } from '../../../test/support/wait.ts';
import { NatsBroker } from './broker.ts';
import { NatsUnavailableError } from './connection-watch.ts';

const bytes = (s: string) => new TextEncoder().encode(s);

describe('NatsBroker when the server goes down', {
  skip: await serviceMissing('nats-server', natsServerInstalled),
}, () => {
  let server: NatsServer;
  let publisher: NatsBroker;
  let subscriber: NatsBroker;
  const options = { publishTimeoutMs: 800, reconnectTimeWaitMs: 100 };
  before(async () => {
    server = await NatsServer.start();
    publisher = await NatsBroker.connect({ servers: server.url, ...options });
    subscriber = await NatsBroker.connect({ servers: server.url, ...options });
  });
  after(async () => {
    await server?.resume();
    await Promise.all([publisher?.close(), subscriber?.close()]);
    await server?.stop();
  });

  it('fails publishes in bounded time, buffers none, and resumes consuming', {
    timeout: 20_000,
  }, async () => {
    const seen: string[] = [];
    const sub = await subscriber.subscribe('t', (d) => void seen.push(Buffer.from(d.payload).toString()), {
      group: 'g',
    });
    for (let i = 0; i < 5; i++) await publisher.publish('t', { payload: bytes(`before${i}`) });
    await waitFor(() => seen.length === 5, 5000);
    await sleep(100); // the acks reach the server

    await server.kill('SIGTERM'); // a clean stop: a crash may lose the last acks, and redeliver
    const started = Date.now();
    const failures = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) => publisher.publish('t', { payload: bytes(`down${i}`) })),
    );
    const waited = Date.now() - started;
    assert.ok(
      failures.every((f) => f.status === 'rejected' && f.reason instanceof NatsUnavailableError),
      'every publish failed as unavailable',
    );
    const first = failures[0] as PromiseRejectedResult;
    assert.match((first.reason as Error).message, /unreachable|PubAck/);
    assert.ok(waited >= 700 && waited < 3000, `failed after ${waited} ms, bound 800 ms`);

    await server.resume();
    for (let i = 0; i < 5; i++) await publisher.publish('t', { payload: bytes(`after${i}`) });
    await waitFor(() => seen.length >= 10, 10_000);
    await sleep(300);
    // Where it stopped: nothing acked before again, nothing refused while down ever sent.
    assert.deepEqual(
      seen,
      [0, 1, 2, 3, 4].map((i) => `before${i}`).concat([0, 1, 2, 3, 4].map((i) => `after${i}`)),
    );
    await sub.close();
  });

  it('waits for a reconnect that comes within publishTimeoutMs', { timeout: 10_000 }, async () => {
    await publisher.publish('w', { payload: bytes('warm') });
    await server.kill('SIGTERM');
    await sleep(100); // the client notices the disconnect
    const pending = publisher.publish('w', { id: 'w-1', payload: bytes('late') });
    await sleep(150);
    await server.resume();
    const receipt = await pending;
    assert.equal(receipt.id, 'w-1');
    assert.equal(receipt.duplicate, false);
  });

  it('closes in bounded time while the server is down', { timeout: 10_000 }, async () => {
    const client = await NatsBroker.connect({ servers: server.url, ...options });
    const busy = await client.subscribe('c', () => sleep(50), { group: 'g' });
    await client.publish('c', { payload: bytes('x') });
    await server.kill();
    await sleep(100); // the client notices the disconnect
    const started = Date.now();
    await busy.close();
    await client.close();
    assert.ok(Date.now() - started < 2000, `closed in ${Date.now() - started} ms`);
    await assert.rejects(client.publish('c', { payload: bytes('x') }), /closed/);
    await server.resume();
  });
});
