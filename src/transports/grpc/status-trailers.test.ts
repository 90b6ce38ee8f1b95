import assert from 'node:assert/strict';
import { constants, type IncomingHttpHeaders } from 'node:http2';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { StatusError } from '../../contract/errors.ts';
import { Metadata } from '../../contract/metadata.ts';
import { Status } from '../../contract/status.ts';
import { decodeGrpcMessage, encodeGrpcMessage } from './grpc-message.ts';
import { addMetadataHeaders, isGrpcContentType, metadataFromRawHeaders } from './headers.ts';
import { decodeStatusDetails, encodeStatusDetails } from './status-details.ts';
import { addStatusHeaders, statusFromRstCode, statusFromTrailers } from './status-trailers.ts';

describe('grpc-message percent-encoding', () => {
  it('leaves printable ASCII alone and encodes the rest as UTF-8 %XX', () => {
    assert.equal(encodeGrpcMessage('plain text ~!'), 'plain text ~!');
    assert.equal(encodeGrpcMessage('100%'), '100%25');
    assert.equal(encodeGrpcMessage('a\nb'), 'a%0Ab');
    assert.equal(encodeGrpcMessage('☃'), '%E2%98%83');
    assert.equal(encodeGrpcMessage('é'), '%C3%A9');
  });

  it('decodes what it encodes (property), including astral characters', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (s) => {
        const encoded = encodeGrpcMessage(s);
        assert.match(encoded, /^[\x20-\x7e]*$/);
        assert.equal(decodeGrpcMessage(encoded), s);
      }),
      { numRuns: 300 },
    );
    assert.equal(decodeGrpcMessage(encodeGrpcMessage('😀 x')), '😀 x');
  });

  it('keeps malformed escapes as they are', () => {
    assert.equal(decodeGrpcMessage('50%'), '50%');
    assert.equal(decodeGrpcMessage('%zz%4'), '%zz%4');
    assert.equal(decodeGrpcMessage('%41%42'), 'AB');
    assert.equal(decodeGrpcMessage('%e2%98%83'), '☃', 'lower-case hex is accepted');
  });
});

describe('metadata in headers', () => {
  it('skips pseudo and reserved headers, decodes -bin values, keeps repeated values apart', () => {
    const md = metadataFromRawHeaders([
      ':path',
      '/x',
      'content-type',
      'application/grpc',
      'te',
      'trailers',
      'grpc-timeout',
      '1S',
      'x-a',
      '1',
      'x-a',
      '2',
      'x-b-bin',
      'AQI=',
      'x-c-bin',
      'AQI', // unpadded
      'x-d-bin',
      'AQ==, Ag==',
      'Bad Key',
      'v',
    ]);
    assert.deepEqual(md.getAll('x-a'), ['1', '2']);
    assert.deepEqual([...(md.get('x-b-bin') as Uint8Array)], [1, 2]);
    assert.deepEqual([...(md.get('x-c-bin') as Uint8Array)], [1, 2]);
    assert.deepEqual(
      md.getAll('x-d-bin').map((v) => [...(v as Uint8Array)]),
      [[1], [2]],
    );
    assert.equal(md.has('grpc-timeout'), false);
    assert.equal(md.has('content-type'), false);
    assert.equal(md.size, 4);
  });

  it('writes -bin values as base64 and repeated keys as arrays, never reserved ones', () => {
    const headers = {};
    addMetadataHeaders(
      headers,
      new Metadata([
        ['x-a', '1'],
        ['x-a', '2'],
        ['x-b-bin', new Uint8Array([1, 2])],
        ['grpc-status', '0'],
        ['connection', 'close'],
      ]),
    );
    assert.deepEqual(headers, { 'x-a': ['1', '2'], 'x-b-bin': 'AQI=' });
  });

  it('refuses (strict) or leaves out text values that are not printable ASCII', () => {
    const md = new Metadata({ 'x-ok': 'fine', 'x-bad': 'line\nbreak' });
    const lenient = {};
    addMetadataHeaders(lenient, md);
    assert.deepEqual(lenient, { 'x-ok': 'fine' });
    assert.throws(
      () => addMetadataHeaders({}, md, true),
      (err: unknown) => err instanceof StatusError && err.code === Status.INTERNAL,
    );
  });

  it('recognises the gRPC content types', () => {
    assert.equal(isGrpcContentType('application/grpc'), true);
    assert.equal(isGrpcContentType('application/grpc+proto'), true);
    assert.equal(isGrpcContentType('application/grpc; charset=utf-8'), true);
    assert.equal(isGrpcContentType('application/grpc+json'), false);
    assert.equal(isGrpcContentType('application/json'), false);
    assert.equal(isGrpcContentType(undefined), false);
  });
});

