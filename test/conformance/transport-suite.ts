/**
 * The conformance suite every transport passes: the same calls, the same assertions, through
 * the ClientTransport and ServerTransport interfaces only. A transport is done when this is
 * green against its real server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Metadata, Status, StatusError } from '../../src/contract/index.ts';
import {
  type CallContext,
  type Client,
  type ClientInterceptor,
  type ClientTransport,
  createClient,
  type ServerInterceptor,
  ServiceHost,
} from '../../src/core/index.ts';
import {
  type EchoRequest,
  type EchoService,
  echoContract,
  echoImplementation,
  echoObservations,
} from '../fixtures/echo-service.ts';
import { rejectsWith } from '../support/status.ts';
import { sleep, waitFor } from '../support/wait.ts';

type Message = Partial<EchoRequest>;

export interface ServedTransport {
  /** What the client transport is given: "127.0.0.1:port" or a URL. */
  target: string;
  close(): Promise<void>;
}

export interface TransportUnderTest {
  name: string;
  serve(host: ServiceHost): Promise<ServedTransport>;
  client(target: string): ClientTransport;
  /** Whether a bidi call can answer before the client half-closes (HTTP/1.1 cannot). */
  fullDuplex: boolean;
}

const contract = echoContract();
const echo = contract.service('sb.test.Echo');

async function* messages(...list: Message[]): AsyncIterable<Message> {
  for (const m of list) {
    await sleep(1);
    yield m;
  }
}

