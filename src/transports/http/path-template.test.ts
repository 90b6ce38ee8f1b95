import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expandTemplate, parsePathTemplate, variableValue } from './path-template.ts';

describe('parsePathTemplate', () => {
  it('parses literal segments as one literal template', () => {
    const t = parsePathTemplate('/sb.test.Echo/Default');
    assert.equal(t.literal, true);
    assert.deepEqual(t.segments, [
      { kind: 'literal', value: 'sb.test.Echo' },
      { kind: 'literal', value: 'Default' },
    ]);
    assert.equal(t.verb, '');
  });

  it('reads {field} as a one-segment variable', () => {
    const t = parsePathTemplate('/v1/echo/{text}/stream');
    assert.equal(t.literal, false);
    assert.deepEqual(t.variables, [
      { fieldPath: ['text'], start: 2, end: 3, open: false, multiSegment: false },
    ]);
    assert.deepEqual(
      t.segments.map((s) => s.kind),
      ['literal', 'literal', 'single', 'literal'],
    );
  });

  it('reads {field=pattern/*} as a variable over several segments', () => {
    const t = parsePathTemplate('/v1/{name=shelves/*/books/*}');
    assert.deepEqual(t.variables, [
      { fieldPath: ['name'], start: 1, end: 5, open: false, multiSegment: true },
    ]);
  });

  it('reads nested field paths, ** and a custom verb', () => {
    const t = parsePathTemplate('/v1/{book.shelf.id}/files/{path=**}:undelete');
    assert.deepEqual(t.variables[0]?.fieldPath, ['book', 'shelf', 'id']);
    assert.deepEqual(t.variables[1], {
      fieldPath: ['path'],
      start: 3,
      end: 4,
      open: true,
      multiSegment: true,
    });
    assert.equal(t.verb, 'undelete');
  });

  it('accepts bare wildcards and a verb on a literal path', () => {
    assert.deepEqual(
      parsePathTemplate('/v1/*/x/**').segments.map((s) => s.kind),
      ['literal', 'single', 'literal', 'multi'],
    );
    const t = parsePathTemplate('/v1/ops:cancel');
    assert.equal(t.literal, true);
    assert.equal(t.verb, 'cancel');
  });

  it('refuses malformed templates with a message that names them', () => {
    for (const bad of [
      'v1/x',
      '/v1/{x',
      '/v1/{a=**}/b',
      '/v1/{a.}',
      '/v1/{1a}',
      '/v1//x',
      '/v1/{a={b}}',
      '/v1/x:',
      '/v1/{a}/{a}',
    ]) {
      assert.throws(
        () => parsePathTemplate(bad),
        new RegExp(`invalid HTTP path template "${escapeRegExp(bad)}"`),
        bad,
      );
    }
  });
});

describe('variableValue', () => {
  it('decodes a one-segment value fully', () => {
    const v = parsePathTemplate('/v1/{text}').variables[0]!;
    assert.equal(variableValue(v, ['v1', 'h%C3%A9llo%20w%2Fx']), 'héllo w/x');
  });

  it('joins multi-segment values and keeps an escaped slash escaped', () => {
    const t = parsePathTemplate('/v1/files/{path=**}');
    assert.equal(variableValue(t.variables[0]!, ['v1', 'files', 'a', 'b%20c', 'd%2Fe']), 'a/b c/d%2Fe');
    assert.equal(variableValue(t.variables[0]!, ['v1', 'files']), '');
  });

  it('keeps text with a stray percent sign as sent', () => {
    const v = parsePathTemplate('/v1/{text}').variables[0]!;
    assert.equal(variableValue(v, ['v1', '100%']), '100%');
  });
});

describe('expandTemplate', () => {
  it('fills variables, percent-encoding all but unreserved characters', () => {
    const t = parsePathTemplate('/v1/echo/{text}/stream');
    assert.equal(
      expandTemplate(t, new Map([['text', "a b/c?d#é!'"]])),
      '/v1/echo/a%20b%2Fc%3Fd%23%C3%A9%21%27/stream',
    );
  });

  it('keeps "/" in multi-segment variables and appends the verb', () => {
    const t = parsePathTemplate('/v1/{name=shelves/*/books/*}:undelete');
    assert.equal(
      expandTemplate(t, new Map([['name', 'shelves/1/books/a b']])),
      '/v1/shelves/1/books/a%20b:undelete',
    );
  });

  it('cannot fill a bare wildcard', () => {
    assert.equal(expandTemplate(parsePathTemplate('/v1/*/x'), new Map()), undefined);
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
