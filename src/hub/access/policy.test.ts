/** The hub's access policy as pure logic: patterns, who a grant is for, tokens, bad configuration. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { matchesPattern } from './patterns.ts';
import { ANONYMOUS, HubAccessPolicy, type HubCaller } from './policy.ts';

const ORDERS_TOKEN = 'orders-token-0123456789';
const CI_TOKEN = 'ci-token-abcdefghijklmnop';

const policy = new HubAccessPolicy({
  tokens: {
    [ORDERS_TOKEN]: { name: 'orders' },
    [`sha256:${createHash('sha256').update(CI_TOKEN).digest('hex')}`]: { name: 'ci' },
  },
  grants: [
    { who: 'orders', write: 'shop.v1.Orders', read: ['shop.v1.*'], publish: 'shop.orders.*' },
    { who: 'spiffe://shop.local/service/*', read: '*', subscribe: ['shop.*'] },
    { who: '*', read: 'public.*' },
    { who: 'anonymous', read: 'open.Service' },
    { who: 'ci', dashboard: true, telemetry: true },
  ],
});

const token = (name: string): HubCaller => ({ kind: 'token', name });
const certificate = (uri: string, commonName = 'gateway'): HubCaller => ({
  kind: 'certificate',
  identity: { name: uri, uris: [uri], dnsNames: [`${commonName}.shop.local`], commonName },
});

describe('hub access policy', () => {
  it('matches patterns with * as any run of characters, everything else literally', () => {
    assert.ok(matchesPattern('shop.v1.*', 'shop.v1.Orders'));
    assert.ok(matchesPattern('shop.v1.*', 'shop.v1.Orders/GetOrder'));
    assert.ok(matchesPattern('*', ''));
    assert.ok(matchesPattern('a*c', 'abbbc'));
    assert.ok(!matchesPattern('shop.v1.*', 'shopXv1.Orders'), 'a dot is literal');
    assert.ok(!matchesPattern('shop.v1.Orders', 'shop.v1.Orders2'));
    assert.ok(!matchesPattern('shop.(v1)+', 'shop.v1v1'), 'regex syntax is literal');
  });

  it('grants by token name, per action and resource', () => {
    const orders = token('orders');
    assert.ok(policy.authorize(orders, 'write', 'shop.v1.Orders'));
    assert.ok(!policy.authorize(orders, 'write', 'shop.v1.Payments'));
    assert.ok(policy.authorize(orders, 'read', 'shop.v1.Payments'));
    assert.ok(!policy.authorize(orders, 'read', 'billing.v1.Invoices'));
    assert.ok(policy.authorize(orders, 'publish', 'shop.orders.created'));
    assert.ok(!policy.authorize(orders, 'subscribe', 'shop.orders.created'));
    assert.ok(!policy.authorize(orders, 'dashboard'));
    assert.ok(policy.authorize(orders, 'connect'));
  });

  it('matches a certificate by its URI, DNS name or common name; * is any authenticated caller', () => {
    const gateway = certificate('spiffe://shop.local/service/gateway');
    assert.ok(policy.authorize(gateway, 'read', 'billing.v1.Invoices'));
    assert.ok(policy.authorize(gateway, 'subscribe', 'shop.orders.created'));
    assert.ok(!policy.authorize(gateway, 'write', 'shop.v1.Orders'));
    const other = certificate('spiffe://other.local/service/x', 'x');
    assert.ok(!policy.authorize(other, 'read', 'billing.v1.Invoices'));
    assert.ok(policy.authorize(other, 'read', 'public.Status'), '* covers every authenticated caller');
    const byCn = new HubAccessPolicy({ grants: [{ who: 'gateway', read: '*' }] });
    assert.ok(byCn.authorize(other, 'read', 'x') === false);
    assert.ok(byCn.authorize(certificate('spiffe://a/b'), 'read', 'x'), 'the common name matches');
    const byDns = new HubAccessPolicy({ grants: [{ who: '*.shop.local', read: '*' }] });
    assert.ok(byDns.authorize(other, 'read', 'x'), 'a DNS name matches');
  });

  it('gives anonymous callers only what is granted to anonymous, which everyone else has too', () => {
    assert.ok(policy.authorize(ANONYMOUS, 'read', 'open.Service'));
    assert.ok(!policy.authorize(ANONYMOUS, 'read', 'public.Status'));
    assert.ok(!policy.authorize(ANONYMOUS, 'write', 'open.Service'));
    assert.ok(policy.authorize(token('orders'), 'read', 'open.Service'));
  });

  it('knows tokens, plain or as sha256 digests, and refuses unknown ones', () => {
    assert.deepEqual(policy.authenticate(ORDERS_TOKEN, undefined), { ok: true, caller: token('orders') });
    assert.deepEqual(policy.authenticate(CI_TOKEN, undefined), { ok: true, caller: token('ci') });
    assert.equal(policy.authenticate(`${ORDERS_TOKEN}x`, undefined).ok, false);
    assert.equal(policy.authenticate('', undefined).ok, false);
    assert.deepEqual(policy.authenticate(undefined, undefined), { ok: true, caller: ANONYMOUS });
    assert.ok(policy.authorize(token('ci'), 'dashboard'));
    assert.ok(policy.authorize(token('ci'), 'telemetry'));
  });

  it('refuses configuration it cannot trust, naming the place', () => {
    assert.throws(
      () => new HubAccessPolicy({ tokens: { short: { name: 'x' } }, grants: [] }),
      /16 characters/,
    );
    assert.throws(() => new HubAccessPolicy({ grants: [{ who: [] }] }), /grants\[0\]\.who/);
    assert.throws(
      () => new HubAccessPolicy({ grants: [{ who: 'x', raed: ['*'] } as never] }),
      /grants\[0\]: unknown field "raed"/,
    );
    assert.throws(() => new HubAccessPolicy({ grants: [{ who: 'x', read: [''] }] }), /grants\[0\]\.read/);
    assert.throws(() => HubAccessPolicy.from('/nonexistent/policy.json'), /cannot read/);
    assert.throws(() => new HubAccessPolicy({ grant: [] } as never), /unknown field "grant"/);
  });
});
