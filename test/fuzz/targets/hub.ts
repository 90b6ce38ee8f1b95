/**
 * Registry payloads and the hub's inputs: instance validation, Consul registrations, the OTLP
 * JSON receiver, a live hub's HTTP APIs and broker port, and the HubRegistry client reading a
 * hub that sends anything.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import fc from 'fast-check';
import { StatusError } from '../../../src/contract/errors.ts';
import { isStatus } from '../../../src/contract/status.ts';
import { createClient } from '../../../src/core/client.ts';
import { HubRegistry } from '../../../src/discovery/hub/registry.ts';
import { validateInstance } from '../../../src/discovery/instance.ts';
import { RegistryError } from '../../../src/discovery/registry.ts';
import { parseRegistration } from '../../../src/hub/api/consul-registration.ts';
import { HubHttpError } from '../../../src/hub/http-kit.ts';
import { HubServer } from '../../../src/hub/server.ts';
import { parseOtlpTraces } from '../../../src/hub/telemetry/otlp-json.ts';
import { BROKER_SERVICE_NAME, brokerContract } from '../../../src/services/broker/index.ts';
import { NativeClientTransport } from '../../../src/transports/native/client.ts';
import { FrameType } from '../../../src/transports/native/frame.ts';
import { readStatus } from '../../../src/transports/native/frame-payloads.ts';
import { RawPeer } from '../../support/native-peer.ts';
import {
  type FuzzTarget,
  mutated,
  mutatedJson,
  oneOf,
  outcome,
  pureTarget,
  timedAsync,
} from '../fuzz-kit.ts';

const instanceArb = fc.record({
  service: fc.constantFrom('greet.Greeter', 'orders', 'a/b.c'),
  id: fc.stringMatching(/^[a-z0-9_.:-]{1,12}$/),
  endpoints: fc.array(
    fc.record({
      transport: fc.constantFrom('grpc', 'http', 'native'),
      host: fc.constantFrom('127.0.0.1', 'h.local', '::1'),
      port: fc.integer({ min: 1, max: 65535 }),
    }),
    { minLength: 1, maxLength: 3 },
  ),
  metadata: fc.dictionary(fc.stringMatching(/^[a-z]{1,6}$/), fc.string({ maxLength: 8 }), { maxKeys: 2 }),
  version: fc.constantFrom('1.0.0', 'v2'),
  zone: fc.constantFrom('a', 'b'),
});

function jsonOf(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
}

const instances = pureTarget('registry-instance', 400, () =>
  fc.property(mutatedJson(instanceArb), (bytes) => {
    const parsed = outcome(() => validateInstance(jsonOf(bytes)), oneOf(TypeError, RangeError));
    if (parsed.ok) assert.equal(validateInstance(parsed.value).id, parsed.value.id);
  }),
);

const consulRegistration = pureTarget('consul-registration', 400, () =>
  fc.property(
    mutatedJson(
      fc.record({
        Name: fc.constantFrom('orders', 'web'),
        ID: fc.string({ maxLength: 8 }),
        Port: fc.integer({ min: 1, max: 65535 }),
        Address: fc.constantFrom('10.0.0.1', 'host'),
        Tags: fc.array(fc.string({ maxLength: 5 }), { maxLength: 2 }),
        Meta: fc.dictionary(fc.stringMatching(/^[a-z]{1,5}$/), fc.string({ maxLength: 5 }), { maxKeys: 2 }),
        Check: fc.record({
          TTL: fc.constantFrom('10s', '1m', '5s'),
          DeregisterCriticalServiceAfter: fc.constantFrom('1m', '90s'),
        }),
      }),
    ),
    (bytes) => {
      const parsed = outcome(() => parseRegistration(jsonOf(bytes), '127.0.0.1'), oneOf(HubHttpError));
      if (!parsed.ok) assert.equal((parsed.error as HubHttpError).status, 400);
    },
  ),
);

const hex = (digits: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${digits}}$`));
const attributeArb = fc.record({
  key: fc.string({ maxLength: 8 }),
  value: fc.oneof(
    fc.record({ stringValue: fc.string({ maxLength: 10 }) }),
    fc.record({ intValue: fc.oneof(fc.integer(), fc.constant('12345678901234567890')) }),
    fc.record({ doubleValue: fc.double() }),
    fc.record({ boolValue: fc.boolean() }),
    fc.record({
      arrayValue: fc.record({
        values: fc.array(fc.record({ stringValue: fc.string({ maxLength: 3 }) }), { maxLength: 2 }),
      }),
    }),
  ),
});
const otlpArb = fc.record({
  resourceSpans: fc.array(
    fc.record({
      resource: fc.record({ attributes: fc.array(attributeArb, { maxLength: 2 }) }),
      scopeSpans: fc.array(
        fc.record({
          spans: fc.array(
            fc.record({
              traceId: hex(32),
              spanId: hex(16),
              parentSpanId: fc.oneof(hex(16), fc.constant('')),
              name: fc.string({ maxLength: 10 }),
              kind: fc.nat({ max: 5 }),
              startTimeUnixNano: fc.bigInt({ min: 0n, max: 2n ** 63n }).map(String),
              endTimeUnixNano: fc.constant('9223372036854775807'),
              attributes: fc.array(attributeArb, { maxLength: 3 }),
              status: fc.record({ code: fc.nat({ max: 2 }), message: fc.string({ maxLength: 5 }) }),
            }),
            { maxLength: 2 },
          ),
        }),
        { maxLength: 2 },
      ),
    }),
    { maxLength: 2 },
  ),
});

const otlp = pureTarget('otlp-json', 400, () =>
  fc.property(mutatedJson(otlpArb), (bytes) => {
    const parsed = outcome(
      () => parseOtlpTraces(jsonOf(bytes), { maxAttributes: 4, maxValueLength: 16 }),
      oneOf(TypeError),
    );
    if (!parsed.ok) return;
    for (const span of parsed.value) {
      assert.ok(Object.keys(span.attributes).length <= 4);
      assert.ok(span.name.length <= 17);
      assert.ok(Number.isFinite(span.startMs) && span.durationMs >= 0);
    }
  }),
);

/**
 * A live hub: random requests to its registry, Consul, Eureka and OTLP APIs, made from valid
 * ones and mutated. No answer is a 500 (an input the hub did not expect), and the hub keeps
 * serving.
 */