export function transportConformance(t: TransportUnderTest): void {
  describe(`${t.name} transport conformance`, () => {
    const seen: CallContext[] = [];
    const recorder: ServerInterceptor = (ctx, next) => {
      seen.push(ctx);
      if (ctx.metadata.getString('x-deny') === 'yes') {
        return Promise.reject(new StatusError(Status.PERMISSION_DENIED, 'denied by interceptor'));
      }
      return next();
    };
    const host = new ServiceHost({ interceptors: [recorder] });
    host.add<EchoService>(echo, echoImplementation);
    let served: ServedTransport;
    let transport: ClientTransport;
    let client: Client<EchoService>;

    before(async () => {
      served = await t.serve(host);
      transport = t.client(served.target);
      client = createClient<EchoService>(echo, transport);
    });
    after(async () => {
      await transport.close();
      await served.close();
    });

    it('round-trips every kind of field in a unary call', async () => {
      const res = await client.unary({
        text: 'héllo ✓',
        payload: new Uint8Array([0, 1, 2, 255]),
        big: '9223372036854775807',
        at: { seconds: 1_700_000_000, nanos: 5 },
        labels: { a: '1', b: '2' },
        tags: ['x', 'y'],
        kind: 2,
      });
      assert.equal(res.text, 'héllo ✓');
      assert.deepEqual([...(res.payload as Uint8Array)], [0, 1, 2, 255]);
      assert.equal(String(res.big), '9223372036854775807');
      assert.equal(Number((res.at as { seconds: unknown }).seconds), 1_700_000_000);
      assert.equal((res.at as { nanos: number }).nanos, 5);
      assert.deepEqual({ ...(res.labels as object) }, { a: '1', b: '2' });
      assert.deepEqual([...(res.tags as string[])], ['x', 'y']);
      assert.equal(res.kind, 2);
    });

    it('carries a status code and message from the handler to the caller', async () => {
      const err = await rejectsWith(
        client.unary({ text: 'no such thing', failWith: Status.NOT_FOUND }),
        Status.NOT_FOUND,
      );
      assert.equal(err.message, 'no such thing');
    });

    it('reports a plain exception in a handler as UNKNOWN', async () => {
      const bare = new ServiceHost().add(echo, {
        unary: () => {
          throw new Error('boom');
        },
      });
      const s = await t.serve(bare);
      const c = t.client(s.target);
      try {
        const err = await rejectsWith(createClient<EchoService>(echo, c).unary({}), Status.UNKNOWN);
        assert.match(err.message, /boom/);
      } finally {
        await c.close();
        await s.close();
      }
    });

    it('answers UNIMPLEMENTED for a method without a handler', async () => {
      const bare = new ServiceHost().add(echo, {});
      const s = await t.serve(bare);
      const c = t.client(s.target);
      try {
        await rejectsWith(createClient<EchoService>(echo, c).unary({ text: 'x' }), Status.UNIMPLEMENTED);
      } finally {
        await c.close();
        await s.close();
      }
    });

    it('serves a method without an HTTP rule', async () => {
      const res = await client.default({ text: 'plain' });
      assert.equal(res.text, 'plain');
    });

    it('carries request metadata, response headers and trailers', async () => {
      let headers: Metadata | undefined;
      let trailers: Metadata | undefined;
      const res = await client.unary(
        { text: 'md' },
        {
          metadata: {
            'x-custom': 'value 1',
            'x-data-bin': new Uint8Array([1, 2, 3]),
            'x-echo-header': 'h',
            'x-echo-trailer': 'tr',
          },
          onHeaders: (h) => {
            headers = h;
          },
          onTrailers: (tr) => {
            trailers = tr;
          },
        },
      );
      const md = res.metadata as string[];
      assert.ok(md.includes('x-custom=value 1'), md.join(' '));
      assert.ok(md.includes('x-data-bin=010203'), md.join(' '));
      assert.equal(headers?.getString('x-echo-header'), 'h');
      assert.equal(trailers?.getString('x-echo-trailer'), 'tr');
    });

    it('carries trailers with an error', async () => {
      const err = await rejectsWith(
        client.unary(
          { text: 'bad', failWith: Status.FAILED_PRECONDITION },
          { metadata: { 'x-echo-trailer': 'why' } },
        ),
        Status.FAILED_PRECONDITION,
      );
      assert.equal(err.metadata.getString('x-echo-trailer'), 'why');
    });

    it('sends the deadline to the handler, and a default one when the caller sets none', async () => {
      const timed = await client.unary({ text: 'd' }, { timeoutMs: 2000 });
      assert.ok(
        Number(timed.deadlineMs) > 1000 && Number(timed.deadlineMs) <= 2000,
        `saw ${timed.deadlineMs}`,
      );
      const untimed = await client.unary({ text: 'd' });
      assert.ok(
        Number(untimed.deadlineMs) > 20_000 && Number(untimed.deadlineMs) <= 30_000,
        `saw ${untimed.deadlineMs}`,
      );
    });

    it('fails with DEADLINE_EXCEEDED on time and aborts the handler', async () => {
      const text = `${t.name}-deadline-${Date.now()}`;
      const started = Date.now();
      await rejectsWith(client.unary({ text, delayMs: 5000 }, { timeoutMs: 150 }), Status.DEADLINE_EXCEEDED);
      assert.ok(Date.now() - started < 1500, `took ${Date.now() - started} ms`);
      await waitFor(() => echoObservations.cancelled.includes(text), 2000);
    });

    it('cancels the handler when the caller aborts', async () => {
      const text = `${t.name}-cancel-${Date.now()}`;
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 100);
      await rejectsWith(
        client.unary({ text, delayMs: 5000 }, { signal: controller.signal }),
        Status.CANCELLED,
      );
      await waitFor(() => echoObservations.cancelled.includes(text), 2000);
    });

    it('streams responses, and reports an error after some of them', async () => {
      const got: number[] = [];
      for await (const m of client.serverStream({ text: 's', count: 5 })) got.push(m.index as number);
      assert.deepEqual(got, [0, 1, 2, 3, 4]);
      const partial: number[] = [];
      const failing = (async () => {
        for await (const m of client.serverStream({ text: 'broken', count: 3, failWith: Status.DATA_LOSS })) {
          partial.push(m.index as number);
        }
      })();
      await rejectsWith(failing, Status.DATA_LOSS);
      assert.deepEqual(partial, [0, 1]);
    });

    it('stops a response stream when the caller leaves the loop', async () => {
      let count = 0;
      for await (const _ of client.serverStream({ text: 'long', count: 1000, delayMs: 5 })) {
        if (++count === 3) break;
      }
      assert.equal(count, 3);
      const res = await client.unary({ text: 'still serving' });
      assert.equal(res.text, 'still serving');
    });

    it('streams requests into one response', async () => {
      const res = await client.clientStream(messages({ text: 'a' }, { text: 'b' }, { text: 'c' }));
      assert.equal(res.text, 'a,b,c');
      assert.equal(res.index, 3);
      await rejectsWith(
        client.clientStream(messages({ text: 'a' }, { text: 'no', failWith: Status.ABORTED })),
        Status.ABORTED,
      );
    });

    it('streams both ways', async () => {
      const got: string[] = [];
      for await (const m of client.bidi(messages({ text: 'one' }, { text: 'two' }, { text: 'three' }))) {
        got.push(`${m.index}:${m.text}`);
      }
      assert.deepEqual(got, ['0:one', '1:two', '2:three']);
    });

    if (t.fullDuplex) {
      it('answers a bidi message before the caller half-closes', async () => {
        let release: () => void = () => {};
        const gate = new Promise<void>((resolve) => {
          release = resolve;
        });
        async function* requests(): AsyncIterable<Message> {
          yield { text: 'ping' };
          await gate;
        }
        const iterator = client.bidi(requests())[Symbol.asyncIterator]();
        const first = await iterator.next();
        assert.equal((first.value as Message).text, 'ping');
        release();
        assert.equal((await iterator.next()).done, true);
      });
    }

    it('runs server interceptors with the transport named', async () => {
      await client.unary({ text: 'seen' }, { metadata: { 'x-mark': 'interceptor' } });
      const ctx = seen.find((c) => c.metadata.getString('x-mark') === 'interceptor');
      assert.ok(ctx, 'the interceptor saw the call');
      assert.equal(ctx.method.fullName, 'sb.test.Echo.Unary');
      assert.ok(ctx.peer.length > 0);
      await rejectsWith(
        client.unary({ text: 'x' }, { metadata: { 'x-deny': 'yes' } }),
        Status.PERMISSION_DENIED,
      );
    });

    it('runs client interceptors around the transport', async () => {
      const stamp: ClientInterceptor = (call, next) => {
        call.metadata.set('x-stamped', call.method.name);
        return next(call);
      };
      const stamped = createClient<EchoService>(echo, transport, { interceptors: [stamp] });
      const res = await stamped.unary({ text: 'i' });
      assert.ok((res.metadata as string[]).includes('x-stamped=Unary'));
    });

    it('propagates deadline and trace context from a handler to the calls it makes', async () => {
      const relay = new ServiceHost().add<EchoService>(echo, {
        // Calls the main server with no options: deadline and traceparent come from this call.
        unary: (req: EchoRequest) => client.unary({ text: `relayed ${req.text}` }),
      });
      const s = await t.serve(relay);
      const c = t.client(s.target);
      try {
        const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
        const res = await createClient<EchoService>(echo, c).unary(
          { text: 'hop' },
          { timeoutMs: 3000, metadata: { traceparent } },
        );
        assert.equal(res.text, 'relayed hop');
        assert.ok(Number(res.deadlineMs) <= 3000 && Number(res.deadlineMs) > 1500, `saw ${res.deadlineMs}`);
        assert.ok((res.metadata as string[]).includes(`traceparent=${traceparent}`));
      } finally {
        await c.close();
        await s.close();
      }
    });

    it('keeps many concurrent calls apart', async () => {
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) => client.unary({ text: `n${i}`, delayMs: i % 7 })),
      );
      results.forEach((res, i) => {
        assert.equal(res.text, `n${i}`);
      });
    });

    it('carries a 1 MiB message and refuses one over the 4 MiB limit', async () => {
      const payload = new Uint8Array(1024 * 1024).fill(7);
      const res = await client.unary({ text: 'big', payload });
      assert.equal((res.payload as Uint8Array).length, payload.length);
      await rejectsWith(
        client.unary({ text: 'huge', payload: new Uint8Array(5 * 1024 * 1024) }),
        Status.RESOURCE_EXHAUSTED,
      );
      const after = await client.unary({ text: 'after huge' });
      assert.equal(after.text, 'after huge');
    });

    it('fails fast with UNAVAILABLE, marked unprocessed, when nothing listens', async () => {
      const dead = t.client('127.0.0.1:1');
      try {
        const err = await rejectsWith(
          createClient<EchoService>(echo, dead).unary({ text: 'x' }, { timeoutMs: 3000 }),
          Status.UNAVAILABLE,
        );
        // A refused connection carried nothing: a cluster may retry any method elsewhere.
        assert.equal(err.unprocessed, true, `${err.message} should be unprocessed`);
      } finally {
        await dead.close();
      }
    });
  });
}
