import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadContractSync } from '../contract.ts';
import { JSON_SCHEMA_DIALECT, jsonSchemaOf } from './json-schema.ts';
import { assertInvalid, assertRefsResolve, assertValid, compile2020 } from './testdata/schema-check.ts';

const SHAPES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'testdata/shapes.proto');
const contract = loadContractSync(SHAPES);

/** The validator of a message's schema, and the message's canonical JSON for `init`. */
function schemaOf(name: string) {
  const type = contract.message(name);
  const schema = jsonSchemaOf(type);
  assertRefsResolve(schema);
  return {
    type,
    schema,
    validate: compile2020(schema),
    json: (init: Record<string, unknown>) => type.toJson(type.fromJson(init)),
  };
}

describe('jsonSchemaOf', () => {
  it('is a 2020-12 schema that refers to a definition per message and enum', () => {
    const { schema } = schemaOf('sb.shapes.Scalars');
    assert.equal(schema.$schema, JSON_SCHEMA_DIALECT);
    assert.equal(schema.$ref, '#/$defs/sb.shapes.Scalars');
    assert.deepEqual(Object.keys(schema.$defs as object).sort(), ['sb.shapes.Level', 'sb.shapes.Scalars']);
  });

  it('describes the canonical JSON of every scalar: 64-bit as strings, bytes base64, enums by name', () => {
    const { validate, json, schema } = schemaOf('sb.shapes.Scalars');
    const written = json({
      d: 1.5,
      f: 'NaN',
      i32: -5,
      i64: '-9223372036854775808',
      u32: 4294967295,
      u64: '18446744073709551615',
      s32: 3,
      s64: '7',
      fx32: 1,
      fx64: '2',
      sfx32: -1,
      sfx64: '-2',
      flag: true,
      text: 'hi',
      data: 'AAEC',
      level: 'HIGH',
      snakeCaseName: 'x',
      customName: 'y',
      maybe: 0,
      longs: ['1', '-2'],
      levels: ['LOW', 'HIGH'],
    });
    // Written as the codec writes it, not as given: these are the shapes the schema promises.
    assert.equal((written as Record<string, unknown>).i64, '-9223372036854775808');
    assert.equal((written as Record<string, unknown>).f, 'NaN');
    assert.equal((written as Record<string, unknown>).maybe, 0);
    assertValid(validate, written);
    assertValid(validate, json({ d: 'Infinity', f: '-Infinity' }));
    assertValid(validate, {});
    const defs = schema.$defs as Record<string, { properties: Record<string, unknown> }>;
    const props = defs['sb.shapes.Scalars']!.properties;
    assert.ok('snakeCaseName' in props && 'customName' in props && !('renamed' in props));
    assert.deepEqual(defs['sb.shapes.Level'], {
      title: 'sb.shapes.Level',
      type: 'string',
      enum: ['LEVEL_UNSPECIFIED', 'LOW', 'HIGH'],
      description: 'A level of importance.',
    });
    assertInvalid(validate, { i64: 5 }, 'a 64-bit number');
    assertInvalid(validate, { i32: 2147483648 }, 'an int32 out of range');
    assertInvalid(validate, { u32: -1 }, 'a negative uint32');
    assertInvalid(validate, { level: 'MEDIUM' }, 'an unknown enum name');
    assertInvalid(validate, { f: 'nan' }, 'a misspelt float special');
    assertInvalid(validate, { snake_case_name: 'x' }, 'a proto name (not canonical)');
  });

  it('is finite for recursive messages: the definition refers to itself', () => {
    const { validate, json, schema } = schemaOf('sb.shapes.Node');
    const defs = schema.$defs as Record<string, { properties: Record<string, unknown> }>;
    assert.deepEqual(Object.keys(defs), ['sb.shapes.Node']);
    assert.deepEqual(defs['sb.shapes.Node']!.properties.parent, { $ref: '#/$defs/sb.shapes.Node' });
    assert.match(JSON.stringify(defs['sb.shapes.Node']!.properties.label), /The node's label/);
    const tree = json({
      label: 'root',
      children: [{ label: 'a', children: [{ label: 'b' }] }],
      parent: { label: 'up' },
    });
    assertValid(validate, tree);
    assertInvalid(validate, { children: [{ label: 1 }] }, 'a nested wrong type');
  });

  it('describes maps by key kind', () => {
    const { validate, json } = schemaOf('sb.shapes.Maps');
    const written = json({
      byName: { x: { label: 'n' } },
      byInt: { '-3': 'minus three', 7: 'seven' },
      byU64: { '18446744073709551615': 'HIGH' },
      byBool: { true: '1', false: '-1' },
    });
    assertValid(validate, written);
    assertInvalid(validate, { byInt: { x: 'not a number key' } }, 'an int32 map key');
    assertInvalid(validate, { byU64: { '-1': 'LOW' } }, 'a negative uint64 key');
    assertInvalid(validate, { byBool: { yes: '1' } }, 'a bool key');
    assertInvalid(validate, { byBool: { true: 1 } }, 'an int64 map value as number');
  });

  it('allows at most one member of each oneof', () => {
    const { validate, json } = schemaOf('sb.shapes.Choice');
    assertValid(validate, json({ word: 'w', yes: true, free: 'f' }));
    assertValid(validate, json({ node: { label: 'x' } }));
    assertValid(validate, json({ free: 'only' }));
    assertInvalid(validate, { word: 'w', number: 1 }, 'two members of one oneof');
    assertInvalid(validate, { yes: true, no: false }, 'two members of the other oneof');
  });

  it('describes the well-known types in their JSON forms', () => {
    const { validate, json, schema } = schemaOf('sb.shapes.WellKnown');
    const written = json({
      at: '2026-01-02T03:04:05.678Z',
      took: '1.500s',
      mask: 'user.displayName,photo',
      doc: { a: [1, 'two', null, { b: false }] },
      anyValue: null,
      list: [1, { x: 2 }],
      big: '9007199254740993',
      small: 7,
      ratio: 'Infinity',
      ok: false,
      name: '',
      blob: 'AQID',
      packed: { '@type': 'type.googleapis.com/sb.shapes.Node', label: 'inside' },
      nothing: {},
      nullValue: null,
      times: ['2026-01-02T03:04:05Z'],
    });
    assert.equal((written as Record<string, unknown>).took, '1.500s');
    assert.equal((written as Record<string, unknown>).big, '9007199254740993');
    assertValid(validate, written);
    assertValid(
      validate,
      json({ packed: { '@type': 'type.googleapis.com/google.protobuf.Duration', value: '2s' } }),
    );
    const defs = schema.$defs as Record<string, Record<string, unknown>>;
    assert.equal(defs['google.protobuf.Timestamp']!.format, 'date-time');
    assert.equal(defs['google.protobuf.Int64Value']!.type, 'string');
    assert.equal(defs['google.protobuf.NullValue']!.type, 'null');
    assertInvalid(validate, { at: 1700000000 }, 'a Timestamp as a number');
    assertInvalid(validate, { took: '1.5' }, 'a Duration without "s"');
    assertInvalid(validate, { big: 5 }, 'an Int64Value as a number');
    assertInvalid(validate, { doc: [1] }, 'a Struct that is an array');
    assertInvalid(validate, { nothing: { x: 1 } }, 'an Empty with members');
  });

  it('refuses a message type without protobufjs reflection', () => {
    const fake = { fullName: 'x.Y' } as unknown as Parameters<typeof jsonSchemaOf>[0];
    assert.throws(() => jsonSchemaOf(fake), /x\.Y: API documents need a protobufjs message type/);
  });
});
