/**
 * A sanity run against the machine's shared NATS (127.0.0.1:4222, JetStream on), which is
 * never stopped: streams under a prefix of this run only, deleted at the end.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { portOpen, serviceMissing } from '../../../test/support/services.ts';
import { sleep, waitFor } from '../../../test/support/wait.ts';
import type { Delivery } from '../broker.ts';
import { NatsBroker } from './broker.ts';

const SERVER = '127.0.0.1:4222';
const prefix = `sbtest${process.pid}${Date.now().toString(36)}`;
const bytes = (s: string) => new TextEncoder().encode(s);

/** Deletes every stream (and so every consumer) this run created. */
async function deleteStreams(): Promise<string[]> {
  const nc = await connect({ servers: SERVER });
  try {
    const jsm = await jetstreamManager(nc);
    const mine: string[] = [];
    for await (const name of jsm.streams.names()) if (name.startsWith(`${prefix}_`)) mine.push(name);
    for (const name of mine) await jsm.streams.delete(name);
    return mine;
  } finally {
    await nc.close();
  }
}

describe('NatsBroker on the shared server', {
  skip: await serviceMissing('NATS (127.0.0.1:4222)', () => portOpen('127.0.0.1', 4222)),
}, () => {
  let broker: NatsBroker;
  before(async () => {
    broker = await NatsBroker.connect({ servers: SERVER, streamPrefix: prefix, storage: 'memory' });
  });
  after(async () => {
    await broker?.close();
    await deleteStreams();
  });

  it('publishes, delivers, deduplicates and dead-letters', { timeout: 10_000 }, async () => {
    const log: Delivery[] = [];
    const letters: Delivery[] = [];
    const dlq = await broker.subscribe('sanity.dlq', (d) => void letters.push(d), { group: 'd' });
    const sub = await broker.subscribe(
      'sanity',
      async (d) => {
        log.push(d);
        if (Buffer.from(d.payload).toString() === 'poison') await d.term('refused');
      },
      { group: 'g' },
    );
    const first = await broker.publish('sanity', {
      id: 's-1',
      key: 'k',
      headers: { a: 'b' },
      payload: bytes('hi'),
    });
    const again = await broker.publish('sanity', { id: 's-1', payload: bytes('hi') });
    assert.deepEqual([first.duplicate, again.duplicate, again.position], [false, true, first.position]);
    await broker.publish('sanity', { payload: bytes('poison') });
    await waitFor(() => log.length === 2 && letters.length === 1, 5000);
    assert.deepEqual([log[0]!.id, log[0]!.key, log[0]!.headers], ['s-1', 'k', { a: 'b' }]);
    assert.equal(letters[0]!.headers['x-death-reason'], 'refused');
    assert.equal(letters[0]!.headers['x-death-group'], 'g');
    assert.equal(letters[0]!.id, log[1]!.id);
    await sleep(100);
    assert.equal(log.length, 2);
    await Promise.all([sub.close(), dlq.close()]);
  });

  it('refuses a reserved header with a TypeError', async () => {
    await assert.rejects(
      broker.publish('sanity', { headers: { 'Nats-Expected-Stream': 'x' }, payload: bytes('x') }),
      TypeError,
    );
  });

  it('leaves no stream behind', async () => {
    const probe = await NatsBroker.connect({ servers: SERVER, streamPrefix: prefix, storage: 'memory' });
    await probe.publish('leftover', { payload: bytes('x') });
    await probe.close();
    const deleted = await deleteStreams();
    assert.ok(deleted.includes(`${prefix}_leftover`), deleted.join(' '));
  });
});
