import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseTarget } from './connect.ts';

describe('parseTarget', () => {
  it('takes the transport from the scheme', () => {
    assert.deepEqual(parseTarget('grpc://a:1'), { kind: 'grpc', address: 'a:1', tls: false });
    assert.deepEqual(parseTarget('grpcs://a:1'), { kind: 'grpc', address: 'a:1', tls: true });
    assert.deepEqual(parseTarget('http://a:1/'), { kind: 'http', address: 'a:1', tls: false });
    assert.deepEqual(parseTarget('https://a:1'), { kind: 'http', address: 'a:1', tls: true });
    assert.deepEqual(parseTarget('native://a:1'), { kind: 'native', address: 'a:1', tls: false });
  });

  it('uses the given transport, else gRPC, for a bare host:port', () => {
    assert.deepEqual(parseTarget('127.0.0.1:50051'), {
      kind: 'grpc',
      address: '127.0.0.1:50051',
      tls: false,
    });
    assert.deepEqual(parseTarget('[::1]:7', 'native'), { kind: 'native', address: '[::1]:7', tls: false });
  });

  it('names an unknown scheme', () => {
    assert.throws(() => parseTarget('ftp://a:1'), /unknown transport scheme ftp/);
  });
});
