/**
 * Redelivery paths the suite does not reach: JetStream's ack wait (ackTimeoutMs) handing a
 * message out again while its first handler still runs, a last attempt that times out, and a
 * handler error's reason in the dead letter.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NatsServer, natsServerInstalled } from '../../../test/support/nats-server.ts';
import { serviceMissing } from '../../../test/support/services.ts';
import { sleep, waitFor } from '../../../test/support/wait.ts';
import type { Delivery } from '../broker.ts';
import { NatsBroker } from './broker.ts';

const bytes = (s: string) => new TextEncoder().encode(s);

describe('NatsBroker redelivery', { skip: await serviceMissing('nats-server', natsServerInstalled) }, () => {
  let server: NatsServer;
  let broker: NatsBroker;
  before(async () => {
    server = await NatsServer.start();
    broker = await NatsBroker.connect({ servers: server.url, retryBackoffMs: 20 });
  });
  after(async () => {
    await broker?.close();
    await server?.stop();
  });

  it('redelivers a delivery not settled within ackTimeoutMs and ignores its late ack', {
    timeout: 10_000,
  }, async () => {
    const attempts: number[] = [];
    let late: (() => Promise<void>) | undefined;
    const sub = await broker.subscribe(
      'slow',
      async (d) => {
        attempts.push(d.attempt);
        if (d.attempt === 1) {
          late = () => d.nack(); // would send it round again, were it not ignored
          await sleep(700);
        }
      },
      { group: 'g', ackTimeoutMs: 300 },
    );
    await broker.publish('slow', { payload: bytes('x') });
    await waitFor(() => attempts.length >= 2, 5000);
    await late?.();
    await sleep(800);
    assert.deepEqual(attempts, [1, 2]);
    await sub.close();
  });

  it('dead-letters a message whose last attempt was never settled', { timeout: 10_000 }, async () => {
    const letters: Delivery[] = [];
    const dlq = await broker.subscribe('stuck.dlq', (d) => void letters.push(d), { group: 'd' });
    const attempts: number[] = [];
    const sub = await broker.subscribe(
      'stuck',
      async (d) => {
        attempts.push(d.attempt);
        await sleep(600); // longer than the ack wait, every time
      },
      { group: 'g', ackTimeoutMs: 200, maxAttempts: 2 },
    );
    await broker.publish('stuck', { id: 'stuck-1', payload: bytes('x') });
    await waitFor(() => letters.length === 1, 5000);
    assert.deepEqual(attempts, [1, 2]);
    assert.equal(letters[0]!.id, 'stuck-1');
    assert.equal(letters[0]!.headers['x-death-attempts'], '2');
    assert.match(
      letters[0]!.headers['x-death-reason'] ?? '',
      /max attempts reached: attempt 2 was not settled/,
    );
    await Promise.all([sub.close(), dlq.close()]);
  });

  it('dead-letters with the handler error as the reason after maxAttempts', { timeout: 10_000 }, async () => {
    const letters: Delivery[] = [];
    const dlq = await broker.subscribe('throws.dlq', (d) => void letters.push(d), { group: 'd' });
    const sub = await broker.subscribe(
      'throws',
      () => {
        throw new Error('no such customer\nsecond line');
      },
      { group: 'g', maxAttempts: 3 },
    );
    await broker.publish('throws', { key: 'k', payload: bytes('x') });
    await waitFor(() => letters.length === 1, 5000);
    const letter = letters[0]!;
    assert.equal(letter.key, 'k');
    assert.equal(letter.headers['x-death-reason'], 'max attempts reached: no such customer second line');
    assert.equal(letter.headers['x-death-attempts'], '3');
    assert.equal(letter.headers['x-death-topic'], 'throws');
    assert.equal(letter.headers['x-death-group'], 'g');
    await Promise.all([sub.close(), dlq.close()]);
  });
});