const hubApis: FuzzTarget = {
  name: 'hub-http-apis',
  ciRuns: 40,
  async open() {
    const hub = new HubServer({ port: 0, broker: false });
    await hub.listen();
    const requestArb = fc.oneof(
      fc.tuple(
        fc.constant('PUT'),
        fc.constant('/api/v1/instances'),
        mutatedJson(fc.record({ instance: instanceArb, ttlMs: fc.nat() })),
      ),
      fc.tuple(
        fc.constantFrom('GET', 'PUT', 'DELETE', 'POST'),
        fc.oneof(
          fc.constantFrom(
            '/api/v1/services',
            '/api/v1/services/orders?index=1&wait=1ms',
            '/api/v1/services?index=x',
            '/api/v1/instances/orders/a/heartbeat',
            '/api/v1/instances/%zz/a',
            '/api/v1/services?wait=1ms&index=99999999999',
            '/v1/catalog/services',
            '/v1/health/service/orders?index=1&wait=1ms',
            '/v1/agent/service/deregister/a',
            '/eureka/apps',
            '/eureka/apps/ORDERS/i-1',
            '/eureka/apps/ORDERS/i-1/status?value=UP',
            '/v1/traces',
            '/api/v1/dashboard/traces?limit=x',
          ),
          fc
            .array(
              fc.constantFrom(
                'api',
                'v1',
                'services',
                'instances',
                'eureka',
                'apps',
                'catalog',
                '%',
                '..',
                '',
                'x',
                '%2F',
              ),
              { maxLength: 5 },
            )
            .map((s) => `/${s.join('/')}`),
        ),
        fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
      ),
      fc.tuple(
        fc.constant('PUT'),
        fc.constant('/v1/agent/service/register'),
        mutatedJson(
          fc.record({
            Name: fc.constant('orders'),
            Port: fc.integer({ min: 1, max: 65535 }),
            Check: fc.record({ TTL: fc.constant('10s') }),
          }),
        ),
      ),
      fc.tuple(
        fc.constant('POST'),
        fc.constant('/eureka/apps/ORDERS'),
        mutatedJson(
          fc.record({
            instance: fc.record({
              instanceId: fc.constant('i-1'),
              app: fc.constant('ORDERS'),
              hostName: fc.constant('h'),
              ipAddr: fc.constant('10.0.0.1'),
              status: fc.constantFrom('UP', 'DOWN'),
              port: fc.record({ $: fc.integer({ min: 1, max: 65535 }), '@enabled': fc.constant('true') }),
              vipAddress: fc.constant('orders'),
              dataCenterInfo: fc.constant({ '@class': 'x', name: 'MyOwn' }),
            }),
          }),
        ),
      ),
      fc.tuple(fc.constant('POST'), fc.constant('/v1/traces'), mutatedJson(otlpArb)),
    );
    const property = fc.asyncProperty(requestArb, async ([method, path, body]) => {
      const status = await timedAsync(
        () =>
          new Promise<number>((resolve, reject) => {
            const req = http.request(
              `${hub.url}${path}`,
              {
                method,
                agent: false,
                headers: { 'content-type': 'application/json', accept: 'application/json' },
              },
              (res) => {
                res.resume();
                res.on('end', () => resolve(res.statusCode ?? 0));
              },
            );
            req.on('error', reject);
            req.end(method === 'GET' ? undefined : body);
          }),
        3000,
      );
      assert.ok(status >= 200 && status < 600 && status !== 500, `${method} ${path} answered ${status}`);
      const alive = await fetch(`${hub.url}/api/v1/services`);
      assert.equal(alive.status, 200);
      await alive.arrayBuffer();
    });
    return {
      check: async (params) => (await fc.check(property, params)) as fc.RunDetails<unknown>,
      close: () => hub.close(),
    };
  },
};

