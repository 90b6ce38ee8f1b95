/**
 * Log lines written inside handlers carry the call's trace and span ids, whichever transport
 * carried the call: a real Server on gRPC, HTTP and native, callers sending a traceparent.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { connect } from '../../src/app/connect.ts';
import { Server } from '../../src/app/server.ts';
import { createLogger } from '../../src/observe/log.ts';
import { type EchoService, echoContract, echoImplementation } from '../fixtures/echo-service.ts';

const echo = echoContract().service('sb.test.Echo');
const TRANSPORTS = ['grpc', 'http', 'native'] as const;

describe('logs inside calls', { timeout: 30_000 }, () => {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  const log = createLogger({ service: 'echo', destination });
  // propagateContext: the scope currentCall() reads; a process that makes calls has it anyway.
  const server = new Server({
    grpc: { port: 0 },
    http: { port: 0 },
    native: { port: 0 },
    propagateContext: true,
  });
  server.add<EchoService>(echo, {
    ...echoImplementation,
    async unary(req, ctx) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      log.info({ text: req.text }, 'answering');
      return echoImplementation.unary!(req, ctx);
    },
  });

  before(async () => {
    await server.listen();
  });
  after(async () => {
    await server.close(100);
  });

  for (const [i, transport] of TRANSPORTS.entries()) {
    it(`${transport}: trace_id and span_id of the caller's traceparent`, async () => {
      const traceId = `${i + 1}`.repeat(32);
      const spanId = `a${i}`.repeat(8);
      const client = connect<EchoService>(echo, {
        target: `${transport}://127.0.0.1:${server.addresses[transport]!.port}`,
      });
      try {
        await client.unary({ text: transport }, { metadata: { traceparent: `00-${traceId}-${spanId}-01` } });
        await client.unary({ text: `${transport}-untraced` });
      } finally {
        await client.close();
      }
      const traced = lines.find((l) => l.text === transport);
      assert.equal(traced?.service, 'echo');
      assert.equal(traced?.trace_id, traceId);
      assert.equal(traced?.span_id, spanId);
      assert.equal(traced?.msg, 'answering');
      const untraced = lines.find((l) => l.text === `${transport}-untraced`);
      assert.ok(untraced, 'the untraced call logged too');
      assert.equal(untraced.trace_id, undefined);
      log.info({ text: `${transport}-outside` }, 'between calls');
      assert.equal(lines.find((l) => l.text === `${transport}-outside`)?.trace_id, undefined);
    });
  }
});
