import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadContractSync, Status, StatusError } from '../../contract/index.ts';
import { parsePathTemplate } from './path-template.ts';
import { RequestBinder, responseSelector } from './request-binding.ts';
import { RequestEncoder, responseReader } from './request-encoding.ts';

const LIBRARY_PROTO = path.join(path.dirname(fileURLToPath(import.meta.url)), 'testdata/library.proto');
const library = loadContractSync(LIBRARY_PROTO).service('sb.httptest.Library');

function method(name: string) {
  const m = library.method(name);
  assert.ok(m, name);
  return m;
}

/** Server side: the message one request binds to. */
function bind(name: string, url: string, body?: unknown): Record<string, unknown> {
  const m = method(name);
  const rule = m.httpRules[0]!;
  const binder = new RequestBinder(m.input, rule, parsePathTemplate(rule.path));
  const q = url.indexOf('?');
  const pathPart = q === -1 ? url : url.slice(0, q);
  let segments = pathPart.slice(1).split('/');
  const last = segments.at(-1)!;
  const template = parsePathTemplate(rule.path);
  if (template.verb && last.endsWith(`:${template.verb}`)) {
    segments = [...segments.slice(0, -1), last.slice(0, -template.verb.length - 1)];
  }
  return binder.bind(segments, q === -1 ? undefined : url.slice(q + 1), body);
}

/** The message as ProtoJSON, to compare bound messages independent of Long and Buffer types. */
function json(name: string, message: Record<string, unknown>, output = false): unknown {
  const m = method(name);
  return (output ? m.output : m.input).toJson(message);
}

async function rejectsStatus(fn: () => unknown, code: Status, pattern: RegExp): Promise<void> {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof StatusError, String(err));
    assert.equal(err.code, code);
    assert.match(err.message, pattern);
    return true;
  });
}

describe('RequestBinder (server side of google.api.http)', () => {
  it('binds a multi-segment variable and query parameters of every kind', () => {
    const bound = bind(
      'GetBook',
      '/v1/shelves/1/books/2?full=true&color=GREEN&inner.id=x%20y&inner.count=3&tags=a&tags=b&counts[k]=7&colors=1&colors=RED&limit=9007199254740993&since=2020-01-02T03:04:05Z',
    );
    assert.deepEqual(json('GetBook', bound), {
      name: 'shelves/1/books/2',
      full: true,
      color: 'GREEN',
      inner: { id: 'x y', count: 3 },
      tags: ['a', 'b'],
      counts: { k: 7 },
      colors: ['RED', 'RED'],
      limit: '9007199254740993',
      since: '2020-01-02T03:04:05Z',
    });
  });

  it('binds the body field, path variables and query parameters together', () => {
    const bound = bind('UpdateBook', '/v1/shelves/s1/books/b1?reason=why', {
      title: 'T',
      shelf_id: 'ignored',
    });
    assert.deepEqual(json('UpdateBook', bound), {
      shelfId: 's1',
      book: { name: 'b1', title: 'T', shelfId: 'ignored' },
      reason: 'why',
    });
  });

  it('binds nested path variables with type conversion', () => {
    const bound = bind('InnerCount', '/v1/inner/abc/count/42');
    assert.deepEqual(json('InnerCount', bound), { inner: { id: 'abc', count: 42 } });
  });

  it('lets path variables win over the body for body "*"', () => {
    const bound = bind('CreateBook', '/v1/shelves/from-path/books', {
      shelfId: 'from-body',
      title: 'X',
      pages: '12',
    });
    assert.deepEqual(json('CreateBook', bound), { title: 'X', pages: '12', shelfId: 'from-path' });
    const aliased = bind('CreateBook', '/v1/shelves/p/books', { shelf_id: 'b' });
    assert.deepEqual(json('CreateBook', aliased), { shelfId: 'p' });
  });

  it('binds ** and a custom verb', () => {
    assert.deepEqual(json('GetFile', bind('GetFile', '/v1/files/a/b%20c/d.txt?mode=r')), {
      path: 'a/b c/d.txt',
      mode: 'r',
    });
    assert.deepEqual(json('Undelete', bind('Undelete', '/v1/shelves/1/books/2:undelete', { full: true })), {
      name: 'shelves/1/books/2',
      full: true,
    });
  });

  it('refuses what does not fit the message with INVALID_ARGUMENT', async () => {
    await rejectsStatus(
      () => bind('GetBook', '/v1/shelves/1/books/2?nope=1'),
      Status.INVALID_ARGUMENT,
      /unknown query parameter "nope"/,
    );
    await rejectsStatus(
      () => bind('GetBook', '/v1/shelves/1/books/2?full=yes'),
      Status.INVALID_ARGUMENT,
      /true or false/,
    );
    await rejectsStatus(
      () => bind('GetBook', '/v1/shelves/1/books/2?limit=abc'),
      Status.INVALID_ARGUMENT,
      /limit/,
    );
    await rejectsStatus(
      () => bind('GetBook', '/v1/shelves/1/books/2?full=true&full=false'),
      Status.INVALID_ARGUMENT,
      /more than once/,
    );
    await rejectsStatus(
      () => bind('GetBook', '/v1/shelves/1/books/2?color=PURPLE'),
      Status.INVALID_ARGUMENT,
      /enum/,
    );
    await rejectsStatus(() => bind('InnerCount', '/v1/inner/a/count/x'), Status.INVALID_ARGUMENT, /count/);
    await rejectsStatus(
      () => bind('CreateBook', '/v1/shelves/s/books', [1, 2]),
      Status.INVALID_ARGUMENT,
      /JSON object/,
    );
    await rejectsStatus(
      () => bind('CreateBook', '/v1/shelves/s/books', { pages: 'many' }),
      Status.INVALID_ARGUMENT,
      /pages/,
    );
  });

  it('answers only the response_body field', () => {
    const select = responseSelector(method('ListBooks').output, method('ListBooks').httpRules[0]!);
    assert.deepEqual(select({ books: [{ title: 'a' }], nextPageToken: 't' }), [{ title: 'a' }]);
    assert.deepEqual(select({}), []);
  });
});

