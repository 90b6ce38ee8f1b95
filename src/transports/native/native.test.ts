import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { echoObservations } from '../../../test/fixtures/echo-service.ts';
import {
  connectClient,
  type EchoClient,
  type EchoServer,
  eventually,
  sleep,
  startServer,
} from '../../../test/support/native-peer.ts';
import { rejection } from '../../../test/support/status.ts';
import { StatusError } from '../../contract/errors.ts';
import { Metadata } from '../../contract/metadata.ts';
import { Status } from '../../contract/status.ts';
import type { CallContext } from '../../core/context.ts';
import { ServiceHost } from '../../core/host.ts';
import type { Message } from '../../core/types.ts';
import { NativeServer } from './server.ts';

type Stream = AsyncIterable<Message>;

async function collect(stream: Stream): Promise<Message[]> {
  const out: Message[] = [];
  for await (const message of stream) out.push(message);
  return out;
}

describe('native transport: calls', () => {
  let server: EchoServer;
  let echo: EchoClient;
  const aborted = new Map<string, unknown>();

  before(async () => {
    server = await startServer(
      {},
      {
        // Reports an error with trailers and details, as handlers do.
        async default(req: Message) {
          throw new StatusError(Status.FAILED_PRECONDITION, `no ${String(req.text)}`, {
            metadata: new Metadata({ 'x-why': 'because', 'x-blob-bin': Uint8Array.of(1, 2, 3) }),
            details: [{ typeUrl: 'type.googleapis.com/google.rpc.ErrorInfo', value: Uint8Array.of(8, 9) }],
          });
        },
        // Waits until cancelled, and records why.
        async *serverStream(req: Message, ctx: CallContext): AsyncIterable<Message> {
          if (req.text !== 'hang') {
            for (let i = 0; i < Number(req.count || 3); i++) yield { text: String(req.text), index: i };
            return;
          }
          yield { text: 'first' };
          await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
          aborted.set('serverStream', (ctx.signal.reason as StatusError).code);
        },
      },
    );
    echo = connectClient(server.target);
  });

  after(async () => {
    await echo.close();
    await server.close();
  });

  it('serves a unary call with request metadata, response headers and trailers', async () => {
    let headers: Metadata | undefined;
    let trailers: Metadata | undefined;
    const response = await echo.client.unary(
      { text: 'hello', payload: Buffer.from('xyz') },
      {
        metadata: { 'x-echo-header': 'h1', 'x-echo-trailer': 't1', 'x-raw-bin': Uint8Array.of(0xde, 0xad) },
        onHeaders: (h) => {
          headers = h;
        },
        onTrailers: (t) => {
          trailers = t;
        },
      },
    );
    assert.equal(response.text, 'hello');
    assert.deepEqual(Buffer.from(response.payload as Uint8Array), Buffer.from('xyz'));
    assert.ok((response.metadata as string[]).includes('x-raw-bin=dead'));
    assert.ok((response.metadata as string[]).includes('x-echo-header=h1'));
    assert.equal(headers?.get('x-echo-header'), 'h1');
    assert.equal(trailers?.get('x-echo-trailer'), 't1');
  });

  it('carries the deadline to the handler as remaining time', async () => {
    const response = await echo.client.unary({ text: 'd' }, { timeoutMs: 5000 });
    const seen = Number(response.deadlineMs);
    assert.ok(seen > 4000 && seen <= 5000, `handler saw ${seen} ms`);
    const none = await echo.client.unary({ text: 'd' }, { timeoutMs: Infinity });
    assert.equal(Number(none.deadlineMs), -1);
  });

  it('serves server streaming, client streaming and bidi calls', async () => {
    const many = await collect(echo.client.serverStream({ text: 's', count: 5 }));
    assert.deepEqual(
      many.map((m) => m.index ?? 0),
      [0, 1, 2, 3, 4],
    );
    const joined = await echo.client.clientStream([{ text: 'a' }, { text: 'b' }, { text: 'c' }]);
    assert.equal(joined.text, 'a,b,c');
    async function* requests() {
      for (const text of ['x', 'y', 'z']) {
        await sleep(5);
        yield { text };
      }
    }
    const replies = await collect(echo.client.bidi(requests()));
    assert.deepEqual(
      replies.map((m) => m.text),
      ['x', 'y', 'z'],
    );
    const empty = await echo.client.clientStream([]);
    assert.equal(empty.text, '');
  });

  it('delivers stream headers before the first message and trailers at the end', async () => {
    const seen: string[] = [];
    const stream = echo.client.bidi([{ text: 'one' }], {
      metadata: { 'x-echo-header': 'H', 'x-echo-trailer': 'T' },
      onHeaders: (h) => seen.push(`headers:${h.get('x-echo-header')}`),
      onTrailers: (t) => seen.push(`trailers:${t.get('x-echo-trailer')}`),
    });
    for await (const message of stream) seen.push(`message:${String(message.text)}`);
    assert.deepEqual(seen, ['headers:H', 'message:one', 'trailers:T']);
  });

  it('carries the status model intact: code, message, trailers and details', async () => {
    let trailers: Metadata | undefined;
    const err = await rejection(echo.client.default({ text: 'way' }, { onTrailers: (t) => (trailers = t) }));
    assert.equal(err.code, Status.FAILED_PRECONDITION);
    assert.equal(err.message, 'no way');
    assert.equal(err.metadata.get('x-why'), 'because');
    assert.deepEqual([...(err.metadata.get('x-blob-bin') as Uint8Array)], [1, 2, 3]);
    assert.deepEqual(err.details, [
      { typeUrl: 'type.googleapis.com/google.rpc.ErrorInfo', value: Uint8Array.of(8, 9) },
    ]);
    assert.equal(trailers?.get('x-why'), 'because');
  });

  it('fails a stream with the handler status after the messages sent before it', async () => {
    const fixture = await startServer();
    const client = connectClient(fixture.target);
    try {
      const got: number[] = [];
      const err = await rejection(
        (async () => {
          for await (const m of client.client.serverStream({
            text: 'oops',
            count: 3,
            failWith: 5,
          })) {
            got.push(Number(m.index ?? 0));
          }
        })(),
      );
      assert.deepEqual(got, [0, 1]);
      assert.equal(err.code, Status.NOT_FOUND);
      assert.equal(err.message, 'oops');
    } finally {
      await client.close();
      await fixture.close();
    }
  });

  it('enforces the deadline on the client and cancels the handler', async () => {
    const started = Date.now();
    const err = await rejection(
      echo.client.unary({ text: 'slow-deadline', delayMs: 3000 }, { timeoutMs: 150 }),
    );
    const took = Date.now() - started;
    assert.equal(err.code, Status.DEADLINE_EXCEEDED);
    assert.ok(took >= 140 && took < 3000, `took ${took} ms`);
    assert.ok(
      await eventually(() => echoObservations.cancelled.includes('slow-deadline')),
      'handler aborted',
    );
  });

  it('fails at once, without sending, when the deadline has already passed', async () => {
    const err = await rejection(echo.client.unary({ text: 'late' }, { deadline: Date.now() - 1 }));
    assert.equal(err.code, Status.DEADLINE_EXCEEDED);
  });

  it('honours the caller signal: CANCELLED locally, and the handler signal aborts', async () => {
    const controller = new AbortController();
    const call = echo.client.unary({ text: 'to-cancel', delayMs: 5000 }, { signal: controller.signal });
    await sleep(50);
    controller.abort();
    const err = await rejection(call);
    assert.equal(err.code, Status.CANCELLED);
    assert.ok(await eventually(() => echoObservations.cancelled.includes('to-cancel')), 'handler aborted');
  });

  it('cancels the server stream when the caller stops reading', async () => {
    for await (const message of echo.client.serverStream({ text: 'hang' })) {
      assert.equal(message.text, 'first');
      break;
    }
    assert.ok(await eventually(() => aborted.has('serverStream')), 'handler aborted');
    assert.equal(aborted.get('serverStream'), Status.CANCELLED);
  });

  it('answers UNIMPLEMENTED for a method the server does not serve', async () => {
    const empty = new NativeServer(new ServiceHost(), {});
    const address = await empty.listen();
    const nobody = connectClient(`127.0.0.1:${address.port}`);
    try {
      const err = await rejection(nobody.client.unary({ text: 'x' }));
      assert.equal(err.code, Status.UNIMPLEMENTED);
      assert.match(err.message, /sb\.test\.Echo\/Unary/);
      const again = await rejection(nobody.client.unary({ text: 'y' }));
      assert.equal(again.code, Status.UNIMPLEMENTED, 'the method id cache keeps the answer');
    } finally {
      await nobody.close();
      await empty.close(0);
    }
  });

  it('multiplexes many concurrent calls on one connection', async () => {
    const texts = Array.from({ length: 300 }, (_, i) => `m${i}`);
    const responses = await Promise.all(texts.map((text) => echo.client.unary({ text })));
    assert.deepEqual(
      responses.map((r) => r.text),
      texts,
    );
    assert.equal(server.server.connectionCount, 1);
  });
});

