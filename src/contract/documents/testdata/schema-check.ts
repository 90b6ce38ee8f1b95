/**
 * Test helpers: validate JSON against generated schemas with Ajv (JSON Schema 2020-12, and
 * draft-07 for AsyncAPI's default schema format), and check that every `$ref` of a document
 * points at something.
 */
import assert from 'node:assert/strict';
import { Ajv } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';

type Validate = (value: unknown) => boolean;

/** Formats are annotations here ("int64", "byte"…); strict off for OpenAPI's own keywords. */
const OPTIONS = { strict: false, validateFormats: false, allErrors: true } as const;

/** A validator for `schema` (a standalone 2020-12 schema). */
export function compile2020(schema: object): Validate {
  const ajv = new Ajv2020(OPTIONS);
  return withErrors(ajv.compile(schema));
}

/**
 * A validator for one schema inside an API document (`#/components/schemas/X`, or a schema
 * object given inline whose refs point into the document).
 */
export function documentValidator(document: object, draft: '2020-12' | 'draft-07' = '2020-12') {
  const ajv = draft === '2020-12' ? new Ajv2020(OPTIONS) : new Ajv(OPTIONS);
  const id = 'urn:switchboard:document';
  ajv.addSchema({ $id: id, components: (document as { components: unknown }).components }, id);
  return (schema: object): Validate => {
    const relocated = JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', `"${id}#/components/`));
    return withErrors(ajv.compile(relocated));
  };
}

function withErrors(validate: ((value: unknown) => boolean) & { errors?: unknown }): Validate {
  return (value) => {
    const ok = validate(value);
    if (!ok) validateErrors.last = JSON.stringify(validate.errors);
    return ok;
  };
}

/** The errors of the last failed validation, for assertion messages. */
export const validateErrors = { last: '' };

export function assertValid(validate: Validate, value: unknown, what = ''): void {
  assert.ok(validate(value), `${what} ${JSON.stringify(value)}: ${validateErrors.last}`);
}

export function assertInvalid(validate: Validate, value: unknown, what = ''): void {
  assert.equal(validate(value), false, `${what} should not validate: ${JSON.stringify(value)}`);
}

/** Every local `$ref` ("#/…") of `document` resolves within it. */
export function assertRefsResolve(document: object): void {
  const missing: string[] = [];
  const visit = (value: unknown) => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (value && typeof value === 'object') {
      for (const [key, v] of Object.entries(value)) {
        if (
          key === '$ref' &&
          typeof v === 'string' &&
          v.startsWith('#/') &&
          resolve(document, v) === undefined
        ) {
          missing.push(v);
        }
        visit(v);
      }
    }
  };
  visit(document);
  assert.deepEqual(missing, []);
}

export function resolve(document: object, ref: string): unknown {
  let node: unknown = document;
  for (const part of ref.slice(2).split('/')) {
    const key = part.replaceAll('~1', '/').replaceAll('~0', '~');
    node = node && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
  }
  return node;
}
