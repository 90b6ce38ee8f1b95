import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { type EchoService, echoContract, echoImplementation } from '../../test/fixtures/echo-service.ts';
import { codeOf, rejectsWith } from '../../test/support/status.ts';
import { waitFor } from '../../test/support/wait.ts';
import { Status } from '../contract/index.ts';
import { createClient } from '../core/index.ts';
import { InprocTransport } from '../transports/inproc/client.ts';
import { connect } from './connect.ts';
import { DEFAULT_MAX_CONCURRENT_CALLS } from './limits.ts';
import { Server } from './server.ts';

const echo = echoContract().service('sb.test.Echo');

describe('server limits', () => {
  let running = 0;
  /** Both slow calls hold their places: the next one must be refused. */
  const full = () => waitFor(() => running === 2);
  const servers: Server[] = [];
  let limited: Server;
  let rated: Server;

  before(async () => {
    limited = new Server({
      grpc: { port: 0 },
      http: { port: 0 },
      native: { port: 0 },
      limits: { maxConcurrentCalls: 2 },
      // Runs after the limit: counts the calls that hold a place.
      interceptors: [
        (ctx, next) => {
          if (ctx.method.name !== 'Unary') return next();
          running++;
          return next().finally(() => {
            running--;
          });
        },
      ],
    });
    limited.add<EchoService>(echo, echoImplementation);
    rated = new Server({ native: { port: 0 }, limits: { ratePerSecond: 5, burst: 5 } });
    rated.add<EchoService>(echo, echoImplementation);
    servers.push(limited, rated);
    await Promise.all(servers.map((s) => s.listen()));
  });
  after(() => Promise.all(servers.map((s) => s.close(100))));

  for (const transport of ['grpc', 'http', 'native'] as const) {
    it(`refuses calls over the concurrency limit over ${transport}, unprocessed, and serves again once calls end`, async () => {
      const address = limited.addresses[transport]!;
      const client = connect<EchoService>(echo, { target: `${transport}://127.0.0.1:${address.port}` });
      try {
        const slow = [client.unary({ text: 'a', delayMs: 300 }), client.unary({ text: 'b', delayMs: 300 })];
        await full();
        const err = await rejectsWith(
          client.unary({ text: 'c' }),
          Status.RESOURCE_EXHAUSTED,
          /2 concurrent calls/,
        );
        assert.equal(err.unprocessed, true);
        await Promise.all(slow);
        assert.equal((await client.unary({ text: 'd' })).text, 'd');
      } finally {
        await client.close();
      }
    });
  }

  it('answers HTTP 429 to a plain HTTP client over the limit', async () => {
    const client = connect<EchoService>(echo, {
      target: `native://127.0.0.1:${limited.addresses.native!.port}`,
    });
    try {
      const slow = [client.unary({ text: 'a', delayMs: 300 }), client.unary({ text: 'b', delayMs: 300 })];
      await full();
      const res = await request(`http://127.0.0.1:${limited.addresses.http!.port}/v1/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"text":"x"}',
      });
      assert.equal(res.statusCode, 429);
      assert.match(await res.body.text(), /RESOURCE_EXHAUSTED/);
      await Promise.all(slow);
    } finally {
      await client.close();
    }
  });

  it('keeps answering health checks at the limit', async () => {
    const client = connect<EchoService>(echo, { target: `grpc://127.0.0.1:${limited.addresses.grpc!.port}` });
    try {
      const slow = [client.unary({ text: 'a', delayMs: 300 }), client.unary({ text: 'b', delayMs: 300 })];
      await full();
      const res = await request(
        `http://127.0.0.1:${limited.addresses.http!.port}/grpc.health.v1.Health/Check`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{}',
        },
      );
      assert.equal(res.statusCode, 200, await res.body.text());
      await Promise.all(slow);
    } finally {
      await client.close();
    }
  });

  it('refuses calls over the rate', async () => {
    const client = connect<EchoService>(echo, {
      target: `native://127.0.0.1:${rated.addresses.native!.port}`,
    });
    try {
      const codes = await Promise.all(Array.from({ length: 10 }, () => codeOf(client.unary({ text: 'r' }))));
      assert.equal(codes.filter((c) => c === Status.OK).length, 5);
      assert.equal(codes.filter((c) => c === Status.RESOURCE_EXHAUSTED).length, 5);
    } finally {
      await client.close();
    }
  });
});

describe('server limits by default', () => {
  it(`runs at most ${DEFAULT_MAX_CONCURRENT_CALLS} calls at once unless told otherwise, and none with limits: false`, async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const held = {
      unary: async (req: { text: string }) => {
        await gate;
        return { text: req.text };
      },
    };
    for (const limits of [undefined, false] as const) {
      const server = new Server({ limits }).add(echo, held as never);
      const client = createClient<EchoService>(echo, new InprocTransport(server.host));
      const calls = Array.from({ length: DEFAULT_MAX_CONCURRENT_CALLS }, () => client.unary({ text: 'x' }));
      const extra = client.unary({ text: 'one more' });
      if (limits === undefined) {
        const err = await rejectsWith(extra, Status.RESOURCE_EXHAUSTED, /10000 concurrent calls/);
        assert.equal(err.unprocessed, true);
      }
      release();
      await Promise.all(calls);
      if (limits === false) assert.equal((await extra).text, 'one more');
    }
  });
});