describe('native transport: limits and flow control', () => {
  it('refuses a request over the server message limit with RESOURCE_EXHAUSTED, and keeps serving', async () => {
    const server = await startServer({ maxMessageBytes: 1024 });
    const echo = connectClient(server.target);
    try {
      const err = await rejection(echo.client.unary({ text: 'big', payload: Buffer.alloc(4096) }));
      assert.equal(err.code, Status.RESOURCE_EXHAUSTED);
      const ok = await echo.client.unary({ text: 'small' });
      assert.equal(ok.text, 'small');
    } finally {
      await echo.close();
      await server.close();
    }
  });

  it('fails a response over the client message limit with RESOURCE_EXHAUSTED', async () => {
    const server = await startServer();
    const echo = connectClient(server.target, { maxMessageBytes: 1024 });
    try {
      const err = await rejection(echo.client.unary({ text: 'big', payload: Buffer.alloc(4096) }));
      assert.equal(err.code, Status.RESOURCE_EXHAUSTED);
      assert.match(err.message, /client's limit/);
    } finally {
      await echo.close();
      await server.close();
    }
  });

  it('fails a call whose response metadata is over the client limit with RESOURCE_EXHAUSTED', async () => {
    const server = await startServer();
    const echo = connectClient(server.target, { maxMetadataBytes: 200 });
    try {
      const big = 'v'.repeat(500);
      const unary = await rejection(
        echo.client.unary({ text: 'u' }, { metadata: { 'x-echo-trailer': big } }),
      );
      assert.equal(unary.code, Status.RESOURCE_EXHAUSTED);
      const stream = await rejection(
        collect(echo.client.bidi([{ text: 'b' }], { metadata: { 'x-echo-header': big } })),
      );
      assert.equal(stream.code, Status.RESOURCE_EXHAUSTED);
      assert.equal((await echo.client.unary({ text: 'fine' })).text, 'fine');
    } finally {
      await echo.close();
      await server.close();
    }
  });

  it('moves many stream messages through small windows, in order', async () => {
    const server = await startServer({ windowBytes: 512 });
    const echo = connectClient(server.target, { windowBytes: 512 });
    try {
      const count = 500;
      const down = await collect(echo.client.serverStream({ text: 'w', count }));
      assert.equal(down.length, count);
      assert.ok(down.every((m, i) => Number(m.index ?? 0) === i));
      async function* up() {
        for (let i = 0; i < count; i++) yield { text: String(i), payload: Buffer.alloc(100) };
      }
      const joined = await echo.client.clientStream(up());
      assert.equal((joined.text as string).split(',').length, count);
      assert.equal(joined.index, count);
    } finally {
      await echo.close();
      await server.close();
    }
  });

  it('makes the server wait (send() backpressure) while the client does not read', async () => {
    let produced = 0;
    const total = 2000;
    const server = await startServer(
      {},
      {
        async *serverStream(): AsyncIterable<Message> {
          for (let i = 0; i < total; i++) {
            produced++;
            yield { index: i, payload: Buffer.alloc(1024) };
          }
        },
      },
    );
    const echo = connectClient(server.target, { windowBytes: 16 * 1024 });
    try {
      const iterator = echo.client.serverStream({})[Symbol.asyncIterator]();
      const first = await iterator.next();
      assert.equal(first.done, false);
      await sleep(300);
      // A 16 KiB window holds about 15 messages of 1 KiB; without flow control all 2000 would be out.
      assert.ok(produced < 60, `the server produced ${produced} messages for a stalled reader`);
      let received = 1;
      let last = 0;
      for (;;) {
        const next = await iterator.next();
        if (next.done) break;
        received++;
        last = Number(next.value.index);
      }
      assert.equal(received, total);
      assert.equal(last, total - 1);
    } finally {
      await echo.close();
      await server.close();
    }
  });

  it('queues calls beyond the server stream limit instead of failing them', async () => {
    const server = await startServer({ maxConcurrentStreams: 4 });
    const echo = connectClient(server.target);
    try {
      const calls = Array.from({ length: 20 }, (_, i) => echo.client.unary({ text: `q${i}`, delayMs: 20 }));
      const responses = await Promise.all(calls);
      assert.equal(responses.length, 20);
    } finally {
      await echo.close();
      await server.close();
    }
  });
});
