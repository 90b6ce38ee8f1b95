/**
 * Inputs the fuzz targets found failing, kept by name with their bytes, each against the fix.
 * docs/security.md#fuzzing lists them.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { Status } from '../../src/contract/status.ts';
import { HubRegistry } from '../../src/discovery/hub/registry.ts';
import type { ServiceInstance } from '../../src/discovery/instance.ts';
import { RegistryError } from '../../src/discovery/registry.ts';
import { MemoryBroker } from '../../src/messaging/memory/broker.ts';
import { BROKER_SERVICE_NAME, brokerContract, brokerService } from '../../src/services/broker/contract.ts';
import { BodyTooLargeError } from '../../src/transports/http/http-errors.ts';
import { LineSplitter } from '../../src/transports/http/line-splitter.ts';
import { SseParser } from '../../src/transports/http/sse.ts';
import { FrameType } from '../../src/transports/native/frame.ts';
import { readStatus } from '../../src/transports/native/frame-payloads.ts';
import { type EchoServer, method, RawPeer, startServer } from '../support/native-peer.ts';

/** A "hub" that answers every list with `list` and every watch with the SSE bytes `events`. */
async function fakeHub(list: Buffer, events: Buffer): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const watch = req.url?.startsWith('/api/v1/watch/');
    res.writeHead(200, { 'content-type': watch ? 'text/event-stream' : 'application/json' });
    res.end(watch ? events : list);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('fuzz regressions', () => {
  describe('hub-registry-client: a hub listing non-instances (seed -1774139878)', () => {
    // `{"instances":[null],"index":0}`: HubRegistry handed [null] to watchers and to list()'s
    // caller, who then read `.endpoints` of null. Now each instance is validated as a
    // registration is, and a malformed answer is a RegistryError.
    const list = Buffer.from('{"instances":[null],"index":0}');
    const events = Buffer.from('event: instances\ndata: {"instances":[null],"index":0}\n\n');
    let hub: { url: string; close(): Promise<void> };
    before(async () => {
      hub = await fakeHub(list, events);
    });
    after(() => hub.close());

    it('list() rejects with a RegistryError', async () => {
      const registry = new HubRegistry({ url: hub.url, requestTimeoutMs: 1000 });
      try {
        await assert.rejects(registry.list('orders'), (err: Error) => {
          assert.ok(err instanceof RegistryError);
          assert.match(err.message, /unexpected body: instance: expected an object/);
          return true;
        });
      } finally {
        await registry.close();
      }
    });

    it('watch() reports a RegistryError and pushes nothing', async () => {
      const registry = new HubRegistry({ url: hub.url, requestTimeoutMs: 1000 });
      const pushed: ServiceInstance[][] = [];
      const errors: Error[] = [];
      const watch = registry.watch(
        'orders',
        (instances) => pushed.push(instances),
        (err) => errors.push(err),
      );
      try {
        const deadline = Date.now() + 2000;
        while (errors.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        assert.deepEqual(pushed, []);
        assert.ok(errors[0] instanceof RegistryError);
        assert.match(errors[0].message, /malformed event: instance: expected an object/);
      } finally {
        watch.close();
        await registry.close();
      }
    });

    it('a valid instance still comes through both ways', async () => {
      const instance = {
        service: 'orders',
        id: 'a',
        endpoints: [{ transport: 'grpc', host: '127.0.0.1', port: 1 }],
        metadata: {},
      };
      const body = JSON.stringify({ instances: [instance], index: 1 });
      const good = await fakeHub(Buffer.from(body), Buffer.from(`event: instances\ndata: ${body}\n\n`));
      const registry = new HubRegistry({ url: good.url, requestTimeoutMs: 1000 });
      try {
        assert.deepEqual(await registry.list('orders'), [instance]);
        const pushed = await new Promise<ServiceInstance[]>((resolve) => {
          const watch = registry.watch('orders', (instances) => {
            watch.close();
            resolve(instances);
          });
        });
        assert.deepEqual(pushed, [instance]);
      } finally {
        await registry.close();
        await good.close();
      }
    });
  });
});

describe('fuzz regressions: native-server', () => {
  // Found by native-server (a TimeoutOverflowWarning during the run): a REQUEST whose timeout
  // field is above 2^31-1 ms (here 0xfffffffe, just under "no deadline") armed setTimeout with
  // a delay Node cannot hold, which fires after 1 ms: the call failed at once with
  // DEADLINE_EXCEEDED. The deadline timer now waits in steps Node can hold.
  let echo: EchoServer;
  before(async () => {
    echo = await startServer();
  });
  after(() => echo.close());

  it('a REQUEST with timeout 0xfffffffe is served, not expired at once', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    const peer = await RawPeer.connect(echo.port);
    try {
      await peer.handshake();
      // REQUEST payload: method id 0, path, timeout 0xfffffffe, no metadata, the message.
      const message = method('Unary').input.encode({ text: 'far', delayMs: 30 });
      peer.send((w) => w.request(1, 0, Buffer.from('/sb.test.Echo/Unary'), 0xfffffffe, undefined, message));
      const frame = await peer.next((f) => f.type === FrameType.STATUS);
      const status = readStatus(frame.payload, frame.flags);
      assert.equal(status.code, Status.OK, status.message);
      assert.equal(warnings.filter((w) => w.name === 'TimeoutOverflowWarning').length, 0);
    } finally {
      process.off('warning', onWarning);
      peer.destroy();
    }
  });
});