/**
 * The hub's broker port (BrokerService on the native transport): Publish requests with
 * mutated message bytes get a STATUS with a valid code, and a normal publish works after.
 */
const brokerPort: FuzzTarget = {
  name: 'hub-broker-requests',
  ciRuns: 25,
  async open() {
    const hub = new HubServer({ port: 0 });
    await hub.listen();
    const target = hub.brokerTarget!;
    const port = Number(target.slice(target.lastIndexOf(':') + 1));
    const service = brokerContract().service(BROKER_SERVICE_NAME);
    const publish = service.method('Publish')!;
    const transport = new NativeClientTransport({ target });
    const client = createClient(service, transport) as unknown as {
      publish(req: unknown): Promise<{ receipts: { error?: string }[] }>;
    };
    const requestArb = fc.record({
      topic: fc.constantFrom('orders', '', 'a'.repeat(300), 'x/y', '.dlq'),
      messages: fc.array(
        fc.record({
          id: fc.string({ maxLength: 10 }),
          key: fc.option(fc.string({ maxLength: 5 }), { nil: undefined }),
          headers: fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 2 }),
          payload: fc.uint8Array({ maxLength: 16 }),
        }),
        { maxLength: 3 },
      ),
    });
    const consume = service.method('Consume')!;
    const extreme = fc.constantFrom(0, 1, 1000, 0x7fffffff, 0x80000000, 0xffffffff);
    const subscribeArb = fc.record({
      subscribe: fc.record({
        topic: fc.constantFrom('fz', '', 'fz.dlq'),
        group: fc.constantFrom('g', '', 'h'),
        maxInFlight: extreme,
        startAt: fc.constantFrom('', 'earliest', 'latest', 'x', '-1'),
        maxAttempts: extreme,
        deadLetterTopic: fc.option(fc.constantFrom('fz', 'd', ''), { nil: undefined }),
        noDeadLetter: fc.boolean(),
        ackTimeoutMs: extreme,
      }),
    });
    const settleArb = fc.record({
      settles: fc.array(
        fc.record({
          handle: fc.constantFrom(0, 1, 2, 0xffffffff),
          outcome: fc.nat({ max: 5 }),
          delayMs: extreme,
          reason: fc.string({ maxLength: 8 }),
        }),
        { maxLength: 3 },
      ),
    });
    const status = (frame: { type: number; payload: Buffer; flags: number }, allowed: readonly number[]) => {
      if (frame.type !== FrameType.STATUS) return;
      const s = readStatus(frame.payload, frame.flags);
      assert.ok(isStatus(s.code) && allowed.includes(s.code), `${s.code}: ${s.message}`);
    };
    const publishOnce = async (bytes: Uint8Array) => {
      const peer = await RawPeer.connect(port);
      try {
        await peer.handshake();
        peer.send((w) =>
          w.request(1, 0, Buffer.from(`/${BROKER_SERVICE_NAME}/Publish`), 2000, undefined, bytes),
        );
        status(
          await peer.next((f) => f.type === FrameType.STATUS || f.type === FrameType.GOAWAY, 3000),
          [0, 3],
        );
      } finally {
        peer.destroy();
      }
    };
    const consumeOnce = async (subscribe: Uint8Array, settle: Uint8Array) => {
      const peer = await RawPeer.connect(port);
      try {
        await peer.handshake({ initialWindowBytes: 1 << 20 });
        peer.send((w) => {
          w.request(1, 0, Buffer.from(`/${BROKER_SERVICE_NAME}/Consume`), 2000, undefined, undefined);
          w.message(1, subscribe);
        });
        await client.publish({
          topic: 'fz',
          messages: [{ payload: new Uint8Array([1]) }, { payload: new Uint8Array([2]) }],
        });
        await new Promise((resolve) => setTimeout(resolve, 10));
        peer.send((w) => {
          w.message(1, settle);
          w.end(1);
        });
        const frame = await peer
          .next((f) => f.type === FrameType.STATUS || f.type === FrameType.GOAWAY, 3000)
          .catch(() => undefined);
        // Bad subscribe options are INVALID_ARGUMENT; the stream may also end cleanly.
        if (frame) status(frame, [0, 3, 5, 9, 14]);
      } finally {
        peer.destroy();
      }
    };
    const property = fc.asyncProperty(
      fc.oneof(
        fc.tuple(
          fc.constant('publish' as const),
          mutated(requestArb.map((r) => publish.input.encode(r))),
          fc.constant(new Uint8Array(0)),
        ),
        fc.tuple(
          fc.constant('consume' as const),
          mutated(subscribeArb.map((r) => consume.input.encode(r))),
          mutated(settleArb.map((r) => consume.input.encode(r))),
        ),
      ),
      async ([kind, first, second]) => {
        await timedAsync(() => (kind === 'publish' ? publishOnce(first) : consumeOnce(first, second)), 5000);
        const answer = await timedAsync(() =>
          client.publish({ topic: 'ok', messages: [{ payload: new Uint8Array([1]) }] }),
        );
        assert.equal(answer.receipts.length, 1);
        assert.equal(answer.receipts[0]!.error ?? '', '');
      },
    );
    return {
      check: async (params) => (await fc.check(property, params)) as fc.RunDetails<unknown>,
      async close() {
        await transport.close();
        await hub.close();
      },
    };
  },
};

