import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { echoContract } from '../../test/fixtures/echo-service.ts';
import { loadContract } from './contract.ts';
import { StatusError } from './errors.ts';
import { Status } from './status.ts';

const contract = echoContract();
const echo = contract.service('sb.test.Echo');

function status(fn: () => unknown): number {
  try {
    fn();
    return Status.OK;
  } catch (err) {
    assert.ok(err instanceof StatusError, String(err));
    return err.code;
  }
}

describe('Contract', () => {
  it('describes services, methods, call kinds and idempotency', () => {
    assert.deepEqual(
      echo.methods.map((m) => [m.name, m.localName, m.kind, m.path]),
      [
        ['Unary', 'unary', 'unary', '/sb.test.Echo/Unary'],
        ['ServerStream', 'serverStream', 'server_streaming', '/sb.test.Echo/ServerStream'],
        ['ClientStream', 'clientStream', 'client_streaming', '/sb.test.Echo/ClientStream'],
        ['Bidi', 'bidi', 'bidi_streaming', '/sb.test.Echo/Bidi'],
        ['Default', 'default', 'unary', '/sb.test.Echo/Default'],
      ],
    );
    assert.equal(echo.method('default')?.idempotency, 'idempotent');
    assert.equal(echo.method('Unary')?.idempotency, 'unknown');
    assert.equal(contract.method('/sb.test.Echo/Bidi')?.kind, 'bidi_streaming');
    assert.equal(contract.method('sb.test.Echo.Bidi')?.name, 'Bidi');
    assert.throws(() => contract.service('sb.test.Nope'), /unknown service sb.test.Nope .*sb.test.Echo/);
  });

  it('reads google.api.http rules, additional bindings, and the default route', () => {
    assert.deepEqual(echo.method('Unary')?.httpRules, [
      { method: 'POST', path: '/v1/echo', body: '*', responseBody: '' },
      { method: 'GET', path: '/v1/echo/{text}', body: '', responseBody: '' },
    ]);
    assert.deepEqual(echo.method('Default')?.httpRules, [
      { method: 'POST', path: '/sb.test.Echo/Default', body: '*', responseBody: '' },
    ]);
  });

  it('names each field as the proto does and as JSON does', () => {
    const fields = echo.method('Unary')!.input.fields;
    const failWith = fields.find((f) => f.jsonName === 'failWith');
    assert.deepEqual(failWith, {
      name: 'fail_with',
      jsonName: 'failWith',
      type: 'int32',
      repeated: false,
      map: false,
      kind: 'scalar',
    });
    assert.equal(fields.find((f) => f.name === 'at')?.type, 'google.protobuf.Timestamp');
    assert.equal(fields.find((f) => f.name === 'kind')?.kind, 'enum');
  });

  it('fails to load a missing or broken file with a message naming it', async () => {
    await assert.rejects(loadContract('/nonexistent/x.proto'), /x\.proto/);
  });
});

describe('message codecs', () => {
  const input = echo.method('Unary')!.input;

  it('round-trips binary, including 64-bit integers given as bigint, string or number', () => {
    for (const big of [9223372036854775807n, '-9223372036854775808', 42]) {
      const decoded = input.decode(input.encode({ text: 't', big }));
      assert.equal(String(decoded.big), String(big));
    }
  });

  it('reports malformed protobuf as INVALID_ARGUMENT', () => {
    assert.equal(
      status(() => input.decode(new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]))),
      Status.INVALID_ARGUMENT,
    );
    assert.equal(
      status(() => input.decode(new Uint8Array([0x0a, 0x05, 0x61]))),
      Status.INVALID_ARGUMENT,
    );
    assert.equal(
      status(() => input.decode(new Uint8Array([0x07]))),
      Status.INVALID_ARGUMENT,
    );
  });

  it('maps JSON canonically: int64 as strings, bytes as base64, timestamps as RFC 3339, enums by name', () => {
    const message = input.fromJson({
      text: 'j',
      big: '12345678901234567',
      payload: 'AAEC',
      at: '2024-01-02T03:04:05.5Z',
      kind: 'KIND_LOUD',
      fail_with: 0,
    });
    assert.deepEqual(input.toJson(message), {
      text: 'j',
      big: '12345678901234567',
      payload: 'AAEC',
      at: '2024-01-02T03:04:05.500Z',
      kind: 'KIND_LOUD',
    });
  });

  it('reports JSON that does not fit the message as INVALID_ARGUMENT', () => {
    for (const bad of [
      { nope: 1 },
      { text: 5 },
      { big: 'abc' },
      { at: 'yesterday' },
      { kind: 'KIND_NOPE' },
      [],
      'x',
    ]) {
      assert.equal(
        status(() => input.fromJson(bad)),
        Status.INVALID_ARGUMENT,
        JSON.stringify(bad),
      );
    }
  });

  it('reports a response that cannot be encoded as INTERNAL', () => {
    assert.equal(
      status(() => input.encode({ text: { not: 'a string' } })),
      Status.INTERNAL,
    );
  });
});
