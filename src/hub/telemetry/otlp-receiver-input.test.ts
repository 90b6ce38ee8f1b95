/**
 * Bad input to the hub's OTLP receiver: wrong content types, malformed JSON, wrong shapes,
 * oversized, truncated and slow bodies get clear refusals and the hub keeps serving.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import zlib from 'node:zlib';
import { rawRequest, rawSocket } from '../../../test/support/raw-http.ts';
import { sleep, waitFor } from '../../../test/support/wait.ts';
import { HubServer } from '../server.ts';

const TRACE = 'a'.repeat(32);

function request(spans: unknown[], service = 'svc'): unknown {
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeSpans: [{ scope: { name: 't' }, spans }],
      },
    ],
  };
}

function span(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    traceId: TRACE,
    spanId: '1'.repeat(16),
    name: 'op',
    kind: 2,
    startTimeUnixNano: '1700000000000000000',
    endTimeUnixNano: '1700000000005000000',
    attributes: [],
    status: {},
    ...overrides,
  };
}

describe('OTLP receiver: bad input', () => {
  let hub: HubServer;
  let base: string;
  before(async () => {
    hub = new HubServer({ port: 0, requestTimeoutMs: 600 });
    await hub.listen();
    base = hub.url;
  });
  after(() => hub.close());

  const post = (
    body: string | Buffer,
    headers: Record<string, string> = { 'content-type': 'application/json' },
  ) => rawRequest(base, 'POST', '/v1/traces', { body, headers });

  async function refused(
    body: string | Buffer,
    status: number,
    message: RegExp,
    headers?: Record<string, string>,
  ) {
    const answer = await post(body, headers);
    assert.equal(answer.status, status, answer.text);
    assert.match((answer.json as { error: string }).error, message);
  }

  it('accepts a valid request and answers an empty partialSuccess', async () => {
    const answer = await post(JSON.stringify(request([span()])));
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual(answer.json, { partialSuccess: {} });
    assert.equal(hub.telemetry.traces.spans(TRACE)?.[0]?.durationMs, 5);
  });

  it('refuses protobuf and other content types with 415 saying JSON is expected', async () => {
    await refused(Buffer.from([0x0a, 0x00]), 415, /OTLP\/HTTP JSON.*http\/json/, {
      'content-type': 'application/x-protobuf',
    });
    await refused('{}', 415, /application\/json/, { 'content-type': 'text/plain' });
    await refused('{}', 415, /content-encoding br/, {
      'content-type': 'application/json',
      'content-encoding': 'br',
    });
  });

  it('refuses malformed JSON and wrong shapes with 400 naming the place', async () => {
    await refused('{"resourceSpans": [', 400, /malformed JSON/);
    await refused('', 400, /got none/);
    await refused('[1]', 400, /request: expected a JSON object/);
    await refused('{"resourceSpans": {}}', 400, /resourceSpans: expected an array/);
    await refused(
      JSON.stringify({ resourceSpans: [{ scopeSpans: 3 }] }),
      400,
      /resourceSpans\[0\]\.scopeSpans/,
    );
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ traceId: 'qq' }, /spans\[0\]\.traceId: expected 32 hex digits/],
      [{ traceId: Buffer.alloc(16, 1).toString('base64') }, /not base64/],
      [{ traceId: '0'.repeat(32) }, /all-zero trace id/],
      [{ spanId: '12' }, /spanId: expected 16 hex digits/],
      [{ parentSpanId: 7 }, /parentSpanId/],
      [{ name: 5 }, /name: expected a string/],
      [{ kind: 9 }, /kind: 9 is not a known value/],
      [{ kind: 'SERVERISH' }, /kind/],
      [{ startTimeUnixNano: 'soon' }, /startTimeUnixNano: expected nanoseconds/],
      [{ endTimeUnixNano: '1600000000000000000' }, /end.*before/],
      [{ status: { code: 7 } }, /status\.code/],
      [{ attributes: {} }, /attributes: expected an array/],
      [{ attributes: [{ key: 1, value: {} }] }, /attributes\[0\]\.key/],
      [{ attributes: [{ key: 'a', value: { intValue: 'x' } }] }, /intValue: expected an integer/],
      [{ attributes: [{ key: 'a', value: { boolValue: 'yes' } }] }, /boolValue/],
    ];
    for (const [overrides, message] of bad) {
      await refused(JSON.stringify(request([span(overrides)])), 400, message);
    }
    assert.equal((await rawRequest(base, 'GET', '/healthz')).status, 200);
  });

  it('keeps attributes of every value type, a __proto__ key as plain data', async () => {
    const traceId = 'b'.repeat(32);
    const attributes = [
      { key: 's', value: { stringValue: 'x' } },
      { key: 'i', value: { intValue: '42' } },
      { key: 'n', value: { intValue: 7 } },
      { key: 'd', value: { doubleValue: 1.5 } },
      { key: 'b', value: { boolValue: true } },
      { key: 'a', value: { arrayValue: { values: [{ stringValue: 'p' }] } } },
      { key: '__proto__', value: { stringValue: 'polluted' } },
    ];
    const answer = await post(
      JSON.stringify(request([span({ traceId, attributes, kind: 'SPAN_KIND_CLIENT' })])),
    );
    assert.equal(answer.status, 200, answer.text);
    const [stored] = hub.telemetry.traces.spans(traceId) ?? [];
    assert.equal(stored?.kind, 'client');
    const { a, ...scalars } = stored?.attributes ?? {};
    assert.deepEqual(Object.entries(scalars), [
      ['s', 'x'],
      ['i', 42],
      ['n', 7],
      ['d', 1.5],
      ['b', true],
      ['__proto__', 'polluted'],
    ]);
    assert.match(String(a), /arrayValue/);
    assert.equal(Object.getPrototypeOf(stored?.attributes), Object.prototype);
  });

  it('accepts a gzipped body and refuses a malformed or too large one', async () => {
    const traceId = 'c'.repeat(32);
    const zipped = zlib.gzipSync(JSON.stringify(request([span({ traceId })])));
    const answer = await post(zipped, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    assert.equal(answer.status, 200, answer.text);
    assert.ok(hub.telemetry.traces.spans(traceId));
    await refused(Buffer.from('not gzip'), 400, /malformed gzip/, {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
    });
    // A small zip of a huge body: the limit applies to what it unzips to.
    const bomb = zlib.gzipSync(Buffer.alloc(5 * 1024 * 1024, 0x20));
    await refused(bomb, 413, /once unzipped/, {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
    });
  });

  it('refuses a body over 4 MiB with 413, declared or streamed', async () => {
    const big = JSON.stringify(request([span({ name: 'x'.repeat(4 * 1024 * 1024) })]));
    await refused(big, 413, /larger than 4194304 bytes/);
    // Chunked (no content-length): refused once the count passes the limit.
    const chunked = await new Promise<number>((resolve, reject) => {
      const url = new URL(base);
      import('node:http').then(({ default: http }) => {
        const req = http.request(
          {
            host: url.hostname,
            port: url.port,
            method: 'POST',
            path: '/v1/traces',
            agent: false,
            headers: { 'content-type': 'application/json' },
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        for (let i = 0; i < 5; i++) req.write(Buffer.alloc(1024 * 1024, 0x20));
        req.end();
      }, reject);
    });
    assert.equal(chunked, 413);
    assert.equal((await rawRequest(base, 'GET', '/healthz')).status, 200);
  });

  it('survives a truncated body and times out a stalled one, serving others meanwhile', async () => {
    const head = (length: number) =>
      `POST /v1/traces HTTP/1.1\r\nhost: hub\r\ncontent-type: application/json\r\ncontent-length: ${length}\r\n\r\n`;
    const truncated = await rawSocket(base, `${head(200)}{"resourceSpans": [{"scope`);
    truncated.socket.end();
    await waitFor(() => truncated.socket.destroyed || truncated.socket.readableEnded, 2000);
    const stalled = await rawSocket(base, `${head(1000)}{"resourceSpans": [`);
    try {
      for (let i = 0; i < 3; i++) assert.equal((await rawRequest(base, 'GET', '/healthz')).status, 200);
      await waitFor(() => stalled.received().startsWith('HTTP/1.1 408'), 4000);
    } finally {
      stalled.socket.destroy();
    }
  });

  it('answers a slow but steady body', async () => {
    const traceId = 'd'.repeat(32);
    const body = JSON.stringify(request([span({ traceId })]));
    const { socket, received } = await rawSocket(
      base,
      `POST /v1/traces HTTP/1.1\r\nhost: hub\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n`,
    );
    try {
      for (const piece of [body.slice(0, 30), body.slice(30, 90), body.slice(90)]) {
        await sleep(100);
        socket.write(piece);
      }
      await waitFor(() => received().startsWith('HTTP/1.1 200'));
      assert.ok(hub.telemetry.traces.spans(traceId));
    } finally {
      socket.destroy();
    }
  });

  it('answers 405 for a wrong method', async () => {
    const answer = await rawRequest(base, 'GET', '/v1/traces');
    assert.equal(answer.status, 405);
    assert.equal(answer.headers.allow, 'POST');
  });
});