/**
 * HubRegistry against a "hub" that answers anything: list() and watch() hand out only valid
 * instances, and every problem is a RegistryError (never an exception elsewhere).
 */
const hubClient: FuzzTarget = {
  name: 'hub-registry-client',
  ciRuns: 25,
  async open() {
    let answer: { list: Buffer; events: Buffer } = { list: Buffer.alloc(0), events: Buffer.alloc(0) };
    const fake = http.createServer((req, res) => {
      if (req.url?.startsWith('/api/v1/watch/')) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end(answer.events);
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(answer.list);
      }
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    const { port } = fake.address() as { port: number };
    const url = `http://127.0.0.1:${port}`;
    const body = fc.record({ instances: fc.array(instanceArb, { maxLength: 2 }), index: fc.nat() });
    const eventsArb = fc
      .array(mutatedJson(body), { minLength: 1, maxLength: 3 })
      .chain((events) =>
        mutated(
          fc.constant(
            Buffer.from(
              events
                .map((e) => `event: instances\ndata: ${e.toString('utf8').replace(/\n/g, '')}\n\n`)
                .join(':\n'),
              'utf8',
            ),
          ),
        ),
      );
    const property = fc.asyncProperty(mutatedJson(body), eventsArb, async (list, events) => {
      answer = { list, events: Buffer.from(events) };
      const errors: Error[] = [];
      const registry = new HubRegistry({ url, requestTimeoutMs: 1000, onError: (err) => errors.push(err) });
      try {
        try {
          const listed = await timedAsync(() => registry.list('orders'));
          for (const instance of listed) validateInstance(instance);
        } catch (err) {
          assert.ok(
            err instanceof RegistryError,
            `list threw ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`,
          );
        }
        const seen: unknown[][] = [];
        const watch = registry.watch(
          'orders',
          (list) => seen.push(list),
          (err) => errors.push(err),
        );
        await new Promise((resolve) => setTimeout(resolve, 30));
        watch.close();
        for (const list of seen) for (const instance of list) validateInstance(instance);
        for (const err of errors)
          assert.ok(err instanceof RegistryError, `reported ${err.constructor.name}: ${err.message}`);
      } finally {
        await registry.close();
      }
    });
    return {
      check: async (params) => (await fc.check(property, params)) as fc.RunDetails<unknown>,
      close: () => new Promise<void>((resolve) => fake.close(() => resolve())),
    };
  },
};

export const hubTargets: readonly FuzzTarget[] = [
  instances,
  consulRegistration,
  otlp,
  hubApis,
  brokerPort,
  hubClient,
];
export const clearStatus = oneOf(StatusError);