describe('status in trailers', () => {
  /** Outgoing trailers as a receiver sees them (the raw list and the header object). */
  function receive(
    error: StatusError | undefined,
    trailers?: Metadata,
  ): { headers: IncomingHttpHeaders; md: Metadata } {
    const out = addStatusHeaders({}, error, trailers);
    const raw: string[] = [];
    for (const [k, v] of Object.entries(out)) {
      for (const x of Array.isArray(v) ? v : [v]) raw.push(k, String(x));
    }
    return { headers: out as IncomingHttpHeaders, md: metadataFromRawHeaders(raw) };
  }

  it('carries code, message, details and trailing metadata through', () => {
    const details = [
      { typeUrl: 'type.googleapis.com/google.rpc.ErrorInfo', value: new Uint8Array([10, 1, 120]) },
    ];
    const error = new StatusError(Status.FAILED_PRECONDITION, 'not now ☃ 100%', {
      details,
      metadata: new Metadata({ 'x-why': 'because' }),
    });
    const { headers, md } = receive(error, new Metadata({ 'x-t': 'v' }));
    assert.equal(headers['grpc-status'], '9');
    assert.equal(headers['grpc-message'], 'not now %E2%98%83 100%25');
    const back = statusFromTrailers(headers, md, 200);
    assert.ok(back);
    assert.equal(back.code, Status.FAILED_PRECONDITION);
    assert.equal(back.message, 'not now ☃ 100%');
    assert.deepEqual(back.details, details);
    assert.equal(back.metadata.getString('x-why'), 'because');
    assert.equal(back.metadata.getString('x-t'), 'v');
  });

  it('reads OK as no error, and a missing or invalid grpc-status as an error', () => {
    assert.equal(statusFromTrailers({ 'grpc-status': '0' }, new Metadata(), 200), undefined);
    assert.equal(statusFromTrailers({}, new Metadata(), 200)?.code, Status.INTERNAL);
    assert.equal(statusFromTrailers({ 'grpc-status': 'x' }, new Metadata(), 200)?.code, Status.UNKNOWN);
    assert.equal(statusFromTrailers({ 'grpc-status': '99' }, new Metadata(), 200)?.code, Status.UNKNOWN);
  });

  it('maps an HTTP status without grpc-status, and prefers grpc-status when both exist', () => {
    assert.equal(statusFromTrailers({}, new Metadata(), 503)?.code, Status.UNAVAILABLE);
    assert.equal(statusFromTrailers({}, new Metadata(), 401)?.code, Status.UNAUTHENTICATED);
    assert.equal(statusFromTrailers({}, new Metadata(), 404)?.code, Status.UNIMPLEMENTED);
    assert.equal(
      statusFromTrailers({ 'grpc-status': '3' }, new Metadata(), 415)?.code,
      Status.INVALID_ARGUMENT,
    );
  });

  it('ignores unreadable status details rather than the status', () => {
    const err = statusFromTrailers(
      { 'grpc-status': '5', 'grpc-status-details-bin': Buffer.from([0xff, 0xff]).toString('base64') },
      new Metadata(),
      200,
    );
    assert.equal(err?.code, Status.NOT_FOUND);
    assert.deepEqual(err?.details, []);
  });

  it('round-trips google.rpc.Status', () => {
    const bytes = encodeStatusDetails(5, 'gone', [{ typeUrl: 't/x', value: new Uint8Array([1]) }]);
    assert.deepEqual(decodeStatusDetails(bytes), {
      code: 5,
      message: 'gone',
      details: [{ typeUrl: 't/x', value: new Uint8Array([1]) }],
    });
  });

  it('maps RST_STREAM codes the way the gRPC spec does', () => {
    assert.equal(statusFromRstCode(constants.NGHTTP2_REFUSED_STREAM).code, Status.UNAVAILABLE);
    assert.equal(statusFromRstCode(constants.NGHTTP2_CANCEL).code, Status.CANCELLED);
    assert.equal(statusFromRstCode(constants.NGHTTP2_ENHANCE_YOUR_CALM).code, Status.RESOURCE_EXHAUSTED);
    assert.equal(statusFromRstCode(constants.NGHTTP2_INADEQUATE_SECURITY).code, Status.PERMISSION_DENIED);
    assert.equal(statusFromRstCode(constants.NGHTTP2_PROTOCOL_ERROR).code, Status.INTERNAL);
    assert.equal(statusFromRstCode(constants.NGHTTP2_NO_ERROR).code, Status.INTERNAL);
  });
});
