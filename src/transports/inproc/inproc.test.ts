import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { transportConformance } from '../../../test/conformance/transport-suite.ts';
import { echoContract } from '../../../test/fixtures/echo-service.ts';
import { codeOf } from '../../../test/support/status.ts';
import { Status, StatusError } from '../../contract/index.ts';
import {
  type CallContext,
  createClient,
  type Message,
  type ServerStreamingMethod,
  ServiceHost,
  type UnaryMethod,
} from '../../core/index.ts';
import { InprocTransport } from './client.ts';
import { InprocServer } from './server.ts';

transportConformance({
  name: 'inproc',
  fullDuplex: true,
  async serve(host) {
    const server = new InprocServer(host);
    await server.listen();
    return { target: server.target, close: () => server.close(0) };
  },
  client: (target) => new InprocTransport(target),
});

type Echo = {
  unary: UnaryMethod<Message, Message>;
  serverStream: ServerStreamingMethod<Message, Message>;
};
const echo = echoContract().service('sb.test.Echo');

function never(ctx: CallContext): Promise<Message> {
  return new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
}

describe('inproc transport specifics', () => {
  it('hands the handler a decoded copy, never the caller objects', async () => {
    const sent = { text: 'mine', tags: ['a'] };
    let seen: Message | undefined;
    const host = new ServiceHost().add<Echo>(echo, {
      unary: (req) => {
        seen = req;
        (req.tags as string[]).push('changed by the handler');
        return { text: 'reply', big: 7 };
      },
    });
    const res = await createClient<Echo>(echo, new InprocTransport(host)).unary(sent);
    assert.deepEqual(sent.tags, ['a']);
    assert.notEqual(seen, sent);
    assert.equal(String(res.big), '7', 'the response went through the codec: a number became a Long');
    assert.equal(typeof res.big, 'object');
  });

  it('carries trailers a handler set before failing', async () => {
    const host = new ServiceHost().add<Echo>(echo, {
      unary: (_req, ctx) => {
        ctx.responseTrailers.set('x-why', 'because');
        throw new StatusError(Status.ABORTED, 'no');
      },
    });
    await assert.rejects(createClient<Echo>(echo, new InprocTransport(host)).unary({}), (err: unknown) => {
      assert.ok(err instanceof StatusError);
      assert.equal(err.code, Status.ABORTED);
      assert.equal(err.metadata.getString('x-why'), 'because');
      return true;
    });
  });

  it('keeps a fast handler at most a few messages ahead of a slow reader', async () => {
    let produced = 0;
    const host = new ServiceHost().add<Echo>(echo, {
      async *serverStream() {
        for (let i = 0; i < 1000; i++) {
          produced++;
          yield { index: i };
        }
      },
    });
    const stream = createClient<Echo>(echo, new InprocTransport(host)).serverStream({});
    let read = 0;
    for await (const _ of stream) {
      await new Promise((r) => setTimeout(r, 1));
      if (++read === 5) break;
    }
    await new Promise((r) => setTimeout(r, 20));
    assert.ok(produced < 40, `produced ${produced} for 5 read`);
  });

  it('refuses calls once the server closed and cancels running ones after the grace period', async () => {
    const host = new ServiceHost().add<Echo>(echo, { unary: (_req, ctx) => never(ctx) });
    const server = new InprocServer(host, { name: 'closing-test' });
    await server.listen();
    const client = createClient<Echo>(echo, new InprocTransport('closing-test'));
    const running = codeOf(client.unary({}));
    await new Promise((r) => setTimeout(r, 10));
    const started = Date.now();
    await server.close(100);
    assert.ok(Date.now() - started >= 90, 'waited for the grace period');
    assert.equal(await running, Status.UNAVAILABLE);
    assert.equal(await codeOf(client.unary({})), Status.UNAVAILABLE);
  });

  it('cancels running calls when the client transport closes', async () => {
    let aborted = false;
    const host = new ServiceHost().add<Echo>(echo, {
      unary: (_req, ctx) => {
        ctx.signal.addEventListener('abort', () => {
          aborted = true;
        });
        return never(ctx);
      },
    });
    const transport = new InprocTransport(host);
    const running = codeOf(createClient<Echo>(echo, transport).unary({}));
    await new Promise((r) => setTimeout(r, 10));
    await transport.close();
    assert.equal(await running, Status.CANCELLED);
    assert.equal(aborted, true);
    assert.equal(await codeOf(createClient<Echo>(echo, transport).unary({})), Status.UNAVAILABLE);
  });
});
