/**
 * Input from the network that no Switchboard client wrote: messages published on a topic's
 * subject by the bare NATS client, and raw HPUB frames with malformed header blocks. Each
 * becomes a delivery with sensible defaults, can be dead-lettered, and the subscriber goes on.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { NatsServer, natsServerInstalled } from '../../../test/support/nats-server.ts';
import { serviceMissing } from '../../../test/support/services.ts';
import { sleep, waitFor } from '../../../test/support/wait.ts';
import type { Delivery } from '../broker.ts';
import { NatsBroker } from './broker.ts';

interface Seen {
  id: string;
  key: string | undefined;
  headers: Record<string, string>;
  payload: string;
  attempt: number;
}

const seen = (d: Delivery): Seen => ({
  id: d.id,
  key: d.key,
  headers: { ...d.headers },
  payload: Buffer.from(d.payload).toString('latin1'),
  attempt: d.attempt,
});

/** Publishes raw HPUB frames, header block as given, on a connection of its own. */
async function rawPublish(port: number, subject: string, frames: readonly [Buffer, string][]): Promise<void> {
  const socket = net.connect(port, '127.0.0.1');
  let received = '';
  socket.on('data', (chunk) => {
    received += chunk.toString('latin1');
  });
  await waitFor(() => received.startsWith('INFO'), 3000);
  socket.write('CONNECT {"headers":true,"verbose":false,"pedantic":false,"protocol":1}\r\n');
  for (const [block, body] of frames) {
    const payload = Buffer.from(body);
    const size = block.length + payload.length;
    socket.write(Buffer.concat([Buffer.from(`HPUB ${subject} ${block.length} ${size}\r\n`), block, payload]));
    socket.write('\r\n');
  }
  socket.write('PING\r\n');
  await waitFor(() => received.includes('PONG'), 3000);
  assert.doesNotMatch(received, /-ERR/);
  socket.destroy();
}

describe('NatsBroker with foreign input', {
  skip: await serviceMissing('nats-server', natsServerInstalled),
}, () => {
  let server: NatsServer;
  let broker: NatsBroker;
  let bare: NatsConnection;
  before(async () => {
    server = await NatsServer.start();
    broker = await NatsBroker.connect({ servers: server.url });
    bare = await connect({ servers: server.url });
  });
  after(async () => {
    await bare?.close();
    await broker?.close();
    await server?.stop();
  });

  it('delivers what the bare client publishes on the subject, with defaults', {
    timeout: 10_000,
  }, async () => {
    const log: Seen[] = [];
    const sub = await broker.subscribe('orders.created', (d) => void log.push(seen(d)), { group: 'g' });
    const { subject, stream } = broker.topicNames('orders.created');
    assert.deepEqual({ subject, stream }, { subject: 'sb.orders~2Ecreated', stream: 'sb_orders~2Ecreated' });
    bare.publish(subject, 'plain');
    const h = headers();
    h.set('Nats-Msg-Id', 'foreign-1');
    h.set('Switchboard-Key', 'customer-7');
    h.append('x-many', 'one');
    h.append('x-many', 'two');
    bare.publish(subject, 'with headers', { headers: h });
    await waitFor(() => log.length === 2, 5000);
    assert.deepEqual(log, [
      { id: `${stream}:1`, key: undefined, headers: {}, payload: 'plain', attempt: 1 },
      {
        id: 'foreign-1',
        key: 'customer-7',
        headers: { 'x-many': 'one, two' },
        payload: 'with headers',
        attempt: 1,
      },
    ]);
    await sub.close();
  });

  it('survives malformed header blocks and dead-letters such a message', { timeout: 10_000 }, async () => {
    const log: Seen[] = [];
    const letters: Seen[] = [];
    const dlq = await broker.subscribe('raw.dlq', (d) => void letters.push(seen(d)), { group: 'd' });
    const sub = await broker.subscribe(
      'raw',
      async (d) => {
        log.push(seen(d));
        if (d.payload.length === 1) await d.term('foreign junk');
      },
      { group: 'g' },
    );
    const frames: [Buffer, string][] = [
      [Buffer.from('NATS/1.0\r\nno colon\r\n: no name\r\nSwitchboard-Key: k1\r\n\r\n'), 'a'],
      [Buffer.from('garbage\r\n\r\n'), 'bb'],
      [Buffer.from('NATS/1.0\r\nx-bytes: \xff\xfe\x00\r\n\r\n', 'latin1'), 'c'],
      [Buffer.from('NATS/1.0 503\r\n\r\n'), 'dd'],
      // The client's header parser throws on a bare LF in a value.
      [Buffer.from('NATS/1.0\r\nSwitchboard-Key: k5\r\nx-lf: a\nb\r\n\r\n'), 'eee'],
    ];
    await rawPublish(server.port, broker.topicNames('raw').subject, frames);
    await waitFor(() => log.length === 5 && letters.length === 2, 5000);
    assert.deepEqual(
      log.map((s) => [s.payload, s.key]),
      [
        ['a', 'k1'],
        ['bb', undefined],
        ['c', undefined],
        ['dd', undefined],
        ['eee', undefined],
      ],
    );
    assert.deepEqual(log[0]!.headers, {}, 'lines without a name are dropped');
    assert.deepEqual(log[2]!.headers, { 'x-bytes': '\ufffd\ufffd\u0000' });
    assert.deepEqual(log[4]!.headers, {}, 'a block the client cannot parse counts as none');
    assert.deepEqual(
      letters.map((s) => [s.payload, s.headers['x-death-reason'], s.id]),
      [
        ['a', 'foreign junk', log[0]!.id],
        ['c', 'foreign junk', log[2]!.id],
      ],
    );
    // The subscriber goes on.
    await broker.publish('raw', { payload: new TextEncoder().encode('after') });
    await waitFor(() => log.length === 6, 5000);
    await sleep(100);
    assert.equal(log.length, 6);
    await Promise.all([sub.close(), dlq.close()]);
  });
});
