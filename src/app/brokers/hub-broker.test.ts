import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { brokerConformance } from '../../../test/conformance/broker-suite.ts';
import { rejection } from '../../../test/support/status.ts';
import { sleep, waitFor } from '../../../test/support/wait.ts';
import { Status } from '../../contract/status.ts';
import { createClient } from '../../core/client.ts';
import { ServiceHost } from '../../core/host.ts';
import { MemoryBroker } from '../../messaging/memory/broker.ts';
import { MemoryBrokerState } from '../../messaging/memory/state.ts';
import { BrokerService } from '../../services/broker/broker-service.ts';
import { BROKER_SERVICE_NAME, type BrokerMethods, brokerContract } from '../../services/broker/contract.ts';
import { NativeClientTransport } from '../../transports/native/client.ts';
import { NativeServer } from '../../transports/native/server.ts';
import { HubBroker } from './hub-broker.ts';

/** A broker service over a MemoryBroker on a native port: the hub's arrangement, minus the log. */
async function serve(state = new MemoryBrokerState()) {
  const broker = new MemoryBroker({ state, drainTimeoutMs: 300, retryBackoffMs: 20 });
  const host = new ServiceHost();
  const service = new BrokerService(broker).addTo(host);
  const server = new NativeServer(host, { port: 0, maxMessageBytes: 64 << 20 });
  const address = await server.listen();
  return {
    service,
    target: `127.0.0.1:${address.port}`,
    port: address.port,
    async close() {
      await server.close();
      await broker.close();
    },
  };
}

const memoryCapabilities = new MemoryBroker().capabilities;
let shared: Awaited<ReturnType<typeof serve>>;

describe('HubBroker', () => {
  before(async () => {
    shared = await serve();
  });
  after(() => shared.close());

  brokerConformance({
    name: 'hub (memory behind the broker service)',
    capabilities: memoryCapabilities,
    broker: async () =>
      new HubBroker({ target: shared.target, drainTimeoutMs: 300, capabilities: memoryCapabilities }),
  });

  it('sends the publishes of one turn as one request', async () => {
    const broker = new HubBroker({ target: shared.target, capabilities: memoryCapabilities });
    const receipts = await Promise.all(
      Array.from({ length: 100 }, (_, i) => broker.publish('batched', { payload: new Uint8Array([i]) })),
    );
    assert.equal(new Set(receipts.map((r) => r.id)).size, 100);
    await broker.close();
  });

  it('rejects a publish clearly when the hub stays unreachable', async () => {
    const broker = new HubBroker({ target: '127.0.0.1:1', publishTimeoutMs: 300 });
    const started = Date.now();
    await assert.rejects(broker.publish('t', { payload: new Uint8Array(1) }), /hub broker at 127\.0\.0\.1:1/);
    assert.ok(Date.now() - started < 2_000);
    await broker.close();
  });

  it('bounds the publishes waiting for the hub', async () => {
    const broker = new HubBroker({ target: '127.0.0.1:1', publishTimeoutMs: 500, maxBufferedPublishes: 3 });
    const waiting = Array.from({ length: 3 }, () => broker.publish('t', { payload: new Uint8Array(1) }));
    await assert.rejects(
      broker.publish('t', { payload: new Uint8Array(1) }),
      /3 publishes are already waiting/,
    );
    await Promise.allSettled(waiting);
    await broker.close();
  });

  it('refuses a subscription the broker refuses', async () => {
    const broker = new HubBroker({ target: shared.target });
    await assert.rejects(
      broker.subscribe('t', () => {}, { group: 'g', startAt: 'nowhere' as 'latest' }),
      TypeError,
    );
    await broker.close();
  });

  it('answers Consume options out of range with INVALID_ARGUMENT, not UNAVAILABLE', async () => {
    // HubBroker checks options itself; a foreign client's reach the hub unchecked.
    const transport = new NativeClientTransport({ target: shared.target });
    const client = createClient<BrokerMethods>(brokerContract().service(BROKER_SERVICE_NAME), transport);
    try {
      for (const subscribe of [
        { topic: 't', group: 'g', ackTimeoutMs: 2 ** 31 },
        { topic: 't', group: '' },
      ]) {
        const requests = (async function* () {
          yield { subscribe };
          await sleep(2000);
        })();
        const err = await rejection(
          (async () => {
            for await (const _ of client.consume(requests, { timeoutMs: 3000 })) {
              // the first answer is an error
            }
          })(),
        );
        assert.equal(err.code, Status.INVALID_ARGUMENT, `${JSON.stringify(subscribe)}: ${err.message}`);
      }
    } finally {
      await transport.close();
    }
  });

  it('hands back unsettled deliveries when a member disconnects', async () => {
    const own = await serve();
    const a = new HubBroker({ target: own.target, drainTimeoutMs: 50 });
    const b = new HubBroker({ target: own.target });
    const seenByB: number[] = [];
    let stuck = 0;
    await a.subscribe(
      'handback',
      () => {
        stuck++;
        return new Promise(() => {});
      },
      { group: 'g', maxInFlight: 4 },
    );
    await a.publish('handback', { payload: new Uint8Array([7]) });
    await waitFor(() => stuck === 1, 2_000);
    await b.subscribe('handback', (d) => void seenByB.push(d.attempt), { group: 'g' });
    await a.close();
    await waitFor(() => seenByB.length === 1, 3_000);
    assert.equal(seenByB[0], 2);
    assert.equal(own.service.sessions, 1);
    await b.close();
    await own.close();
  });
});

