import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePathTemplate, variableValue } from './path-template.ts';
import { type RouteResult, Router } from './router.ts';

function router(routes: [string, string, string][]): Router<string> {
  const r = new Router<string>();
  for (const [method, path, name] of routes) r.add(method, parsePathTemplate(path), name);
  return r;
}

function found(result: RouteResult<string>): string {
  if (result.kind !== 'found') assert.fail(JSON.stringify(result));
  return result.value;
}

function segmentsOf(result: RouteResult<string>): readonly string[] {
  if (result.kind !== 'found') assert.fail(JSON.stringify(result));
  return result.segments;
}

function allowedOf(result: RouteResult<string>): readonly string[] {
  if (result.kind !== 'wrong-method') assert.fail(JSON.stringify(result));
  return result.allowed;
}

describe('Router', () => {
  const r = router([
    ['POST', '/v1/echo', 'post-echo'],
    ['GET', '/v1/echo/{text}', 'get-echo'],
    ['GET', '/v1/echo/{text}/stream', 'stream'],
    ['GET', '/v1/books/special', 'special'],
    ['GET', '/v1/books/{name}', 'by-name'],
    ['GET', '/v1/{name=shelves/*/books/*}', 'get-book'],
    ['DELETE', '/v1/{name=shelves/*/books/*}', 'delete-book'],
    ['POST', '/v1/{name=shelves/*/books/*}:undelete', 'undelete'],
    ['GET', '/v1/files/{path=**}', 'files'],
    ['GET', '/v1/files/readme', 'readme'],
    ['POST', '/v1/ops:cancel', 'cancel'],
  ]);

  it('finds literal paths by exact match', () => {
    assert.equal(found(r.match('POST', '/v1/echo')), 'post-echo');
    assert.equal(found(r.match('POST', '/v1/ops:cancel')), 'cancel');
  });

  it('binds variables from the matched segments', () => {
    const result = r.match('GET', '/v1/echo/hello%20there/stream');
    assert.equal(found(result), 'stream');
    const t = parsePathTemplate('/v1/echo/{text}/stream');
    assert.equal(variableValue(t.variables[0]!, segmentsOf(result)), 'hello there');
  });

  it('prefers the most specific route: a literal segment beats a variable', () => {
    assert.equal(found(r.match('GET', '/v1/books/special')), 'special');
    assert.equal(found(r.match('GET', '/v1/books/other')), 'by-name');
    assert.equal(found(r.match('GET', '/v1/files/readme')), 'readme');
    assert.equal(found(r.match('GET', '/v1/files/a/b/c')), 'files');
  });

  it('matches multi-segment patterns only with the right shape', () => {
    assert.equal(found(r.match('GET', '/v1/shelves/1/books/2')), 'get-book');
    assert.equal(r.match('GET', '/v1/shelves/1/novels/2').kind, 'not-found');
    assert.equal(r.match('GET', '/v1/shelves/1/books/2/x').kind, 'not-found');
  });

  it('lets ** match zero segments', () => {
    assert.equal(found(r.match('GET', '/v1/files')), 'files');
  });

  it('splits a custom verb off the last segment', () => {
    const result = r.match('POST', '/v1/shelves/1/books/2:undelete');
    assert.equal(found(result), 'undelete');
    assert.deepEqual(segmentsOf(result), ['v1', 'shelves', '1', 'books', '2']);
  });

  it('takes a colon without a verb route as part of the segment', () => {
    const result = r.match('GET', '/v1/books/a:b');
    assert.equal(found(result), 'by-name');
    assert.deepEqual(segmentsOf(result), ['v1', 'books', 'a:b']);
  });

  it('tells a wrong method from an unknown path', () => {
    const wrong = r.match('PUT', '/v1/shelves/1/books/2');
    assert.equal(wrong.kind, 'wrong-method');
    assert.deepEqual([...allowedOf(wrong)].sort(), ['DELETE', 'GET']);
    const literal = r.match('GET', '/v1/echo');
    assert.equal(literal.kind, 'wrong-method');
    assert.deepEqual(allowedOf(literal), ['POST']);
    assert.equal(r.match('GET', '/nope').kind, 'not-found');
    assert.equal(r.match('GET', 'relative').kind, 'not-found');
  });

  it('answers HEAD with the GET route', () => {
    assert.equal(found(r.match('HEAD', '/v1/books/special')), 'special');
  });

  it('refuses a second route with the same method and template', () => {
    assert.throws(
      () => r.add('GET', parsePathTemplate('/v1/books/{id}'), 'again'),
      /duplicate HTTP route GET/,
    );
    assert.throws(() => r.add('POST', parsePathTemplate('/v1/echo'), 'again'), /duplicate HTTP route POST/);
  });
});
