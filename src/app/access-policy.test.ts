/**
 * Call access control: the rules as pure logic, the interceptor on a call context, and one
 * Server over gRPC, HTTP and native with mutual TLS where an allowed caller passes and a
 * denied one gets PERMISSION_DENIED (HTTP 403) on every transport.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type EchoService, echoContract, echoImplementation } from '../../test/fixtures/echo-service.ts';
import { rejection } from '../../test/support/status.ts';
import { createDevCa, type IssuedCert, issueDevCert } from '../cli/dev-certs.ts';
import { Metadata } from '../contract/metadata.ts';
import { Status } from '../contract/status.ts';
import { ServerCallContext } from '../core/context.ts';
import { createClient } from '../core/index.ts';
import type { ClientTransport } from '../core/transport.ts';
import { GrpcClientTransport } from '../transports/grpc/index.ts';
import { HttpClientTransport } from '../transports/http/index.ts';
import { NativeClientTransport } from '../transports/native/index.ts';
import {
  type AccessPolicyOptions,
  AccessRules,
  ANONYMOUS_CALLER,
  accessPolicy,
  callerOf,
} from './access-policy.ts';
import { Server } from './server.ts';

const echo = echoContract().service('sb.test.Echo');
const GATEWAY = 'spiffe://test.local/service/gateway';
const TOKEN = 'gateway-token-0123456789abcdef';

const OPTIONS: AccessPolicyOptions = {
  rules: [
    { callers: [GATEWAY, 'gateway-by-token'], methods: ['sb.test.Echo/*'] },
    { callers: ['*'], methods: ['sb.test.Echo/ServerStream'] },
  ],
  tokens: { [TOKEN]: { name: 'gateway-by-token' } },
};

const identity = (service: string) => ({
  name: `spiffe://test.local/service/${service}`,
  uris: [`spiffe://test.local/service/${service}`],
  dnsNames: ['localhost'],
  commonName: service,
});

describe('access rules', () => {
  const rules = new AccessRules(OPTIONS);
  it('allows a caller a rule names, for the methods it names', () => {
    const gateway = callerOf(identity('gateway'));
    assert.ok(rules.allows(gateway, 'sb.test.Echo/Unary'));
    assert.ok(rules.allows(gateway, 'sb.test.Echo/Bidi'));
    assert.ok(!rules.allows(gateway, 'sb.test.Other/Unary'));
  });
  it('denies by default; * is any identified caller; anonymous only reaches open methods', () => {
    const orders = callerOf(identity('orders'));
    assert.ok(!rules.allows(orders, 'sb.test.Echo/Unary'));
    assert.ok(rules.allows(orders, 'sb.test.Echo/ServerStream'));
    assert.ok(!rules.allows(ANONYMOUS_CALLER, 'sb.test.Echo/ServerStream'));
    assert.ok(rules.allows(ANONYMOUS_CALLER, 'grpc.health.v1.Health/Check'), 'health is open by default');
    assert.ok(rules.allows(ANONYMOUS_CALLER, 'grpc.reflection.v1.ServerReflection/ServerReflectionInfo'));
    const closed = new AccessRules({ ...OPTIONS, open: [] });
    assert.ok(!closed.allows(ANONYMOUS_CALLER, 'grpc.health.v1.Health/Check'));
    const anyone = new AccessRules({ rules: [{ callers: ['anonymous'], methods: ['sb.*'] }] });
    assert.ok(anyone.allows(ANONYMOUS_CALLER, 'sb.test.Echo/Unary'));
  });
  it('matches a DNS name or common name as well as the URI; default allow lets the rest pass', () => {
    const byCn = new AccessRules({ rules: [{ callers: ['orders'], methods: ['*'] }] });
    assert.ok(byCn.allows(callerOf(identity('orders')), 'x.Y/Z'));
    assert.ok(!byCn.allows(callerOf(identity('billing')), 'x.Y/Z'));
    const open = new AccessRules({ rules: [], default: 'allow' });
    assert.ok(open.allows(ANONYMOUS_CALLER, 'x.Y/Z'));
  });
  it('refuses malformed rules, naming the place', () => {
    assert.throws(() => new AccessRules({ rules: [{ callers: [], methods: ['*'] }] }), /rules\[0\]/);
    assert.throws(
      () => new AccessRules({ rules: [{ callers: ['a'], methods: [''] }] }),
      /rules\[0\]\.methods/,
    );
    assert.throws(() => new AccessRules({ rules: [], default: 'maybe' as never }), /default/);
  });
});

describe('access interceptor on a call context', () => {
  const interceptor = accessPolicy(OPTIONS);
  const unary = echo.method('Unary');
  assert.ok(unary);
  const call = (init: { identity?: ReturnType<typeof identity>; authorization?: string }) => {
    const metadata = new Metadata();
    if (init.authorization) metadata.set('authorization', init.authorization);
    const ctx = new ServerCallContext({
      method: unary,
      metadata,
      deadline: Number.POSITIVE_INFINITY,
      transport: 'inproc',
      peer: '127.0.0.1:1',
      identity: init.identity,
    });
    return interceptor(ctx, async () => 'handled');
  };
  it('passes an allowed identity or token to the handler', async () => {
    assert.equal(await call({ identity: identity('gateway') }), 'handled');
    assert.equal(await call({ authorization: `Bearer ${TOKEN}` }), 'handled');
  });
  it('refuses others: PERMISSION_DENIED when identified, UNAUTHENTICATED when not or with an unknown token', async () => {
    const denied = await rejection(call({ identity: identity('orders') }));
    assert.equal(denied.code, Status.PERMISSION_DENIED);
    assert.match(
      denied.message,
      /spiffe:\/\/test\.local\/service\/orders may not call sb\.test\.Echo\/Unary/,
    );
    assert.equal((await rejection(call({}))).code, Status.UNAUTHENTICATED);
    assert.equal(
      (await rejection(call({ authorization: 'Bearer wrong-token-0123456789' }))).code,
      Status.UNAUTHENTICATED,
    );
  });
});

describe('access policy on every transport, with mutual TLS', () => {
  let dir: string;
  let server: Server;
  let gateway: IssuedCert;
  let orders: IssuedCert;
  const transports: ClientTransport[] = [];
  const handled: string[] = [];

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'sb-access-'));
    await createDevCa({ dir, trustDomain: 'test.local' });
    const own = await issueDevCert({ dir, service: 'server' });
    gateway = await issueDevCert({ dir, service: 'gateway' });
    orders = await issueDevCert({ dir, service: 'orders' });
    const tls = { certFile: own.certFile, keyFile: own.keyFile, caFile: own.caFile };
    server = new Server({
      grpc: { port: 0, tls },
      http: { port: 0, tls },
      native: { port: 0, tls },
      access: OPTIONS,
      apiDocuments: false,
    });
    server.add<EchoService>(echo, {
      ...echoImplementation,
      unary: (req, ctx) => {
        handled.push(`${ctx.transport}:${ctx.identity?.name}`);
        return { ...req, text: req.text };
      },
    });
    await server.listen();
  });
  after(async () => {
    await Promise.all(transports.map((t) => t.close()));
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const clientFor = (kind: 'grpc' | 'http' | 'native', cert: IssuedCert) => {
    const address = server.addresses[kind];
    assert.ok(address);
    const target = `127.0.0.1:${address.port}`;
    const tls = { caFile: cert.caFile, certFile: cert.certFile, keyFile: cert.keyFile };
    const transport =
      kind === 'grpc'
        ? new GrpcClientTransport({ target, tls, connectTimeoutMs: 3000 })
        : kind === 'http'
          ? new HttpClientTransport({ target, tls })
          : new NativeClientTransport({ target, tls, connectTimeoutMs: 3000 });
    transports.push(transport);
    return createClient<EchoService>(echo, transport);
  };

  for (const kind of ['grpc', 'http', 'native'] as const) {
    it(`${kind}: the allowed caller passes, the denied one gets PERMISSION_DENIED before the handler`, async () => {
      const answer = await clientFor(kind, gateway).unary({ text: 'hi' }, { timeoutMs: 5000 });
      assert.equal(answer.text, 'hi');
      assert.equal(handled.at(-1), `${kind}:${GATEWAY}`);
      const count = handled.length;
      const err = await rejection(clientFor(kind, orders).unary({ text: 'hi' }, { timeoutMs: 5000 }));
      assert.equal(err.code, Status.PERMISSION_DENIED, String(err));
      assert.equal(handled.length, count, 'the handler never ran');
    });
  }

  it('http: a denied caller is answered 403 on the wire', async () => {
    const port = server.addresses.http?.port;
    const status = await new Promise<number>((resolve, reject) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/v1/echo',
          headers: { 'content-type': 'application/json' },
          ca: readFileSync(orders.caFile),
          cert: readFileSync(orders.certFile),
          key: readFileSync(orders.keyFile),
          timeout: 5000,
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.once('error', reject);
      req.end(JSON.stringify({ text: 'hi' }));
    });
    assert.equal(status, 403);
  });
});