describe('HubBroker across a hub restart', () => {
  it('publishes wait for the hub and the subscriber rejoins by itself', async () => {
    const state = new MemoryBrokerState();
    let hub = await serve(state);
    const port = hub.port;
    const broker = new HubBroker({
      target: hub.target,
      publishTimeoutMs: 5_000,
      reconnect: { baseMs: 20, maxMs: 200 },
    });
    const seen: string[] = [];
    await broker.subscribe('restart', (d) => void seen.push(Buffer.from(d.payload).toString()), {
      group: 'g',
    });
    await broker.publish('restart', { payload: Buffer.from('before') });
    await waitFor(() => seen.length === 1, 2_000);
    await hub.close();
    const during = broker.publish('restart', { payload: Buffer.from('during') });
    await new Promise((r) => setTimeout(r, 300));
    const { NativeServer: Server } = await import('../../transports/native/server.ts');
    const memory = new MemoryBroker({ state });
    const host = new ServiceHost();
    new BrokerService(memory).addTo(host);
    const server = new Server(host, { port });
    await server.listen();
    hub = {
      ...hub,
      close: async () => {
        await server.close();
        await memory.close();
      },
    };
    await during;
    await waitFor(() => seen.includes('during'), 5_000);
    await broker.close();
    await hub.close();
  });
});

describe('HubBroker.fromHub', () => {
  it('finds the broker port of a running hub and publishes through it', async () => {
    const { HubServer } = await import('../../hub/server.ts');
    const hub = new HubServer({ port: 0 });
    await hub.listen();
    const broker = await HubBroker.fromHub(hub.url);
    const seen: string[] = [];
    await broker.subscribe('from-hub', (d) => void seen.push(Buffer.from(d.payload).toString()), {
      group: 'g',
    });
    await broker.publish('from-hub', { payload: Buffer.from('hello') });
    await waitFor(() => seen.length === 1, 2_000);
    assert.deepEqual(seen, ['hello']);
    assert.equal(broker.capabilities.consumerGroups, true);
    await broker.close();
    await hub.close();
  });

  it('says clearly when the hub serves no broker', async () => {
    const { HubServer } = await import('../../hub/server.ts');
    const hub = new HubServer({ port: 0, broker: false });
    await hub.listen();
    await assert.rejects(HubBroker.fromHub(hub.url), /serves no broker/);
    await hub.close();
  });
});