describe('fuzz regressions: http-sse-lines', () => {
  // Found by http-sse-lines: data lines with no blank line to end the event were gathered
  // without a bound (each line was within the limit, the event was not), in the HTTP client's
  // server-sent event streams and in HubRegistry's watch. The event is now bounded too.
  it('an event whose data lines never end is RESOURCE_EXHAUSTED past the limit', () => {
    const lines = new LineSplitter(256);
    const parser = new SseParser(256);
    const bytes = Buffer.from(`data: ${'y'.repeat(100)}\n`.repeat(3));
    assert.throws(
      () => {
        for (const line of lines.push(bytes)) parser.line(line);
      },
      (err: unknown) => err instanceof BodyTooLargeError && err.code === Status.RESOURCE_EXHAUSTED,
    );
  });

  it('events within the limit still come out whole', () => {
    const lines = new LineSplitter(256);
    const parser = new SseParser(256);
    const events = lines
      .push(Buffer.from(`data: ${'y'.repeat(100)}\ndata: z\n\n`))
      .map((l) => parser.line(l));
    assert.deepEqual(events.at(-1), { event: 'message', data: `${'y'.repeat(100)}\nz` });
  });
});

describe('fuzz regressions: hub-broker-requests', () => {
  // Found by hub-broker-requests (seed 846204220): Consume with subscribe.ack_timeout_ms
  // 0x80000000 armed an ack timer Node cannot hold; it fired after 1 ms, again and again.
  it('a subscription with ackTimeoutMs 2^31 is refused with a RangeError', async () => {
    const broker = new MemoryBroker();
    try {
      await assert.rejects(
        broker.subscribe('fz', async () => {}, { group: 'g', ackTimeoutMs: 2 ** 31 }),
        (err: unknown) =>
          err instanceof RangeError && /ackTimeoutMs must be at most 2147483647/.test(err.message),
      );
      const ok = await broker.subscribe('fz', async () => {}, { group: 'g', ackTimeoutMs: 2 ** 31 - 1 });
      await ok.close();
    } finally {
      await broker.close();
    }
  });
});

describe('fuzz regressions: broker-consume-response', () => {
  // Found by broker-consume-response (seed -860139609): a header value of bad UTF-8 (0xff) was
  // read as U+FFFD by the hand-written decoder, while the contract's codec refuses it.
  it('a delivery header of bad UTF-8 is refused as the contract codec refuses it', () => {
    const bytes = Buffer.from('12072a050a001201ff', 'hex');
    const fast = brokerService().method('Consume')!.output;
    const reference = brokerContract().service(BROKER_SERVICE_NAME).method('Consume')!.output;
    assert.throws(() => reference.decode(bytes), /not valid for encoding utf-8/);
    assert.throws(() => fast.decode(bytes), /not valid for encoding utf-8/);
  });
});
