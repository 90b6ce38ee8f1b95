import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ServiceInstance } from '../instance.ts';
import { formatGoDuration, parseGoDuration } from './duration.ts';
import { consulMetaProblem, consulToInstance, healthEntryToInstance, instanceToConsul } from './mapping.ts';

const base: ServiceInstance = {
  service: 'greet.Greeter',
  id: 'g-1',
  endpoints: [{ transport: 'grpc', host: '10.0.0.5', port: 50051 }],
  metadata: {},
};

describe('Consul mapping', () => {
  it('leaves out the endpoints Meta for one plain gRPC endpoint, and keeps it otherwise', () => {
    const plain = instanceToConsul(base);
    assert.deepEqual(plain, {
      id: 'g-1',
      name: 'greet.Greeter',
      address: '10.0.0.5',
      port: 50051,
      tags: [],
      meta: {},
    });
    const tls = instanceToConsul({
      ...base,
      endpoints: [{ transport: 'grpc', host: 'h', port: 1, tls: true }],
    });
    assert.equal(tls.meta['switchboard-endpoints'], 'grpcs://h:1');
    assert.deepEqual(consulToInstance(tls, 'agent'), {
      ...base,
      endpoints: [{ transport: 'grpc', host: 'h', port: 1, tls: true }],
    });
  });

  it('round-trips metadata keys Consul would refuse, tags, version and zone', () => {
    const instance: ServiceInstance = {
      ...base,
      version: '2',
      zone: 'z',
      metadata: {
        'weight.hint': '1',
        under_score: '2',
        'switchboard-endpoints': 'user value',
        'consul-other': '3',
        'ünïcode key/with spaces': '4',
        'consul-tags': '["a","b c"]',
      },
    };
    const consul = instanceToConsul(instance);
    assert.deepEqual(consul.tags, ['a', 'b c']);
    assert.equal(consul.meta['switchboard-x-weight_2Ehint'], '1');
    assert.equal(consul.meta.under_score, '2');
    assert.equal(consulMetaProblem(consul.meta), undefined);
    assert.deepEqual(consulToInstance(consul, 'agent'), instance);
  });

  it('reads a service without Address at the agent address, and skips one without a port', () => {
    const node = { Address: '192.168.1.9' };
    const service = { ID: 'x', Service: 'plain', Address: '', Port: 80, Tags: null, Meta: null };
    assert.deepEqual(healthEntryToInstance({ Node: node, Service: service })?.endpoints, [
      { transport: 'grpc', host: '192.168.1.9', port: 80 },
    ]);
    assert.equal(healthEntryToInstance({ Node: node, Service: { ...service, Port: 0 } }), undefined);
    assert.equal(healthEntryToInstance(null), undefined);
  });

  it('refuses what Consul would not store', () => {
    assert.throws(() => instanceToConsul({ ...base, metadata: { k: 'v'.repeat(513) } }), TypeError);
    assert.match(consulMetaProblem({ 'a b': '1' }) ?? '', /invalid characters/);
  });
});

describe('Go durations', () => {
  it('parses what Consul writes and reads', () => {
    assert.equal(parseGoDuration('10s'), 10_000);
    assert.equal(parseGoDuration('1m30s'), 90_000);
    assert.equal(parseGoDuration('1.5h'), 5_400_000);
    assert.equal(parseGoDuration('250ms'), 250);
    assert.equal(parseGoDuration('100us'), 0.1);
    assert.equal(parseGoDuration('0'), 0);
    assert.equal(parseGoDuration(5e9), 5000);
    for (const bad of ['', '10', 's', '1x', '-1s', '1s ', 'abc', null, {}, -1]) {
      assert.throws(() => parseGoDuration(bad), TypeError, JSON.stringify(bad));
    }
  });

  it('formats whole seconds as seconds and the rest as milliseconds', () => {
    assert.equal(formatGoDuration(10_000), '10s');
    assert.equal(formatGoDuration(1500), '1500ms');
    assert.equal(parseGoDuration(formatGoDuration(333)), 333);
  });
});
