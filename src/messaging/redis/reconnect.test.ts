/**
 * Broker trouble (issue 4, Build 6) against a private redis-server that the test kills and
 * starts again: publishes fail with a clear error within publishTimeoutMs, no more than
 * maxBufferedPublishes wait, and a subscriber resumes by itself once Redis is back.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RedisServer, redisServerInstalled } from '../../../test/support/redis-server.ts';
import { serviceMissing } from '../../../test/support/services.ts';
import { waitFor } from '../../../test/support/wait.ts';
import { RedisBroker } from './broker.ts';
import { RedisUnavailableError } from './connection.ts';

const skip = await serviceMissing('redis-server', redisServerInstalled);
const bytes = (text: string) => new TextEncoder().encode(text);

describe('redis broker while Redis is down', { skip }, () => {
  let server: RedisServer;
  before(async () => {
    server = await RedisServer.start();
  });
  after(() => server.stop());

  it('fails publishes within the bound and resumes subscribers after a restart', {
    timeout: 30_000,
  }, async () => {
    const errors: Error[] = [];
    const publisherErrors: Error[] = [];
    const options = { url: server.url, publishTimeoutMs: 400, maxBufferedPublishes: 2, claimIntervalMs: 100 };
    const publisher = await RedisBroker.connect({ ...options, onError: (e) => void publisherErrors.push(e) });
    const consumer = await RedisBroker.connect({ ...options, onError: (e) => void errors.push(e) });
    const seen: string[] = [];
    const sub = await consumer.subscribe(
      'trouble',
      (d) => void seen.push(Buffer.from(d.payload).toString()),
      {
        group: 'g',
      },
    );
    await publisher.publish('trouble', { payload: bytes('before') });
    await waitFor(() => seen.includes('before'), 5000);

    await server.kill();
    // A publish in the moment before the client notices fails at once ("isn't writeable").
    await waitFor(() => publisherErrors.length > 0, 5000);
    const started = Date.now();
    const waiting = [1, 2, 3].map((n) => publisher.publish('trouble', { payload: bytes(`down ${n}`) }));
    const outcomes = await Promise.allSettled(waiting);
    const elapsed = Date.now() - started;
    for (const outcome of outcomes) {
      assert.equal(outcome.status, 'rejected');
      assert.ok(outcome.reason instanceof RedisUnavailableError, String(outcome.reason));
      assert.match(outcome.reason.message, /unavailable/);
    }
    assert.match(String((outcomes[2] as PromiseRejectedResult).reason), /2 publishes already wait/);
    assert.ok(elapsed < 2000, `publishes failed after ${elapsed} ms`);

    await server.resume();
    // ioredis reconnects with its backoff; the publish waits for it within publishTimeoutMs.
    await waitFor(async () => {
      try {
        await publisher.publish('trouble', { payload: bytes('after') });
        return true;
      } catch {
        return false;
      }
    }, 10_000);
    await waitFor(() => seen.includes('after'), 10_000);
    assert.ok(errors.length > 0, 'the lost connection was reported');
    assert.ok(!seen.some((s) => s.startsWith('down')), 'failed publishes were not delivered');
    await sub.close();
    await Promise.all([publisher.close(), consumer.close()]);
  });

  it('refuses to connect to a server that is not there, within publishTimeoutMs', async () => {
    await server.kill();
    try {
      const started = Date.now();
      await assert.rejects(
        RedisBroker.connect({ url: server.url, publishTimeoutMs: 300 }),
        RedisUnavailableError,
      );
      assert.ok(Date.now() - started < 2000);
    } finally {
      await server.resume();
    }
  });
});