describe('RequestEncoder (client side of google.api.http)', () => {
  function encode(name: string, message: Record<string, unknown>) {
    return RequestEncoder.forMethod(method(name)).encode(message);
  }

  it('fills variables, and sends the other fields of a GET as query parameters', () => {
    const encoded = encode('GetBook', {
      name: 'shelves/1/books/two words',
      full: true,
      color: 2,
      inner: { id: 'i', count: 3, notes: ['n1', 'n2'] },
      tags: ['a', 'b&c'],
      counts: { k: 7 },
      limit: 5n,
    });
    assert.equal(encoded.body, undefined);
    assert.equal(
      encoded.path,
      '/v1/shelves/1/books/two%20words?full=true&color=GREEN&inner.id=i&inner.count=3&inner.notes=n1&inner.notes=n2&tags=a&tags=b%26c&counts%5Bk%5D=7&limit=5',
    );
  });

  it('sends the body field as the body and the rest in the query', () => {
    const encoded = encode('UpdateBook', { shelfId: 's 1', book: { name: 'b/1', title: 'T' }, reason: 'r' });
    assert.equal(encoded.path, '/v1/shelves/s%201/books/b%2F1?reason=r');
    assert.deepEqual(JSON.parse(encoded.body!), { title: 'T' });
  });

  it('sends the whole message but the path fields for body "*"', () => {
    const encoded = encode('CreateBook', { shelfId: 's', title: 'T', pages: 3 });
    assert.equal(encoded.path, '/v1/shelves/s/books');
    assert.deepEqual(JSON.parse(encoded.body!), { title: 'T', pages: '3' });
  });

  it('uses the default route for streamed requests when the rule has variables', () => {
    const echo = loadContractSync(
      path.join(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/echo.proto'),
    );
    const encoder = RequestEncoder.forMethod(echo.service('sb.test.Echo').method('ClientStream')!);
    assert.equal(encoder.rule.path, '/sb.test.Echo/ClientStream');
  });

  it('round-trips every binding through the server binder', () => {
    const cases: [string, Record<string, unknown>][] = [
      [
        'GetBook',
        {
          name: 'shelves/a b/books/c',
          full: true,
          inner: { id: 'x', count: 2 },
          tags: ['t'],
          counts: { z: 1 },
        },
      ],
      ['UpdateBook', { shelfId: 'é', book: { name: 'n', pages: '7', labels: { a: 'b' } }, reason: 'why' }],
      ['CreateBook', { shelfId: 's', title: 'T', published: { seconds: 5 } }],
      ['GetFile', { path: 'deep/er/file name.txt', mode: 'rw' }],
      ['Undelete', { name: 'shelves/1/books/2', colors: [1, 2] }],
      ['InnerCount', { inner: { id: 'q', count: -4 } }],
      ['DeleteBook', { name: 'shelves/x/books/y', limit: '3' }],
    ];
    for (const [name, message] of cases) {
      const { path: url, body } = encode(name, message);
      const bound = bind(name, url, body === undefined ? undefined : JSON.parse(body));
      assert.deepEqual(json(name, bound), json(name, method(name).input.create(message)), name);
    }
  });

  it('reads a response_body answer back into the whole message, ignoring unknown fields', () => {
    const read = responseReader(method('ListBooks').output, method('ListBooks').httpRules[0]!);
    const message = read([{ title: 'a', extra: 1 }]);
    assert.deepEqual(json('ListBooks', message, true), { books: [{ title: 'a' }] });
  });
});
